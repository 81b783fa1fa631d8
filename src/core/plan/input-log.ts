import { readdirSync, readFileSync, realpathSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { signature } from '../pack/listing-snapshot.js';
import { sha256 } from '../txn/drift.js';

/**
 * One thing a plan was computed from, in the form that can be checked again without redoing the work:
 * - `file`: the sha256 of the bytes that were read (or `absent`). Content, not stat: docker-prep itself
 *   rewrites and restores files inside the repo, which changes their stat but not their bytes.
 * - `dir`: a hash of a folder's listing (names and kinds) as it was read. Same reason: pack and
 *   restore create and remove entries in the repo root and the target folders.
 * - `stat`: a stat signature taken before the path was read (sibling package files and folders that
 *   docker-prep never writes; hashing their contents would cost what the cache saves).
 * - `realpath`: where a path resolved to, so a re-pointed symlink counts as a change.
 */
export type InputEntry =
  | { kind: 'file'; path: string; sha256: string }
  | { kind: 'dir'; path: string; sha256: string }
  | { kind: 'stat'; path: string; signature: string }
  | { kind: 'realpath'; path: string; real: string };

const ABSENT = 'absent';

/** Names docker-prep's own lock and state use: they come and go under the lock, never inputs. */
const OWN_NAME = /^\.docker-prep(?:\.lock|$)|\.dp-tmp-.*\.tmp$/;

/**
 * Collects the inputs of one plan while it is computed. Any reader that cannot say what it depended
 * on calls `untrusted`, and then no snapshot is made of this plan. The same path seen twice with
 * different values (it changed while planning) also spoils the log.
 */
export class InputLog {
  private readonly byKey = new Map<string, InputEntry>();
  private spoiled: string | null = null;

  file(file: string, bytes: Buffer | string | null): void {
    this.add({ kind: 'file', path: path.resolve(file), sha256: bytes === null ? ABSENT : sha256(bytes) });
  }

  dir(dir: string, entries: readonly Dirent[]): void {
    this.add({ kind: 'dir', path: path.resolve(dir), sha256: listingHash(entries) });
  }

  stat(p: string, sig: string): void {
    this.add({ kind: 'stat', path: path.resolve(p), signature: sig });
  }

  realpath(p: string, real: string): void {
    this.add({ kind: 'realpath', path: path.resolve(p), real });
  }

  untrusted(reason: string): void {
    this.spoiled ??= reason;
  }

  /** The entries, sorted so that equal plans give equal snapshots; null when spoiled. */
  entries(): InputEntry[] | null {
    if (this.spoiled !== null) return null;
    return [...this.byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }

  private add(e: InputEntry): void {
    const key = `${e.kind}\0${e.path}`;
    const prev = this.byKey.get(key);
    if (prev !== undefined && JSON.stringify(prev) !== JSON.stringify(e)) this.untrusted(`${e.path} changed while planning`);
    this.byKey.set(key, e);
  }
}

/**
 * Whether every input still holds. Synchronous: a few hundred small checks, each cheaper than a
 * thread-pool round trip. Any error (a path gone, unreadable) means "changed".
 */
export function inputsUnchanged(entries: readonly InputEntry[]): boolean {
  try {
    for (const e of entries) {
      switch (e.kind) {
        case 'stat':
          if (signature(statSync(e.path, { bigint: true })) !== e.signature) return false;
          break;
        case 'file':
          if (currentFileHash(e.path) !== e.sha256) return false;
          break;
        case 'dir':
          if (listingHash(readdirSync(e.path, { withFileTypes: true })) !== e.sha256) return false;
          break;
        case 'realpath':
          if (realpathSync.native(e.path) !== e.real) return false;
          break;
      }
    }
    return true;
  } catch {
    return false;
  }
}

function currentFileHash(file: string): string {
  try {
    return sha256(readFileSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ABSENT;
    throw err;
  }
}

function listingHash(entries: readonly Dirent[]): string {
  const lines = entries
    .filter((e) => !OWN_NAME.test(e.name))
    .map((e) => `${e.name}\0${e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : e.isFile() ? 'f' : 'o'}`)
    .sort();
  return sha256(lines.join('\n'));
}
