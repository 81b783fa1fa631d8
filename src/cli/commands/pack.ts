import { DockerPrepError } from '../../core/errors.js';
import { findRepoRoot } from '../../core/plan/find-repo-root.js';
import { planPack, type PackPlan, type PackRequest } from '../../core/plan/plan-pack.js';
import { applyPlan } from '../../core/txn/apply-plan.js';
import { readJournalState } from '../../core/txn/journal.js';
import { restore } from '../../core/txn/restore.js';
import type { Journal } from '../../core/txn/journal-types.js';
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
    const report = packReport(plan, { dryRun: true });
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
export async function packUnderLock(root: string, opts: CommonOptions & Record<string, unknown>, ctx: CliContext): Promise<{ plan: PackPlan; journal: Journal | null }> {
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
  const plan = await planWithProgress(packRequest(root, opts, ctx), ctx);
  if (opts.verify && plan.rewrites.length > 0) {
    // Before anything is written: a lockfile that fails the frozen install never reaches the tree.
    ctx.hooks.checkpoint?.('verify');
    const { verifyPlannedLockfiles } = await import('../../core/lockfile/verify-frozen-install.js');
    await verifyPlannedLockfiles({
      root,
      outRel: plan.outRel,
      targets: plan.rewrites.map((r) => r.target.relDir),
      writes: plan.writes,
      packedNames: plan.packed.map((p) => p.name),
      env: ctx.env,
      signal: ctx.signal,
    });
  }
  if (plan.writes.length === 0) return { plan, journal: null };
  const journal = await applyPlan(root, plan.writes, {
    meta: {
      out: plan.outRel,
      targets: plan.rewrites.map((r) => r.target.relDir),
      packages: plan.packed.map((p) => ({ name: p.name, version: p.version, fileName: p.fileName, integrity: p.integrity })),
      command: `docker-prep ${ctx.argv.join(' ')}`.trim(),
    },
    hooks: ctx.hooks,
    signal: ctx.signal,
    keep: Boolean(opts.keep),
  });
  return { plan, journal };
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
  const progress = createProgress(ctx.stderr, ctx.isTTY && !ctx.json);
  try {
    return await planPack({ ...req, onProgress: (e) => progress.update(e) });
  } finally {
    progress.done();
  }
}
