import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerPrepError } from '../errors.js';
import type { PlannedWrite } from '../types.js';

export interface SandboxFile {
  /** Relative to the sandbox's `/app` (the Docker context root), POSIX. */
  path: string;
  contents: Buffer;
  mode?: number;
}

export interface VerifyOptions {
  sandboxFiles: SandboxFile[];
  targetRelDir: string;
  /** How to run pnpm: e.g. `{ command: process.execPath, args: ['/path/pnpm.cjs'] }` or `{ command: 'pnpm', args: [] }`. */
  pnpm: { command: string; args: string[] };
  /** Scopes whose registry is pointed at a dead port (`@scope`), as in a build with the registry down. */
  scopeRegistries: string[];
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** A port nothing listens on: requests to the private registry fail at once instead of hanging. */
export const DEAD_REGISTRY = 'http://127.0.0.1:9/';

/**
 * Runs `pnpm install --frozen-lockfile` for real in a throwaway folder that holds only what the
 * Dockerfile copies before its install step, with the scopes' registry unreachable. Throws a `check`
 * error carrying pnpm's own message when the install fails: a lockfile that would break the image
 * build is caught here, not in CI.
 */
export async function verifyFrozenInstall(opts: VerifyOptions): Promise<void> {
  opts.signal?.throwIfAborted();
  const sandbox = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'docker-prep-verify-')));
  try {
    const app = path.join(sandbox, 'app');
    for (const f of opts.sandboxFiles) {
      const abs = path.join(app, ...f.path.split('/'));
      if (!abs.startsWith(app + path.sep)) throw new DockerPrepError('VERIFY_BAD_PATH', `sandbox file ${f.path} lies outside the sandbox`, { kind: 'check', hint: 'report this as a docker-prep bug' });
      await fsp.mkdir(path.dirname(abs), { recursive: true });
      await fsp.writeFile(abs, f.contents, { mode: f.mode ?? 0o644 });
    }
    const cwd = path.join(app, ...opts.targetRelDir.split('/').filter(Boolean));
    await fsp.mkdir(cwd, { recursive: true });
    const args = [
      ...opts.pnpm.args,
      'install',
      '--frozen-lockfile',
      '--ignore-scripts',
      ...opts.scopeRegistries.map((s) => `--config.${normalizeScope(s)}:registry=${DEAD_REGISTRY}`),
    ];
    const { code, output } = await run(opts.pnpm.command, args, {
      cwd,
      env: {
        ...opts.env,
        // The sandbox checks the lockfile, not the package manager pin: never download another pnpm.
        npm_config_manage_package_manager_versions: 'false',
        pnpm_config_pm_on_fail: 'ignore',
        npm_config_update_notifier: 'false',
        CI: '1',
      },
      signal: opts.signal,
    });
    if (code !== 0) {
      throw new DockerPrepError('VERIFY_FAILED', `the frozen install of ${opts.targetRelDir || '.'} failed in a sandbox holding only what the Dockerfile copies:\n${pnpmMessage(output)}`, {
        kind: 'check',
        hint: 'fix the cause pnpm names above; the lockfile was not written',
        details: { output },
      });
    }
  } finally {
    await fsp.rm(sandbox, { recursive: true, force: true });
  }
}

function normalizeScope(s: string): string {
  const scope = s.replace(/:registry$/, '');
  return scope.startsWith('@') ? scope : `@${scope}`;
}

/** The lines a user needs: pnpm's ERR_PNPM line and what follows it, or the tail of the output. */
export function pnpmMessage(output: string): string {
  const lines = output.split(/\r?\n/).map((l) => l.trimEnd());
  const start = lines.findIndex((l) => /ERR_PNPM_|ERROR/.test(l));
  const picked = (start === -1 ? lines.slice(-15) : lines.slice(start, start + 15)).filter((l) => l.trim() !== '');
  return picked.map((l) => `  ${l}`).join('\n');
}

function run(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ABORT_ERR') reject(err);
      else reject(new DockerPrepError('VERIFY_PNPM_NOT_FOUND', `could not run ${command}: ${err.message}`, { kind: 'check', hint: 'install pnpm or put it on PATH', cause: err }));
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * The files the CONTRACT Dockerfile copies before `pnpm install`: the output folder, and the target's
 * package.json, pnpm-lock.yaml and pnpm-workspace.yaml. Planned writes win over what is on disk.
 */
export async function dockerSandboxFiles(opts: { root: string; targetRelDir: string; outRel: string; writes: PlannedWrite[] }): Promise<SandboxFile[]> {
  const byPath = new Map<string, SandboxFile>();
  const rel = (abs: string): string => path.relative(opts.root, abs).split(path.sep).join('/');
  const outPrefix = opts.outRel.replace(/\/+$/, '') + '/';
  for (const w of opts.writes) {
    const r = rel(w.path);
    if (r.startsWith(outPrefix)) byPath.set(r, { path: r, contents: w.contents, mode: w.mode });
  }
  const outAbs = path.join(opts.root, opts.outRel);
  for (const f of await listFiles(outAbs)) {
    const r = rel(f);
    if (!byPath.has(r)) byPath.set(r, { path: r, contents: await fsp.readFile(f) });
  }
  for (const name of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml']) {
    const r = [opts.targetRelDir, name].filter(Boolean).join('/');
    const w = opts.writes.find((x) => rel(x.path) === r);
    if (w) byPath.set(r, { path: r, contents: w.contents, mode: w.mode });
    else {
      try {
        byPath.set(r, { path: r, contents: await fsp.readFile(path.join(opts.root, r)) });
      } catch {
        // absent: the Dockerfile's `pnpm-lock.yaml*` globs tolerate that
      }
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function listFiles(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(abs)));
    else if (e.isFile()) out.push(abs);
  }
  return out;
}

/** The scopes of the packed packages (`@scope`), whose registry the sandbox points at a dead port. */
export function packedScopes(names: string[]): string[] {
  return [...new Set(names.filter((n) => n.startsWith('@') && n.includes('/')).map((n) => n.slice(0, n.indexOf('/'))))].sort();
}

/**
 * How to run pnpm for `--verify`: `DOCKER_PREP_PNPM` (a command line, e.g. `node /opt/pnpm10/bin/pnpm.cjs`)
 * when set, else `pnpm` from PATH, the one the user builds with.
 */
export function verifyPnpmCommand(env: NodeJS.ProcessEnv): { command: string; args: string[] } {
  const custom = env.DOCKER_PREP_PNPM?.trim();
  if (!custom) return { command: 'pnpm', args: [] };
  const [command, ...args] = custom.split(/\s+/);
  return { command: command!, args };
}

/**
 * `--verify` for a whole plan: one sandboxed frozen install per target that gets a lockfile, with
 * exactly the files the Dockerfile copies (planned writes over what is on disk). Throws the first
 * failure, naming the target.
 */
export async function verifyPlannedLockfiles(opts: {
  root: string;
  outRel: string;
  targets: string[];
  writes: PlannedWrite[];
  packedNames: string[];
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}): Promise<void> {
  const pnpm = verifyPnpmCommand(opts.env);
  for (const target of opts.targets) {
    const sandboxFiles = await dockerSandboxFiles({ root: opts.root, targetRelDir: target, outRel: opts.outRel, writes: opts.writes });
    await verifyFrozenInstall({ sandboxFiles, targetRelDir: target, pnpm, scopeRegistries: packedScopes(opts.packedNames), env: opts.env, signal: opts.signal });
  }
}
