import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readWantedLockfile, type LockfileObject } from '@pnpm/lockfile.fs';
import { DockerPrepError, ioError } from '../errors.js';

export interface WorkspaceLockfile {
  path: string;
  lockfile: LockfileObject;
}

const RUN_INSTALL = (root: string): string => `run \`pnpm install\` in ${root} first, then run docker-prep again`;

/**
 * Reads `<root>/pnpm-lock.yaml` with pnpm's own reader. A missing, conflicted or pre-9 lockfile is a
 * configuration error: the flattened lockfile can only carry over what the workspace resolved.
 */
export async function readWorkspaceLockfile(root: string): Promise<WorkspaceLockfile> {
  const file = path.join(root, 'pnpm-lock.yaml');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DockerPrepError('LOCKFILE_MISSING', `there is no pnpm-lock.yaml in ${root}: the flattened lockfile is derived from the workspace lockfile`, {
        hint: RUN_INSTALL(root),
      });
    }
    throw ioError(err, 'read', file);
  }
  // pnpm's reader silently merges conflict markers; a merged state was never installed by anyone.
  if (/^(<{7}|>{7}|={7})(\s|$)/m.test(text)) {
    throw new DockerPrepError('LOCKFILE_CONFLICTED', `${file} contains merge conflict markers`, { hint: RUN_INSTALL(root) });
  }
  let lockfile: LockfileObject | null;
  try {
    lockfile = await readWantedLockfile(root, { ignoreIncompatible: false, wantedVersions: ['9.0'] });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DockerPrepError('LOCKFILE_UNSUPPORTED', `cannot use ${file}: ${message}`, {
      hint: `docker-prep reads lockfile format 9.0 (pnpm 9, 10 and 11); ${RUN_INSTALL(root)}`,
      cause: err,
    });
  }
  if (!lockfile) throw new DockerPrepError('LOCKFILE_MISSING', `${file} is empty`, { hint: RUN_INSTALL(root) });
  // lockfile.fs marks git-hosted tarballs on read; pnpm 9 and 10 never write that flag back.
  if (!text.includes('gitHosted')) {
    for (const snap of Object.values(lockfile.packages ?? {})) {
      const res = snap.resolution as { gitHosted?: boolean } | undefined;
      if (res && 'gitHosted' in res) delete res.gitHosted;
    }
  }
  return { path: file, lockfile };
}

export { RUN_INSTALL };
