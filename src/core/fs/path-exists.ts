import { promises as fsp } from 'node:fs';

/**
 * Whether something is at `p`. By default a symlink counts as what it points to (a dangling one is
 * absent); with `followSymlinks: false` the link itself counts, so a dangling one is found.
 */
export async function pathExists(p: string, opts: { followSymlinks?: boolean } = {}): Promise<boolean> {
  try {
    await (opts.followSymlinks === false ? fsp.lstat(p) : fsp.stat(p));
    return true;
  } catch {
    return false;
  }
}
