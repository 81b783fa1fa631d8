import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants as fsc, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ioError } from '../errors.js';

/**
 * Every change docker-prep makes to a user's tree goes through a TreeWriter, so that one place
 * guarantees atomicity (temp file + fsync + rename + directory fsync) and so that tests can count,
 * crash at, or fail any single mutation (see MutationHooks).
 */
export type MutationKind = 'write' | 'rename' | 'unlink' | 'mkdir' | 'rmdir' | 'chmod';

export interface Mutation {
  /** 1-based position of this mutation in the run; stable for identical inputs. */
  seq: number;
  kind: MutationKind;
  path: string;
}

export interface MutationHooks {
  /** Before a mutation; may throw (fault injection) or never return (crash injection). */
  before?(m: Mutation): void;
  /** After half of a file's bytes are written, before the rest and before fsync. */
  midWrite?(m: Mutation): void;
  after?(m: Mutation): void;
  /**
   * At each await point of a command outside the TreeWriter (discover, pack, before apply, exec
   * spawn, ...), so tests can deliver a signal or a crash there too.
   */
  checkpoint?(name: string): void;
}

/** Temp files carry this marker so recovery can find strays left by a crash mid-write. */
export const TEMP_MARKER = '.dp-tmp-';
export const isTempName = (name: string): boolean => name.startsWith('.') && name.includes(TEMP_MARKER) && name.endsWith('.tmp');

const ACTIONS: Record<MutationKind, string> = {
  write: 'write',
  rename: 'write',
  unlink: 'remove',
  mkdir: 'create folder',
  rmdir: 'remove folder',
  chmod: 'change the mode of',
};

export class TreeWriter {
  private seq = 0;
  constructor(private readonly hooks: MutationHooks = {}) {}

  private begin(kind: MutationKind, p: string): Mutation {
    const m = { seq: ++this.seq, kind, path: p };
    try {
      this.hooks.before?.(m);
    } catch (err) {
      // An injected fault must look exactly like the real one: a DockerPrepError naming the file.
      throw ioError(err, ACTIONS[kind], p);
    }
    return m;
  }

  /** Atomically replaces (or creates) `file` with `data`; `mode` defaults to 0o644 for new files. */
  async writeFile(file: string, data: Uint8Array | string, mode?: number): Promise<void> {
    await this.writeFiles([{ path: file, data, mode }]);
  }

  /**
   * Atomically replaces (or creates) several files: each is written to a temp file and synced, then
   * all are renamed into place in order, then each folder is synced once. Mutations are numbered all
   * writes first, then all renames, so crash and fault points stay deterministic. A failure before
   * the renames leaves no trace; one during them leaves the earlier files in place.
   *
   * The system calls are synchronous: a pack writes a few dozen files one after another, and a
   * thread-pool round trip per call costs more than the call (fsync included, on local disks).
   */
  async writeFiles(files: { path: string; data: Uint8Array | string; mode?: number }[]): Promise<void> {
    const temps: string[] = [];
    const removeTemps = (from: number): void => {
      for (const t of temps.slice(from)) rmSync(t, { force: true });
    };
    const writes = files.map((f) => this.begin('write', f.path));
    files.forEach((f, i) => {
      const bytes = typeof f.data === 'string' ? Buffer.from(f.data) : f.data;
      const tmp = path.join(path.dirname(f.path), `.${path.basename(f.path)}${TEMP_MARKER}${randomBytes(6).toString('hex')}.tmp`);
      let fd: number | undefined;
      try {
        fd = openSync(tmp, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, f.mode ?? 0o644);
        temps.push(tmp);
        const half = Math.floor(bytes.length / 2);
        writeAllSync(fd, bytes, 0, half);
        this.hooks.midWrite?.(writes[i]!);
        writeAllSync(fd, bytes, half, bytes.length);
        // chmod explicitly: the open() mode is filtered by the umask, the original mode must not be.
        if (f.mode !== undefined) fchmodSync(fd, f.mode);
        fsyncSync(fd);
      } catch (err) {
        if (fd !== undefined) closeQuietly(fd);
        removeTemps(0);
        throw ioError(err, 'write', f.path);
      }
      closeSync(fd);
    });
    for (const m of writes) this.hooks.after?.(m);
    const dirs = new Set<string>();
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!.path;
      try {
        const r = this.begin('rename', file);
        renameSync(temps[i]!, file);
        dirs.add(path.dirname(file));
        this.hooks.after?.(r);
      } catch (err) {
        removeTemps(i); // the ones renamed already are in place, not temps
        throw ioError(err, 'write', file);
      }
    }
    for (const d of dirs) await fsyncDir(d);
  }

  async unlink(file: string): Promise<void> {
    const m = this.begin('unlink', file);
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, 'remove', file);
    }
    await fsyncDir(path.dirname(file));
    this.hooks.after?.(m);
  }

  async mkdir(dir: string): Promise<void> {
    const m = this.begin('mkdir', dir);
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, 'create folder', dir);
    }
    await fsyncDir(path.dirname(dir));
    this.hooks.after?.(m);
  }

  /** Removes `dir` only when empty; returns whether it is gone. */
  async rmdirIfEmpty(dir: string): Promise<boolean> {
    const m = this.begin('rmdir', dir);
    try {
      rmdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw ioError(err, 'remove folder', dir);
    }
    await fsyncDir(path.dirname(dir));
    this.hooks.after?.(m);
    return true;
  }

  async chmod(file: string, mode: number): Promise<void> {
    const m = this.begin('chmod', file);
    try {
      chmodSync(file, mode);
    } catch (err) {
      throw ioError(err, 'change the mode of', file);
    }
    this.hooks.after?.(m);
  }
}

function writeAllSync(fd: number, bytes: Uint8Array, from: number, to: number): void {
  let at = from;
  while (at < to) at += writeSync(fd, bytes, at, to - at);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing; the first error is the one to report
  }
}

/** Makes a rename or unlink durable: without it a power cut can resurrect the old directory entry. */
export async function fsyncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(dir, fsc.O_RDONLY);
    fsyncSync(fd);
  } catch (err) {
    // Some file systems refuse fsync on directories (EINVAL/EISDIR); durability there is best effort.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw ioError(err, 'sync folder', dir);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}
