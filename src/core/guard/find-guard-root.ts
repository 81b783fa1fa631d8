import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { findWorkspaceDir } from '../fs/find-workspace-dir.js';
import { STATE_DIR } from '../txn/journal-types.js';

const exists = (p: string): Promise<boolean> => fsp.access(p).then(() => true, () => false);

/**
 * The repo root as pack sees it: the nearest folder upward holding pnpm-workspace.yaml. A pnpm 11
 * pack creates a pnpm-workspace.yaml inside each target, so when the guard starts in a target while
 * a pack is active, the next workspace folder above wins if it holds the journal.
 * Returns null when there is none (the caller falls back to the git top level).
 */
export async function findGuardRoot(startDir: string): Promise<string | null> {
  const nearest = await findWorkspaceDir(path.resolve(startDir));
  if (nearest === null) return null;
  if (!(await exists(path.join(nearest, STATE_DIR)))) {
    const parent = path.dirname(nearest);
    const above = parent === nearest ? null : await findWorkspaceDir(parent);
    if (above !== null && (await exists(path.join(above, STATE_DIR)))) return fsp.realpath(above);
  }
  return fsp.realpath(nearest);
}
