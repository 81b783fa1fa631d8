import { readdirSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../types.js';
import type { ListedFile } from './list-package-files.js';

/**
 * What a package's file list depends on, recorded as stats so a warm run can skip npm-packlist (its
 * walk and glob matching are most of a warm run's time). The list is a function of the published
 * manifest (part of the cache key), the listings of the package's folders, the contents of the
 * .npmignore/.gitignore files in them, and the listings of the folders above the package up to its
 * workspace folder (where pnpm finds pnpm-workspace.yaml and the LICENSE it may add). Adding,
 * removing or renaming an entry changes the folder's mtime/ctime, editing an ignore file changes its
 * own stat, so while every recorded stat is unchanged, the file list is too.
 */
export interface ListingSnapshot {
  files: ListedFile[];
  /** [absolute path, stat signature] of every folder and ignore file the list depends on. */
  watched: [string, string][];
}

const IGNORE_FILES = new Set(['.npmignore', '.gitignore']);

/**
 * Stats everything the file list of `dir` depends on; take it BEFORE listing, so a change made while
 * listing makes the snapshot stale instead of wrong. Null when a snapshot cannot be trusted: bundled
 * dependencies (npm-packlist then follows links into node_modules) or a stat too recent to be sure a
 * later change would alter it (see `isRacy`).
 */
export function statListingInputs(dir: string, workspaceDir: string | null, manifest: Manifest, nowMs: number): [string, string][] | null {
  if (manifest.bundleDependencies != null || manifest.bundledDependencies != null) return null;
  const paths: string[] = [];
  const walk = (folder: string, top: boolean): void => {
    paths.push(folder);
    const entries = readdirSync(folder, { withFileTypes: true });
    const subdirs: string[] = [];
    for (const e of entries) {
      if (e.isDirectory()) {
        // npm-packlist never walks .git, nor the package's own node_modules without bundled deps.
        if (e.name === '.git' || (top && e.name === 'node_modules')) continue;
        subdirs.push(path.join(folder, e.name));
      } else if (e.isFile() && IGNORE_FILES.has(e.name)) {
        paths.push(path.join(folder, e.name));
      }
    }
    for (const d of subdirs) walk(d, false);
  };
  walk(dir, true);
  for (let current = dir; current !== workspaceDir; ) {
    const parent = path.dirname(current);
    if (parent === current) break;
    paths.push(parent);
    current = parent;
  }
  paths.sort();
  const watched: [string, string][] = [];
  for (const p of paths) {
    const st = statSync(p, { bigint: true });
    if (isRacy(st, nowMs)) return null;
    watched.push([p, signature(st)]);
  }
  return watched;
}

/** Whether every recorded stat is unchanged (a missing path counts as changed). */
export function listingInputsUnchanged(watched: readonly [string, string][]): boolean {
  // Synchronous: a few stats per package, cheaper than thread-pool round trips.
  try {
    return watched.every(([p, sig]) => signature(statSync(p, { bigint: true })) === sig);
  } catch {
    return false;
  }
}

export function signature(st: BigIntStats): string {
  return `${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.dev}:${st.size}:${st.mode}`;
}

/**
 * A stat taken within the file system's timestamp granularity of a change may not change when the
 * file changes again ("racy" in git's terms), so it cannot vouch for the contents. Whole-second
 * ctimes mean a coarse file system (ext3, HFS+, FAT): two seconds there, 100 ms elsewhere (Linux
 * stamps files from a clock that ticks every few milliseconds).
 */
export function isRacy(st: BigIntStats, nowMs: number): boolean {
  const nowNs = BigInt(Math.floor(nowMs)) * 1_000_000n;
  const windowNs = st.ctimeNs % 1_000_000_000n === 0n ? 2_000_000_000n : 100_000_000n;
  return nowNs - st.ctimeNs < windowNs || nowNs - st.mtimeNs < windowNs;
}
