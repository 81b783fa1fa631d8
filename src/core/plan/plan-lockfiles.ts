import path from 'node:path';
import type { Problem } from '../errors.js';
import type { TargetRewrite } from '../rewrite/plan-target-rewrite.js';
import type { PackedPackage, PlannedWrite, Workspace } from '../types.js';

/** One flattened pnpm-lock.yaml per target (issue #5), planned like every other write. */
export async function planLockfiles(input: { ws: Workspace; rewrites: TargetRewrite[]; packed: PackedPackage[]; outDir: string }): Promise<{ writes: PlannedWrite[]; problems: Problem[]; patchedDependencies: Map<TargetRewrite, Record<string, string>> }> {
  // Loaded on demand: the lockfile libraries are only needed with --lockfile.
  const { flattenLockfile } = await import('../lockfile/flatten-lockfile.js');
  const writes: PlannedWrite[] = [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const patchedDependencies = new Map<TargetRewrite, Record<string, string>>();
  for (const r of input.rewrites) {
    const result = await flattenLockfile({
      root: input.ws.root,
      target: r.target,
      targetManifest: r.manifest,
      overrides: r.overrides,
      packed: input.packed,
      tarballSpecifier: (p) => `file:${path.relative(r.target.dir, path.join(input.outDir, p.fileName)).split(path.sep).join('/')}`,
      pnpmMajor: r.pnpm.major,
      outDir: input.outDir,
    });
    problems.push(...result.problems);
    if (Object.keys(result.patchedDependencies).length > 0) patchedDependencies.set(r, result.patchedDependencies);
    writes.push({ path: path.join(r.target.dir, 'pnpm-lock.yaml'), contents: Buffer.from(result.lockfileText), role: 'lockfile' });
    for (const extra of result.extraWrites) {
      // Two targets may need the same patch file: write it once.
      if (seen.has(extra.path)) continue;
      seen.add(extra.path);
      writes.push(extra);
    }
  }
  return { writes, problems, patchedDependencies };
}
