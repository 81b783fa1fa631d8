import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { computeClosure } from '../../core/closure/compute-closure.js';
import { DockerPrepError, isDockerPrepError } from '../../core/errors.js';
import { findRepoRoot } from '../../core/plan/find-repo-root.js';
import { neededPackages, type NeededPackage } from '../../core/registry/needed-packages.js';
import { DEFAULT_PROBE_TIMEOUT_MS, probeRegistry, type ProbeResult } from '../../core/registry/probe-registry.js';
import { authForUrl, readRegistryConfig, redactUrl, registryFor, type ConfigWarning, type RegistryConfig } from '../../core/registry/read-registry-config.js';
import { redactDeep, redactSecrets } from '../../core/registry/redact-secrets.js';
import { loadWorkspace } from '../../core/workspace/load-workspace.js';
import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { SIGNAL_EXIT } from '../exit-codes.js';

export type CiMode = 'registry' | 'tarballs';

export interface CiRegistryUse {
  /** `@scope`, or `(default)` for unscoped packages. */
  scope: string;
  registry: string;
  /** Where the registry line is (`.npmrc.docker:2`, `npm default`). */
  where: string;
  /** Where the credential comes from, or null when none is sent. Never the credential itself. */
  auth: string | null;
}

export interface CiReport {
  command: 'ci';
  /** The path taken. */
  mode: CiMode;
  /** What --mode asked for. */
  requested: 'auto' | CiMode;
  /** Why this path, in one line. */
  reason: string;
  /** The probe, or null when --mode forced a path. */
  probe: ProbeResult | null;
  /** The npmrc files considered, highest precedence first. */
  npmrc: { file: string; present: boolean }[];
  registries: CiRegistryUse[];
  needed: NeededPackage[];
  cmd: string[];
  /** CMD's exit code (also docker-prep's); null with --dry-run, which decides but runs nothing. */
  exitCode: number | null;
  dryRun: boolean;
  /** The GITHUB_OUTPUT file appended to, if any. */
  githubOutput: string | null;
}

const MODES = ['auto', 'registry', 'tarballs'] as const;

/**
 * `docker-prep ci -- CMD`: probe the registry for everything the targets need; run CMD as is when it
 * serves all of it (DOCKER_PREP_MODE=registry), else take the exec path (pack, CMD with
 * DOCKER_PREP_MODE=tarballs, restore). Exits with CMD's code.
 *
 * With --json, CMD's stdout is sent to stderr so that stdout carries the one JSON document, printed
 * after CMD has finished.
 */
export async function run(opts: CommonOptions & Record<string, unknown>, args: string[], ctx: CliContext): Promise<CommandResult<CiReport>> {
  let secrets: string[] = [];
  try {
    return await runCi(opts, args, ctx, (s) => {
      secrets = s;
    });
  } catch (err) {
    // Whatever failed, a credential must not reach the error output either.
    if (secrets.length === 0 || !(err instanceof Error)) throw err;
    if (isDockerPrepError(err)) {
      throw new DockerPrepError(err.code, redactSecrets(err.message, secrets), {
        kind: err.kind,
        hint: err.hint === undefined ? undefined : redactSecrets(err.hint, secrets),
        problems: redactDeep(err.problems, secrets),
        details: err.details === undefined ? undefined : redactDeep(err.details, secrets),
      });
    }
    throw new Error(redactSecrets(err.message, secrets));
  }
}

async function runCi(opts: CommonOptions & Record<string, unknown>, args: string[], ctx: CliContext, setSecrets: (s: string[]) => void): Promise<CommandResult<CiReport>> {
  if (args.length === 0) {
    throw new DockerPrepError('NO_COMMAND', 'no command given to run', { kind: 'usage', hint: 'put the command after --, e.g. `docker-prep ci -- docker compose build`' });
  }
  const requested = parseMode(opts.mode);
  const timeoutMs = parseTimeout(opts.timeout);
  const debugOn = Boolean(ctx.env.DOCKER_PREP_DEBUG);
  let redact = (s: string): string => s;
  const debug = debugOn ? (line: string): void => void ctx.stderr.write(`docker-prep: debug: ${redact(line)}\n`) : undefined;

  const root = await findRepoRoot(ctx.cwd);
  const warnings: string[] = [];

  // The closure says which packages (and so which scopes) the build needs from the registry. In a
  // forced mode it only feeds the hygiene warnings; the tarball path computes (and reports) it again.
  let needed: NeededPackage[] = [];
  try {
    const ws = await loadWorkspace(root);
    const projects = Array.isArray(opts.project) ? opts.project.map((p) => path.resolve(ctx.cwd, p)) : undefined;
    needed = neededPackages(ws, computeClosure(ws, projects ? { projects } : {}));
  } catch (err) {
    if (requested === 'auto' || !isDockerPrepError(err)) throw err;
    if (requested === 'registry') warnings.push(`could not work out what the build needs (${err.code}); no registry checks were made`);
  }
  const scopes = [...new Set(needed.map((n) => n.name).filter((n) => n.startsWith('@')).map((n) => n.slice(0, n.indexOf('/'))))];

  const cfg = await readRegistryConfig({
    root,
    env: ctx.env,
    tokenFile: typeof opts.tokenFile === 'string' ? path.resolve(ctx.cwd, opts.tokenFile) : undefined,
    scopes,
  });
  setSecrets(cfg.secrets);
  redact = (s) => redactSecrets(s, cfg.secrets);
  warnings.push(...cfg.warnings.map(formatWarning));
  const registries = registryUses(cfg, needed);
  debug?.(`npmrc: ${cfg.files.map((f) => `${f.label}${f.present ? '' : ' (absent)'}`).join(', ')}`);
  for (const r of registries) debug?.(`${r.scope} -> ${r.registry} (${r.where}), credential: ${r.auth ?? 'none'}`);

  let mode: CiMode;
  let reason: string;
  let probe: ProbeResult | null = null;
  if (requested === 'auto') {
    probe = await probeRegistry(needed, cfg, { timeoutMs, signal: ctx.signal, debug });
    mode = probe.outcome === 'complete' ? 'registry' : 'tarballs';
    reason = probe.reason;
  } else {
    mode = requested;
    reason = `--mode ${requested}`;
  }

  const dryRun = Boolean(opts.dryRun);
  const say = (line: string): void => void ctx.stderr.write(redact(line) + '\n');
  if (dryRun) say(`docker-prep: ci: dry run: would take the ${mode} path: ${reason}`);
  else if (mode === 'registry') say(`docker-prep: ci: registry path: ${reason}`);
  else if (probe !== null) {
    say(`docker-prep: ci: falling back to tarballs: ${reason}`);
    if (probe.hint) say(`hint: ${probe.hint}`);
  } else say(`docker-prep: ci: tarball path: ${reason}`);

  // Written before CMD runs, so that a later step sees the mode even when CMD fails or is killed.
  const githubOutput = ctx.env.GITHUB_OUTPUT && !dryRun ? path.resolve(ctx.cwd, ctx.env.GITHUB_OUTPUT) : null;
  if (githubOutput !== null) {
    try {
      await fsp.appendFile(githubOutput, `mode=${mode}\nprobe=${probe?.outcome ?? 'skipped'}\n`);
    } catch (err) {
      warnings.push(`could not append to GITHUB_OUTPUT (${githubOutput}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  let exitCode: number | null = null;
  if (dryRun) {
    // --dry-run writes nothing at all: no GITHUB_OUTPUT, no pack, no CMD.
  } else if (mode === 'registry') {
    exitCode = await runCommand(args, ctx, { DOCKER_PREP_MODE: 'registry' });
  } else {
    const { execWithPack } = await import('./exec.js');
    exitCode = await execWithPack(opts, args, ctx, { DOCKER_PREP_MODE: 'tarballs' });
  }

  const report: CiReport = {
    command: 'ci',
    mode,
    requested,
    reason,
    probe,
    npmrc: cfg.files.map((f) => ({ file: f.label, present: f.present })),
    registries,
    needed,
    cmd: args,
    exitCode,
    dryRun,
    githubOutput,
  };
  const safe = redactDeep(report, cfg.secrets);
  return { data: safe, text: redact(renderCi(safe)), exitCode: exitCode ?? 0, warnings: warnings.map(redact) };
}

function registryUses(cfg: RegistryConfig, needed: NeededPackage[]): CiRegistryUse[] {
  const out = new Map<string, CiRegistryUse>();
  for (const n of needed) {
    const scope = n.name.startsWith('@') ? n.name.slice(0, n.name.indexOf('/')) : '(default)';
    if (out.has(scope)) continue;
    const reg = registryFor(cfg, n.name);
    let auth: string | null = null;
    try {
      auth = authForUrl(cfg, new URL(n.name.replace('/', '%2f'), reg.value).toString())?.source ?? null;
    } catch {
      auth = null;
    }
    out.set(scope, { scope, registry: redactUrl(reg.value), where: reg.where, auth });
  }
  return [...out.values()].sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0));
}

function renderCi(r: CiReport): string {
  const lines = [`ci: ${r.dryRun ? 'dry run, would take the ' : ''}${r.mode} path (${r.requested === 'auto' ? r.reason : `forced by --mode ${r.requested}`})`];
  if (r.probe !== null) lines.push(`probe: ${r.probe.outcome}, ${r.probe.packages.length} package(s) in ${r.probe.elapsedMs} ms (timeout ${r.probe.timeoutMs} ms)`);
  if (r.githubOutput !== null) lines.push(`GITHUB_OUTPUT: mode=${r.mode}`);
  lines.push(r.exitCode === null ? `command not run: ${r.cmd.join(' ')}` : `command exited with ${r.exitCode}`);
  return lines.join('\n');
}

function formatWarning(w: ConfigWarning): string {
  return `${w.file}${w.line !== undefined ? `:${w.line}` : ''}: ${w.message} [${w.code}] (hint: ${w.hint})`;
}

function parseMode(v: unknown): 'auto' | CiMode {
  const m = v === undefined ? 'auto' : String(v);
  if (!(MODES as readonly string[]).includes(m)) {
    throw new DockerPrepError('USAGE', `--mode ${m} is not one of ${MODES.join(', ')}`, { kind: 'usage', hint: 'use --mode auto (default), registry or tarballs' });
  }
  return m as 'auto' | CiMode;
}

function parseTimeout(v: unknown): number {
  if (v === undefined) return DEFAULT_PROBE_TIMEOUT_MS;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 600_000) {
    throw new DockerPrepError('USAGE', `--timeout ${String(v)} is not a number of milliseconds between 1 and 600000`, { kind: 'usage', hint: 'e.g. --timeout 5000 for five seconds' });
  }
  return n;
}

/**
 * Runs CMD with inherited stdio (stdout to stderr under --json), forwarding SIGINT/SIGTERM/SIGHUP
 * that reach docker-prep. Resolves with CMD's exit code, 128+n when it died of a signal.
 */
function runCommand(cmd: string[], ctx: CliContext, extraEnv: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), {
      cwd: ctx.cwd,
      stdio: ['inherit', ctx.json ? 2 : 'inherit', 'inherit'],
      env: { ...ctx.env, ...extraEnv },
    });
    const forward = (): void => {
      child.kill(ctx.signalName() ?? 'SIGTERM');
    };
    if (ctx.signal.aborted) forward();
    else ctx.signal.addEventListener('abort', forward, { once: true });
    child.on('error', (err) => {
      ctx.signal.removeEventListener('abort', forward);
      reject(new DockerPrepError('COMMAND_NOT_FOUND', `could not run ${cmd[0]}: ${err.message}`, { kind: 'check', hint: 'check the command after -- and your PATH' }));
    });
    child.on('exit', (code, signal) => {
      ctx.signal.removeEventListener('abort', forward);
      const sig = ctx.signalName();
      if (sig) resolve(SIGNAL_EXIT[sig] ?? 130);
      else if (code !== null) resolve(code);
      else resolve(128 + (signal ? (osConstants.signals[signal] ?? 15) : 15));
    });
  });
}
