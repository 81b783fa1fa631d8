import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { computeClosure } from '../closure/compute-closure.js';
import { catalogRange, parseSpecifier } from '../closure/resolve-specifier.js';
import { DockerPrepError, failWithProblems, type Problem } from '../errors.js';
import type { MutationHooks } from '../fs/tree-writer.js';
import { packPackages } from '../pack/pack-packages.js';
import { detectPnpmMajor } from '../rewrite/detect-pnpm-major.js';
import { planTargetRewrite, type TargetRewrite, type TargetRewriteInput } from '../rewrite/plan-target-rewrite.js';
import type { Closure, PackedPackage, PlannedWrite, Workspace } from '../types.js';
import { loadWorkspace } from '../workspace/load-workspace.js';
import { finalizeWrites } from './finalize-writes.js';
import type { InputLog } from './input-log.js';
import { planLockfiles } from './plan-lockfiles.js';

export interface PackRequest {
  /** The repo root (from findRepoRoot). */
  root: string;
  /** `--project` values, resolved against `cwd`. */
  projects?: string[];
  cwd: string;
  /** `--out`, relative to the repo root. */
  out: string;
  allowSecrets?: boolean;
  runScripts?: boolean;
  lockfile?: boolean;
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  hooks?: MutationHooks;
  onProgress?: (e: { done: number; total: number; name: string }) => void;
  /** Compute text diffs of every planned file (for --dry-run); off otherwise, it costs a module load. */
  withDiffs?: boolean;
  /** Records everything the plan is computed from, for a plan snapshot (see plan-snapshot.ts). */
  inputs?: InputLog;
}

export interface PlannedFileDiff {
  path: string;
  action: 'create' | 'modify';
  diff: string;
}

export interface PackPlan {
  root: string;
  outDir: string;
  /** Output folder relative to the root, POSIX. */
  outRel: string;
  ws: Workspace;
  closure: Closure;
  packed: PackedPackage[];
  rewrites: TargetRewrite[];
  /** Everything apply will write, tarballs first, in a stable order. */
  writes: PlannedWrite[];
  /** `writes` before the ones that would leave a file as it is were dropped (for a plan snapshot). */
  plannedWrites: PlannedWrite[];
  /** Text diffs of every non-tarball file, when requested (--dry-run). */
  diffs: PlannedFileDiff[];
  warnings: string[];
}

/**
 * Computes and validates the whole pack before anything in the repo changes: discovery, closure,
 * packing into the content cache, target rewrites, lockfiles. Problems are collected and thrown
 * together; the repo is only read.
 */
export async function planPack(req: PackRequest): Promise<PackPlan> {
  const checkpoint = (name: string): void => {
    req.hooks?.checkpoint?.(name);
    if (req.signal?.aborted) throw req.signal.reason;
  };
  checkpoint('discover');
  const ws = await loadWorkspace(req.root, req.inputs);
  const root = ws.root;
  const outDir = path.resolve(root, req.out);
  const outRel = toPosix(path.relative(root, outDir));
  if (outRel === '' || outRel.startsWith('..') || path.isAbsolute(outRel)) {
    throw new DockerPrepError('OUT_OUTSIDE_REPO', `--out ${req.out} resolves to ${outDir}, which is not a folder inside the repo root ${root}`, {
      kind: 'config',
      hint: 'the tarballs must live inside the Docker build context: use a folder below the repo root, e.g. --out .docker-deps',
    });
  }

  checkpoint('closure');
  const closure = computeClosure(ws, req.projects ? { projects: req.projects.map((p) => path.resolve(req.cwd, p)) } : {});
  const warnings: string[] = [];
  for (const cycle of closure.cycles) warnings.push(`dependency cycle: ${cycle.join(' -> ')} (packed once each)`);
  if (closure.targets.length === 0) {
    return { root, outDir, outRel, ws, closure, packed: [], rewrites: [], writes: [], plannedWrites: [], diffs: [], warnings };
  }

  checkpoint('pack');
  const packed = await packPackages(closure.packages, ws, {
    cacheDir: req.cacheDir,
    allowSecrets: req.allowSecrets,
    runScripts: req.runScripts,
    signal: req.signal,
    onProgress: req.onProgress,
    env: req.env,
    inputs: req.inputs,
  });
  checkpoint('rewrite');

  const problems: Problem[] = [];

  const rootProject = ws.projects.find((p) => p.relDir === '');
  const inheritedBase = await readRootOverrides(ws, req.inputs);
  const aliases: Record<string, string> = {};
  for (const e of closure.edges) if (!e.fromTarget && e.alias && e.alias !== e.to) aliases[e.alias] = e.to;
  const inputs: TargetRewriteInput[] = [];
  for (const target of closure.targets) {
    const pnpm = detectPnpmMajor([
      { label: `${target.relDir}/package.json`, manifest: target.manifest },
      { label: 'package.json', manifest: rootProject?.manifest },
    ]);
    const inherited = pnpm.major >= 11 ? inheritedBase.fromYaml : { ...inheritedBase.fromManifest, ...inheritedBase.fromYaml };
    const manifestText = await fsp.readFile(target.manifestPath, 'utf8');
    req.inputs?.file(target.manifestPath, manifestText);
    const workspaceYamlText = pnpm.major >= 11 ? await readIfExists(path.join(target.dir, 'pnpm-workspace.yaml')) : null;
    if (pnpm.major >= 11) req.inputs?.file(path.join(target.dir, 'pnpm-workspace.yaml'), workspaceYamlText);
    inputs.push({
      ws,
      target,
      manifestText,
      workspaceYamlText,
      packed,
      outDir,
      pnpm,
      inheritedOverrides: inherited,
      aliases,
    });
  }
  let rewrites = inputs.map(planTargetRewrite);

  const lockfileWrites: PlannedWrite[] = [];
  if (req.lockfile) {
    // The lockfile pass reads more than this plan can name (lockfile, patches, npmrc): never snapshot it.
    req.inputs?.untrusted('--lockfile');
    checkpoint('lockfile');
    let lock = await planLockfiles({ ws, rewrites, packed, outDir });
    if (lock.patchedDependencies.size > 0) {
      // The lockfile pass found patches the target needs: the config must name them too, and the
      // lockfile must then be derived from that config, so plan both once more.
      rewrites = rewrites.map((r, i) => (lock.patchedDependencies.has(r) ? planTargetRewrite({ ...inputs[i]!, patchedDependencies: lock.patchedDependencies.get(r) }) : r));
      lock = await planLockfiles({ ws, rewrites, packed, outDir });
    }
    problems.push(...lock.problems);
    lockfileWrites.push(...lock.writes);
  }
  for (const r of rewrites) problems.push(...r.problems);

  const writes: PlannedWrite[] = [];
  for (const p of packed) {
    const dest = path.join(outDir, p.fileName);
    const contents = await fsp.readFile(p.cachePath);
    if (sha256(contents) !== p.sha256) {
      problems.push({ code: 'CACHE_CORRUPT', message: `the cached tarball of ${p.name}@${p.version} does not match its checksum`, hint: `delete ${path.dirname(p.cachePath)} and run again` });
    }
    writes.push({ path: dest, contents, mode: 0o644, role: 'tarball' });
  }
  for (const r of rewrites) {
    if (r.manifestAfter !== r.manifestBefore) writes.push({ path: r.manifestPath, contents: Buffer.from(r.manifestAfter), role: 'manifest' });
    if (r.workspaceYaml && r.workspaceYaml.after !== r.workspaceYaml.before) {
      writes.push({ path: r.workspaceYaml.path, contents: Buffer.from(r.workspaceYaml.after), role: 'workspace' });
    }
  }
  writes.push(...lockfileWrites);
  if (problems.length > 0) failWithProblems(problems);

  const finalWrites = await finalizeWrites(root, writes);
  const diffs: PlannedFileDiff[] = [];
  const { createTwoFilesPatch } = req.withDiffs ? await import('diff') : { createTwoFilesPatch: null };
  for (const w of finalWrites) {
    if (w.role === 'tarball' || !createTwoFilesPatch) continue;
    const before = await readIfExists(w.path);
    const rel = toPosix(path.relative(root, w.path));
    diffs.push({ path: rel, action: before === null ? 'create' : 'modify', diff: createTwoFilesPatch(rel, rel, before ?? '', w.contents.toString('utf8'), undefined, undefined, { context: 2 }) });
  }
  return { root, outDir, outRel, ws, closure, packed, rewrites, writes: finalWrites, plannedWrites: writes, diffs, warnings };
}

/** The workspace root's overrides, with `catalog:` values resolved (the image has no catalogs). */
async function readRootOverrides(ws: Workspace, log?: InputLog): Promise<{ fromManifest: Record<string, string>; fromYaml: Record<string, string> }> {
  const rootManifest = ws.projects.find((p) => p.relDir === '')?.manifest;
  const fromManifest = resolveCatalogValues(ws, rootManifest?.pnpm?.overrides ?? {});
  const yamlText = await readIfExists(ws.workspaceFile);
  log?.file(ws.workspaceFile, yamlText);
  const doc = yamlText === null ? null : (parseYaml(yamlText.replace(/^\ufeff/, '')) as { overrides?: Record<string, string> } | null);
  const fromYaml = resolveCatalogValues(ws, doc?.overrides ?? {});
  return { fromManifest, fromYaml };
}

function resolveCatalogValues(ws: Workspace, overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(overrides)) {
    const parsed = parseSpecifier(String(value));
    const name = key.replace(/^(@[^/]+\/[^@>]+|[^@>]+).*$/, '$1').split('>').pop() ?? key;
    out[key] = parsed.type === 'catalog' ? (catalogRange(ws.catalogs, parsed.catalog, name) ?? String(value)) : String(value);
  }
  return out;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const toPosix = (p: string): string => p.split(path.sep).join('/');
