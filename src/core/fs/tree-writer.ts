import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
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
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}${TEMP_MARKER}${randomBytes(6).toString('hex')}.tmp`);
    const m = this.begin('write', file);
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(tmp, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, mode ?? 0o644);
      const half = Math.floor(bytes.length / 2);
      await handle.write(bytes, 0, half);
      this.hooks.midWrite?.(m);
      await handle.write(bytes, half, bytes.length - half);
      // chmod explicitly: the open() mode is filtered by the umask, the original mode must not be.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.sync();
      await handle.close();
      handle = undefined;
      this.hooks.after?.(m);
      const r = this.begin('rename', file);
      await fsp.rename(tmp, file);
      await fsyncDir(dir);
      this.hooks.after?.(r);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw ioError(err, 'write', file);
    }
  }

  async unlink(file: string): Promise<void> {
    const m = this.begin('unlink', file);
    try {
      await fsp.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, 'remove', file);
    }
    await fsyncDir(path.dirname(file));
    this.hooks.after?.(m);
  }

  async mkdir(dir: string): Promise<void> {
    const m = this.begin('mkdir', dir);
    try {
      await fsp.mkdir(dir);
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
      await fsp.rmdir(dir);
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
      await fsp.chmod(file, mode);
    } catch (err) {
      throw ioError(err, 'change the mode of', file);
    }
    this.hooks.after?.(m);
  }
}

/** Makes a rename or unlink durable: without it a power cut can resurrect the old directory entry. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, fsc.O_RDONLY);
    await handle.sync();
  } catch (err) {
    // Some file systems refuse fsync on directories (EINVAL/EISDIR); durability there is best effort.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw ioError(err, 'sync folder', dir);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
