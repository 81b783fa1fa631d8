import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { findWorkspaceFile } from '../workspace/find-workspace-file.js';

/**
 * The repo root is the folder of the nearest pnpm-workspace.yaml upward from `startDir`: it is the
 * Docker build context. Cheap on purpose: every command needs it before taking the lock.
 */
export async function findRepoRoot(startDir: string): Promise<string> {
  return fsp.realpath(path.dirname(await findWorkspaceFile(path.resolve(startDir))));
}
