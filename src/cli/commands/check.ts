import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { gitEnvFor } from '../../core/guard/git-env.js';
import type { GuardReport } from '../../core/guard/guard-types.js';
import { runGuard } from '../../core/guard/run-guard.js';
import { readJournalState } from '../../core/txn/journal.js';

// Runs on every commit: import nothing beyond the guard (no pack, workspace or @pnpm code).

/** Findings listed per file before the rest are summarised (a lockfile can hold hundreds). */
const PER_FILE = 6;

export async function run(opts: CommonOptions & Record<string, unknown>, _args: string[], ctx: CliContext): Promise<CommandResult<GuardReport>> {
  const report = await runGuard({
    cwd: ctx.cwd,
    // git hands hooks relative paths (GIT_INDEX_FILE=.git/index) meant for the folder it started us in.
    env: gitEnvFor(ctx.env, process.cwd()),
    out: opts.out ?? '.docker-deps',
    staged: Boolean(opts.staged),
    readJournal: readJournalState,
  });
  return { data: report, text: renderGuardReport(report), exitCode: report.blocked ? 1 : 0, warnings: report.warnings };
}

export function renderGuardReport(r: GuardReport): string {
  const what = r.mode === 'staged' ? 'staged file' : 'file';
  if (!r.blocked) {
    const active = r.pack === 'active' ? '; a pack is active, but none of its files are ' + (r.mode === 'staged' ? 'staged' : 'present') : '';
    return `docker-prep check: ok (${r.checkedFiles} ${what}${r.checkedFiles === 1 ? '' : 's'} inspected, nothing of docker-prep's would be committed${active})`;
  }
  const lines: string[] = [];
  const head =
    r.mode === 'staged'
      ? `the commit would include docker-prep's packed state (${r.files.length} ${what}${r.files.length === 1 ? '' : 's'}):`
      : `the working tree holds docker-prep's packed state (${r.files.length} ${what}${r.files.length === 1 ? '' : 's'}):`;
  lines.push(`docker-prep: ERROR [${r.mode === 'staged' ? 'COMMIT_BLOCKED' : 'PACKED_STATE_FOUND'}] ${head}`);
  for (const file of r.files) {
    const own = r.findings.filter((f) => f.file === file);
    for (const f of own.slice(0, PER_FILE)) lines.push(`  - ${f.message}`);
    if (own.length > PER_FILE) lines.push(`  - ${file}: ... and ${own.length - PER_FILE} more`);
  }
  const files = r.files.map(shellQuote).join(' ');
  if (r.mode === 'staged') {
    lines.push(
      r.pack === 'active' || r.pack === 'interrupted'
        ? 'hint: run `docker-prep restore` to put the original files back (then stage your own changes again),'
        : 'hint: put the original specifiers back (`docker-prep restore`, or `docker-prep restore --strip-overrides` without a journal),',
    );
    lines.push(`      or unstage the files: git restore --staged -- ${files}`);
  } else {
    lines.push('hint: run `docker-prep restore` if a pack is active; otherwise put the original specifiers back and untrack packed files');
    lines.push(`      (git rm -r --cached -- <output folder>); the files: ${files}`);
  }
  return lines.join('\n');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
