import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeLockfileFile, type LockfileFile } from '@pnpm/lockfile.fs';
import { emitLockfileYaml, UnsupportedLockfileShape } from './emit-lockfile-yaml.js';

type Obj = Parameters<typeof emitLockfileYaml>[0];

/**
 * Serializes a lockfile (in its file shape: packages + snapshots, inline specifiers) exactly as
 * pnpm writes it. The fast emitter covers every shape lockfiles normally have and is checked
 * byte-for-byte against pnpm's writer in the tests; for anything else pnpm's own writer runs.
 */
export async function lockfileToText(file: LockfileFile): Promise<string> {
  try {
    return emitLockfileYaml(file as unknown as Obj);
  } catch (err) {
    if (!(err instanceof UnsupportedLockfileShape)) throw err;
    return pnpmWriterText(file);
  }
}

/** pnpm's own writer (into a private temp folder: its YAML dumper is not exported). */
export async function pnpmWriterText(file: LockfileFile): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'docker-prep-lockfile-'));
  try {
    const target = path.join(dir, 'pnpm-lock.yaml');
    await writeLockfileFile(target, file);
    return await fsp.readFile(target, 'utf8');
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
