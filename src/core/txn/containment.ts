import { promises as fsp, realpathSync } from 'node:fs';
import path from 'node:path';
import { failWithProblems, type Problem } from '../errors.js';

/**
 * Where a path really lands: the realpath of the path itself when it exists (a symlinked manifest
 * resolves to its target), else the realpath of its nearest existing ancestor plus the rest.
 */
export async function realTarget(p: string): Promise<string> {
  const abs = path.resolve(p);
  const tail: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      // Synchronous: one system call, cheaper than a thread-pool round trip, and a plan resolves
      // every path it writes (and most of them start with an ENOENT or two).
      const real = realpathSync.native(cur);
      return tail.length === 0 ? real : path.join(real, ...tail.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      tail.push(path.basename(cur));
      cur = parent;
    }
  }
}

export function isInside(rootReal: string, real: string): boolean {
  const rel = path.relative(rootReal, real);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
}

/**
 * Resolves every path to where a write would really land and refuses, before anything is written,
 * when one lands outside the repo root (a symlinked manifest or folder pointing elsewhere, an --out
 * outside the repo). Returns the real paths, in order.
 */
export async function resolveInsideRoot(root: string, absPaths: string[]): Promise<string[]> {
  const rootReal = await fsp.realpath(root);
  const problems: Problem[] = [];
  const out: string[] = [];
  for (const p of absPaths) {
    const real = await realTarget(p);
    out.push(real);
    if (!isInside(rootReal, real)) {
      const via = path.resolve(p) === real ? '' : ` (through a symlink: ${path.resolve(p)} -> ${real})`;
      problems.push({
        code: 'PATH_OUTSIDE_ROOT',
        message: `refusing to write ${real}: it is outside the repo root ${rootReal}${via}`,
        hint: 'docker-prep only writes inside the repo root (the Docker build context): replace the symlink with a real file or folder, or choose an --out inside the repo',
        path: path.resolve(p),
      });
    }
  }
  if (problems.length > 0) failWithProblems(problems, 'config');
  return out;
}

export async function assertInsideRoot(root: string, absPaths: string[]): Promise<void> {
  await resolveInsideRoot(root, absPaths);
}
