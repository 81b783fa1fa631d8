import path from 'node:path';
import type { SpecifierChange } from '../rewrite/plan-target-rewrite.js';
import type { PlannedWrite } from '../types.js';
import type { PackPlan, PlannedFileDiff } from './plan-pack.js';

/**
 * What the rest of a pack needs from its plan (apply, the report, --json): small, plain data, so a
 * plan snapshot can store it and give it back without the workspace, closure and manifests it was
 * computed from.
 */
export interface PlanSummary {
  root: string;
  /** Output folder relative to the root, POSIX. */
  outRel: string;
  targets: TargetSummary[];
  packages: PackageSummary[];
  cycles: string[][];
  /** Everything apply will write, tarballs first, in a stable order. */
  writes: PlannedWrite[];
  diffs: PlannedFileDiff[];
  /** `snapshot` when no input changed since a pack that recorded one, and it was replayed. */
  source: 'computed' | 'snapshot';
}

export interface TargetSummary {
  /** The target folder relative to the root ('' for the root project). */
  project: string;
  pnpmMajor: number;
  pnpmMajorSource: string;
  /** Where its overrides went, repo-relative. */
  overridesIn: string;
  changes: SpecifierChange[];
}

export interface PackageSummary {
  name: string;
  version: string;
  fileName: string;
  files: number;
  size: number;
  unpackedSize: number;
  integrity: string;
  /** The tarball came out of the content cache instead of being built on this run. */
  fromCache: boolean;
}

export function summarizePlan(plan: PackPlan): PlanSummary {
  const rel = (p: string): string => path.relative(plan.root, p).split(path.sep).join('/');
  return {
    root: plan.root,
    outRel: plan.outRel,
    targets: plan.rewrites.map((r) => ({
      project: r.target.relDir,
      pnpmMajor: r.pnpm.major,
      pnpmMajorSource: r.pnpm.source,
      overridesIn: r.workspaceYaml ? rel(r.workspaceYaml.path) : `${rel(r.manifestPath)} (pnpm.overrides)`,
      changes: r.changes,
    })),
    packages: plan.packed.map((p) => ({
      name: p.name,
      version: p.version,
      fileName: p.fileName,
      files: p.files.length,
      size: p.size,
      unpackedSize: p.unpackedSize,
      integrity: p.integrity,
      fromCache: p.fromCache,
    })),
    cycles: plan.closure.cycles,
    writes: plan.writes,
    diffs: plan.diffs,
    source: 'computed',
  };
}
