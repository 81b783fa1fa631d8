import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError } from '../errors.js';

/**
 * The repo root is the nearest folder, upward from `startDir`, that holds pnpm-workspace.yaml: it is
 * the Docker build context. Cheap on purpose: every command needs it before taking the lock.
 */
export async function findRepoRoot(startDir: string): Promise<string> {
  let dir = path.resolve(startDir);
  for (;;) {
    try {
      await fsp.access(path.join(dir, 'pnpm-workspace.yaml'));
      return await fsp.realpath(dir);
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new DockerPrepError('NO_WORKSPACE', `no pnpm-workspace.yaml found in ${startDir} or any folder above it`, {
    kind: 'config',
    hint: 'run docker-prep at the root of the app repo (the Docker build context), or pass --cwd <dir>',
  });
}
