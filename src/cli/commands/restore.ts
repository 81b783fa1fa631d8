import { findRepoRoot } from '../../core/plan/find-repo-root.js';
import { readJournalState } from '../../core/txn/journal.js';
import type { RecoveryReport, RestoreReport } from '../../core/txn/journal-types.js';
import { acquireLock } from '../../core/txn/lock.js';
import { restore } from '../../core/txn/restore.js';
import type { StripReport } from '../../core/txn/strip-overrides.js';
import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { ExitCode, SIGNAL_EXIT } from '../exit-codes.js';
import { lockHolder } from '../repo-session.js';

export interface RestoreCommandData extends RestoreReport {
  command: 'restore';
  root: string;
  /** Set when an interrupted run was recovered instead of an active pack restored. */
  recovery?: Pick<RecoveryReport, 'from' | 'message' | 'command'>;
  /** Set for `--strip-overrides` without a usable journal. */
  strip?: StripReport & { journal: 'none' | 'corrupt' | 'orphan' };
}

export async function run(opts: CommonOptions & Record<string, unknown>, _args: string[], ctx: CliContext): Promise<CommandResult<RestoreCommandData>> {
  const root = await findRepoRoot(ctx.cwd);
  // Not withRepoLock: restore() itself recovers an interrupted run, and reports it.
  const release = await acquireLock(root, lockHolder(ctx));
  try {
    // A restore is itself the way back, so it does not stop for a signal; it reports it in the exit code.
    const interrupted = (): number | undefined => {
      const sig = ctx.signalName();
      return sig ? (SIGNAL_EXIT[sig] ?? 130) : undefined;
    };
    if (opts.stripOverrides) {
      const state = await readJournalState(root);
      if (state.status === 'none' || state.status === 'corrupt' || state.status === 'orphan') {
        const { stripOverrides } = await import('../../core/txn/strip-overrides.js');
        const strip = await stripOverrides(root, { out: opts.out ?? '.docker-deps', hooks: ctx.hooks });
        const data: RestoreCommandData = { command: 'restore', root, ...emptyReport(), strip: { ...strip, journal: state.status } };
        return { data, text: renderStrip(data), exitCode: interrupted() ?? ExitCode.ok };
      }
    }
    const report = await restore(root, { force: Boolean(opts.force), hooks: ctx.hooks });
    const data: RestoreCommandData = { command: 'restore', root, ...pickReport(report) };
    if ('from' in report) {
      const r = report as RecoveryReport;
      data.recovery = { from: r.from, message: r.message, ...(r.command ? { command: r.command } : {}) };
    }
    return { data, text: renderRestore(data), exitCode: interrupted() ?? ExitCode.ok };
  } finally {
    await release();
  }
}

function emptyReport(): RestoreReport {
  return { action: 'none', restored: [], removed: [], removedDirs: [], keptDirs: [], discarded: [], strays: [] };
}

function pickReport(r: RestoreReport): RestoreReport {
  return { action: r.action, restored: r.restored, removed: r.removed, removedDirs: r.removedDirs, keptDirs: r.keptDirs, discarded: r.discarded, strays: r.strays };
}

export function renderRestore(d: RestoreCommandData): string {
  if (d.action === 'none') return 'nothing to restore: no pack is active';
  const lines: string[] = [];
  if (d.recovery) lines.push(d.recovery.message);
  else lines.push(`restored the repo to its state before the pack`);
  const list = (label: string, items: string[]): void => {
    if (items.length > 0) lines.push(`  ${label}:`, ...items.map((i) => `    ${i}`));
  };
  list('restored', d.restored);
  list('removed', d.removed);
  list('removed folders', d.removedDirs);
  list('removed stray temp files', d.strays);
  list('kept folders (they hold files docker-prep did not create)', d.keptDirs);
  if (d.discarded.length > 0) lines.push('  discarded edits (--force):', ...d.discarded.map((x) => `    ${x.path}: ${x.reason}`));
  return lines.join('\n');
}

function renderStrip(d: RestoreCommandData): string {
  const s = d.strip!;
  const lines = [`no usable journal (${s.journal}); stripped the references into the output folder, taking the original specifiers from git HEAD`];
  for (const c of s.changed) {
    lines.push(`  ${c.path}:`);
    for (const e of c.edits) lines.push(`    ${e.key}: ${e.from} -> ${e.to ?? '(removed)'}`);
  }
  for (const f of s.deletedFiles) lines.push(`  deleted ${f} (created by docker-prep, held nothing else)`);
  for (const t of s.removedTarballs) lines.push(`  removed ${t}`);
  if (s.changed.length === 0 && s.removedTarballs.length === 0) lines.push('  nothing referred into the output folder');
  if (s.leftDifferences.length > 0) {
    lines.push('  still different from git HEAD (left alone, check with `git diff`):', ...s.leftDifferences.map((x) => `    ${x.path}: ${x.key}`));
  }
  if (s.journal === 'corrupt') lines.push('  the unreadable journal folder .docker-prep/ was left in place: delete it once the tree is right');
  return lines.join('\n');
}
