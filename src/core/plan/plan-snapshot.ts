import { randomUUID } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../txn/drift.js';
import type { PlannedWrite } from '../types.js';
import { finalizeWrites } from './finalize-writes.js';
import { inputsUnchanged, type InputEntry } from './input-log.js';
import type { PackPlan } from './plan-pack.js';
import { summarizePlan, type PlanSummary } from './plan-summary.js';

/**
 * A plan snapshot lets a pack whose inputs have not changed skip planning altogether: no workspace
 * discovery, no closure, no listing or packing, none of the modules they load. It holds the plan's
 * summary, every write it made (tarballs by their content-cache path, other files inline) and the
 * inputs the plan was computed from (see InputLog); it is used only while every input still holds.
 * It lives in the user's cache folder, one per repo and option set, and is only ever an
 * optimisation: a missing, torn or stale snapshot means a normal plan.
 */
const FORMAT = 'docker-prep-plan-snapshot/1';

export interface PlanSnapshotKey {
  /** Identifies the docker-prep build: another build may plan differently. */
  build: string;
  root: string;
  out: string;
  projects: string[] | null;
  allowSecrets: boolean;
}

interface StoredWrite {
  /** Repo-relative, POSIX. */
  path: string;
  role: PlannedWrite['role'];
  mode?: number;
  sha256: string;
  /** Absolute path of the tarball in the content cache (named by its hash, never rewritten). */
  cached?: string;
  /** Base64 of the contents, for everything that is not a cached tarball. */
  inline?: string;
}

interface StoredSnapshot {
  format: string;
  key: string;
  inputs: InputEntry[];
  summary: Omit<PlanSummary, 'writes' | 'diffs' | 'source'>;
  writes: StoredWrite[];
}

export function planSnapshotKey(k: PlanSnapshotKey): string {
  return sha256(JSON.stringify([FORMAT, k.build, k.root, k.out, k.projects, k.allowSecrets]));
}

function snapshotPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'plan-v1', `${key}.json`);
}

/**
 * The summary of the snapshot stored under `key`, with its writes checked against the tree as it is
 * now (finalizeWrites), or null when there is none or any input changed.
 */
export async function replayPlanSnapshot(cacheDir: string, key: string, root: string): Promise<PlanSummary | null> {
  let snap: StoredSnapshot;
  try {
    snap = JSON.parse(readFileSync(snapshotPath(cacheDir, key), 'utf8')) as StoredSnapshot;
  } catch {
    return null;
  }
  if (snap?.format !== FORMAT || snap.key !== key || snap.summary?.root !== root || !Array.isArray(snap.inputs) || !Array.isArray(snap.writes)) return null;
  if (!inputsUnchanged(snap.inputs)) return null;

  const writes: PlannedWrite[] = [];
  for (const w of snap.writes) {
    let contents: Buffer;
    try {
      contents = w.cached !== undefined ? readFileSync(w.cached) : Buffer.from(w.inline ?? '', 'base64');
    } catch {
      return null; // the cache was cleaned: plan again
    }
    if (sha256(contents) !== w.sha256) return null;
    writes.push({ path: path.join(root, ...w.path.split('/')), contents, role: w.role, ...(w.mode !== undefined ? { mode: w.mode } : {}) });
  }
  return {
    ...snap.summary,
    packages: snap.summary.packages.map((p) => ({ ...p, fromCache: true })),
    writes: await finalizeWrites(root, writes),
    diffs: [],
    source: 'snapshot',
  };
}

/** Stores the snapshot of a plan that was just applied; `inputs` from the plan's InputLog. */
export async function savePlanSnapshot(cacheDir: string, key: string, plan: PackPlan, inputs: InputEntry[]): Promise<void> {
  const cachedByPath = new Map(plan.packed.map((p) => [path.join(plan.outDir, p.fileName), p.cachePath]));
  const writes: StoredWrite[] = plan.plannedWrites.map((w) => {
    const cached = w.role === 'tarball' ? cachedByPath.get(w.path) : undefined;
    return {
      path: path.relative(plan.root, w.path).split(path.sep).join('/'),
      role: w.role,
      ...(w.mode !== undefined ? { mode: w.mode } : {}),
      sha256: sha256(w.contents),
      ...(cached !== undefined ? { cached } : { inline: w.contents.toString('base64') }),
    };
  });
  const { writes: _w, diffs: _d, source: _s, ...rest } = summarizePlan(plan);
  const snap: StoredSnapshot = { format: FORMAT, key, inputs, summary: rest, writes };
  const file = snapshotPath(cacheDir, key);
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    // No fsync: a torn snapshot fails to parse or to match, and then the next run plans normally.
    await fsp.writeFile(tmp, JSON.stringify(snap));
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
