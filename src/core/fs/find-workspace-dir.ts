import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * The nearest folder at or above `dir` holding a pnpm-workspace.yaml file, as pnpm finds its
 * workspace; null at the file-system root. Node built-ins only: the guard calls it on every commit.
 */
export async function findWorkspaceDir(dir: string): Promise<string | null> {
  let current = dir;
  for (;;) {
    if (await isFile(path.join(current, 'pnpm-workspace.yaml'))) return current;
    const parent = path.dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}
