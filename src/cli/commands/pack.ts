import path from 'node:path';
import { DockerPrepError } from '../../core/errors.js';
import { findRepoRoot } from '../../core/plan/find-repo-root.js';
import { InputLog } from '../../core/plan/input-log.js';
import type { PackPlan, PackRequest } from '../../core/plan/plan-pack.js';
import { planSnapshotKey, replayPlanSnapshot, savePlanSnapshot } from '../../core/plan/plan-snapshot.js';
import { summarizePlan, type PlanSummary } from '../../core/plan/plan-summary.js';
import { applyPlan } from '../../core/txn/apply-plan.js';
import { readJournalState } from '../../core/txn/journal.js';
import { restore } from '../../core/txn/restore.js';
import type { Journal } from '../../core/txn/journal-types.js';
import { BUILD_ID } from '../build-id.js';
import { cacheDirFromEnv } from '../cache-dir.js';
import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { createProgress } from '../progress.js';
import { packReport, renderPackReport, type PackReport } from '../render/pack-report.js';
import { withRepoLock } from '../repo-session.js';

export async function run(opts: CommonOptions & Record<string, unknown>, _args: string[], ctx: CliContext): Promise<CommandResult<PackReport>> {
  const root = await findRepoRoot(ctx.cwd);
  if (opts.dryRun) {
    // A dry run takes no lock and writes nothing at all, not even recovery of an interrupted run.
    const plan = await planWithProgress({ ...packRequest(root, opts, ctx), withDiffs: true }, ctx);
    const report = packReport(summarizePlan(plan), { dryRun: true });
    const state = await readJournalState(root);
    const warnings = state.status === 'none' ? [] : [`a pack is ${state.status} in this repo; the plan above ignores it (see \`docker-prep status\`)`];
    return { data: report, text: renderPackReport(report), exitCode: ExitCode.ok, warnings };
  }
  return withRepoLock(root, ctx, async (session) => {
    const { plan } = await packUnderLock(root, opts, ctx);
    const report = packReport(plan, { dryRun: false, recovered: session.recovered });
    return { data: report, text: renderPackReport(report), exitCode: ExitCode.ok };
  });
}

/**
 * The pack itself, for callers that already hold the lock (pack, exec, ci): refuses over an active
 * pack unless --force, which first restores the ORIGINAL files so their backups stay the originals.
 */
export async function packUnderLock(root: string, opts: CommonOptions & Record<string, unknown>, ctx: CliContext): Promise<{ plan: PlanSummary; journal: Journal | null }> {
  const state = await readJournalState(root);
  if (state.status === 'active') {
    if (!opts.force) {
      const j = state.journal;
      throw new DockerPrepError('PACK_ACTIVE', `a pack is already active (since ${j.createdAt}, ${j.entries.length} file(s) rewritten or created)`, {
        kind: 'active',
        hint: 'run `docker-prep restore` first, or `docker-prep pack --force` to re-pack from the original files',
      });
    }
    await restore(root, { force: true, hooks: ctx.hooks });
  }
  const req = packRequest(root, opts, ctx);
  const snapshotKey = planSnapshotKeyFor(req, ctx);
  let plan = snapshotKey === null ? null : await replayPlanSnapshot(req.cacheDir, snapshotKey, root);
  let planned: { full: PackPlan; inputs: InputLog | undefined } | null = null;
  if (plan === null) {
    const inputs = snapshotKey === null ? undefined : new InputLog();
    const full = await planWithProgress({ ...req, inputs }, ctx);
    planned = { full, inputs };
    plan = summarizePlan(full);
  }
  if (opts.verify && plan.targets.length > 0) {
    // Before anything is written: a lockfile that fails the frozen install never reaches the tree.
    ctx.hooks.checkpoint?.('verify');
    const { verifyPlannedLockfiles } = await import('../../core/lockfile/verify-frozen-install.js');
    await verifyPlannedLockfiles({
      root,
      outRel: plan.outRel,
      targets: plan.targets.map((t) => t.project),
      writes: plan.writes,
      packedNames: plan.packages.map((p) => p.name),
      env: ctx.env,
      signal: ctx.signal,
    });
  }
  if (plan.writes.length === 0) return { plan, journal: null };
  const journal = await applyPlan(root, plan.writes, {
    meta: {
      out: plan.outRel,
      targets: plan.targets.map((t) => t.project),
      packages: plan.packages.map((p) => ({ name: p.name, version: p.version, fileName: p.fileName, integrity: p.integrity })),
      command: `docker-prep ${ctx.argv.join(' ')}`.trim(),
    },
    hooks: ctx.hooks,
    signal: ctx.signal,
    keep: Boolean(opts.keep),
  });
  const recorded = planned?.inputs?.entries();
  if (snapshotKey !== null && planned !== null && recorded) {
    // Best effort: a cache that cannot be written only costs the next run its shortcut.
    await savePlanSnapshot(req.cacheDir, snapshotKey, planned.full, recorded).catch(() => undefined);
  }
  return { plan, journal };
}

/**
 * The key of the plan snapshot this pack may replay and record, or null when it must plan in full:
 * runs that read more than a snapshot can check (--lockfile, --scripts), unbundled builds, and runs
 * under the test-suite's fault injection (whose numbered checkpoints are those of a full plan).
 */
function planSnapshotKeyFor(req: PackRequest, ctx: CliContext): string | null {
  if (BUILD_ID === null || req.lockfile || req.runScripts || Object.keys(ctx.hooks).length > 0) return null;
  return planSnapshotKey({
    build: BUILD_ID,
    root: req.root,
    out: req.out,
    projects: req.projects ? req.projects.map((p) => path.resolve(req.cwd, p)) : null,
    allowSecrets: Boolean(req.allowSecrets),
  });
}

function packRequest(root: string, opts: CommonOptions & Record<string, unknown>, ctx: CliContext): PackRequest {
  return {
    root,
    cwd: ctx.cwd,
    projects: opts.project,
    out: opts.out ?? '.docker-deps',
    allowSecrets: Boolean(opts.allowSecrets),
    runScripts: Boolean(opts.scripts),
    // --verify checks the flattened lockfile, so it implies --lockfile.
    lockfile: Boolean(opts.lockfile || opts.verify),
    cacheDir: cacheDirFromEnv(ctx.env),
    env: ctx.env,
    signal: ctx.signal,
    hooks: ctx.hooks,
  };
}

async function planWithProgress(req: PackRequest, ctx: CliContext): Promise<PackPlan> {
  // Loaded only here: a replayed plan never needs discovery, closure or packing code.
  const { planPack } = await import('../../core/plan/plan-pack.js');
  const progress = createProgress(ctx.stderr, ctx.isTTY && !ctx.json);
  try {
    return await planPack({ ...req, onProgress: (e) => progress.update(e) });
  } finally {
    progress.done();
  }
}
