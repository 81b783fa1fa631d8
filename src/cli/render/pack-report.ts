import type { PackageSummary, PlanSummary, TargetSummary } from '../../core/plan/plan-summary.js';

/** The data of a pack (or its dry-run): what --json prints and what the text rendering reads. */
export interface PackReport {
  command: 'pack';
  dryRun: boolean;
  root: string;
  out: string;
  targets: TargetSummary[];
  packages: PackageSummary[];
  files: { path: string; role: string }[];
  diffs?: { path: string; action: string; diff: string }[];
  cycles: string[][];
  recovered: string[];
  /** `snapshot`: no input changed since an earlier pack, whose plan was reused (see plan-snapshot.ts). */
  plan: 'computed' | 'snapshot';
}

export function packReport(plan: PlanSummary, opts: { dryRun: boolean; recovered?: string[] }): PackReport {
  const rel = (p: string): string => p.slice(plan.root.length + 1).split('\\').join('/');
  return {
    command: 'pack',
    dryRun: opts.dryRun,
    root: plan.root,
    out: plan.outRel,
    targets: plan.targets,
    packages: plan.packages,
    files: plan.writes.map((w) => ({ path: rel(w.path), role: w.role })),
    ...(opts.dryRun ? { diffs: plan.diffs } : {}),
    cycles: plan.cycles,
    recovered: opts.recovered ?? [],
    plan: plan.source,
  };
}

export function renderPackReport(r: PackReport): string {
  const lines: string[] = [];
  for (const m of r.recovered) lines.push(m);
  if (r.targets.length === 0) {
    lines.push('nothing to do: no project inside the repo depends on a package outside it');
    return lines.join('\n');
  }
  const verb = r.dryRun ? 'would pack' : 'packed';
  lines.push(`${verb} ${r.packages.length} package(s) into ${r.out}/ for ${r.targets.map((t) => t.project || '.').join(', ')}`);
  const width = Math.max(...r.packages.map((p) => `${p.name}@${p.version}`.length));
  for (const p of r.packages) {
    const id = `${p.name}@${p.version}`.padEnd(width);
    lines.push(`  ${id}  ${String(p.files).padStart(4)} files  ${formatBytes(p.size).padStart(9)}  ${p.fileName}${p.fromCache ? '  (cached)' : ''}`);
  }
  for (const t of r.targets) {
    const deps = t.changes.filter((c) => c.field !== 'overrides').length;
    const overrides = t.changes.filter((c) => c.field === 'overrides').length;
    lines.push(`${r.dryRun ? 'would rewrite' : 'rewrote'} ${t.project || '.'}: ${deps} specifier(s), ${overrides} override(s) in ${t.overridesIn} (pnpm ${t.pnpmMajor}, from ${t.pnpmMajorSource})`);
  }
  if (r.dryRun) {
    lines.push(`files that would be written: ${r.files.length}`);
    for (const d of r.diffs ?? []) lines.push('', d.diff.trimEnd());
    lines.push('', 'dry run: nothing was written');
  } else {
    if (r.plan === 'snapshot') lines.push('no input changed since an earlier pack: its plan was reused');
    lines.push(`wrote ${r.files.length} file(s); undo with \`docker-prep restore\``);
  }
  return lines.join('\n');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
