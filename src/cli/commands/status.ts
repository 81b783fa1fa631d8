import { findRepoRoot } from '../../core/plan/find-repo-root.js';
import { detectDrift } from '../../core/txn/drift.js';
import { manualSteps, readJournalState } from '../../core/txn/journal.js';
import type { Journal, JournalEntry, JournalPhase } from '../../core/txn/journal-types.js';
import { inspectLock, type HolderRecord } from '../../core/txn/lock-holder.js';
import { describeRecoveryPlan, planRecovery, type RecoveryPlan } from '../../core/txn/recovery-plan.js';
import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { ExitCode } from '../exit-codes.js';

// Read-only and light (no lock, no packing code): safe to run while another command works.

export interface StatusData {
  command: 'status';
  root: string;
  /** `running`: a journal is mid-way and its run still holds the lock. */
  state: 'none' | 'active' | 'interrupted' | 'running' | 'orphan' | 'corrupt';
  phase?: JournalPhase;
  lock: { held: boolean; stale: boolean; holder: Pick<HolderRecord, 'pid' | 'command' | 'since' | 'host'> | null };
  pack?: { createdAt: string; command: string; out: string; targets: string[]; packages: Journal['packages'] };
  files: { path: string; action: JournalEntry['action']; role: JournalEntry['role']; drift: string | null }[];
  drift: { path: string; reason: string }[];
  /** For an interrupted run: exactly what the next pack/restore/exec will do. */
  recoveryPlan?: RecoveryPlan;
  reason?: string;
  next: string;
}

export async function run(_opts: CommonOptions & Record<string, unknown>, _args: string[], ctx: CliContext): Promise<CommandResult<StatusData>> {
  const root = await findRepoRoot(ctx.cwd);
  const [state, lock] = await Promise.all([readJournalState(root), inspectLock(root, Date.now())]);
  const holder = lock.holder ? { pid: lock.holder.pid, command: lock.holder.command, since: lock.holder.since, host: lock.holder.host } : null;
  const data: StatusData = { command: 'status', root, state: 'none', lock: { held: lock.held, stale: lock.stale, holder }, files: [], drift: [], next: '' };
  const liveHolder = lock.held && !lock.stale;

  switch (state.status) {
    case 'none':
      data.next = 'nothing to do; `docker-prep pack` packs';
      break;
    case 'corrupt':
      data.state = 'corrupt';
      data.reason = state.reason;
      data.next = manualSteps(root, `the journal cannot be trusted: ${state.reason}`);
      break;
    case 'orphan':
      data.state = liveHolder ? 'running' : 'orphan';
      data.reason = state.reason;
      data.next = liveHolder ? 'a docker-prep run is starting; wait for it' : 'the next `docker-prep pack`, `restore` or `exec` removes the leftover .docker-prep/ folder (nothing in the tree was changed)';
      break;
    case 'active':
    case 'interrupted': {
      const j = state.journal;
      data.phase = j.phase;
      data.pack = { createdAt: j.createdAt, command: j.command, out: j.out, targets: j.targets, packages: j.packages };
      if (state.status === 'active') {
        data.state = 'active';
        data.drift = await detectDrift(root, j);
        const byPath = new Map(data.drift.map((d) => [d.path, d.reason]));
        data.files = j.entries.map((e) => ({ path: e.path, action: e.action, role: e.role, drift: byPath.get(e.path) ?? null }));
        data.next =
          data.drift.length > 0
            ? '`docker-prep restore` will refuse because of the edits above; save them, then `docker-prep restore --force`'
            : '`docker-prep restore` undoes the pack';
      } else {
        data.state = liveHolder ? 'running' : 'interrupted';
        data.files = j.entries.map((e) => ({ path: e.path, action: e.action, role: e.role, drift: null }));
        data.recoveryPlan = await planRecovery(root, j);
        const verb = j.phase === 'applying' ? 'roll back the interrupted pack' : 'finish the interrupted restore';
        data.next = liveHolder
          ? `a docker-prep run (pid ${holder?.pid}) is working; wait for it`
          : `the next \`docker-prep pack\`, \`restore\` or \`exec\` will ${verb}: ${describeRecoveryPlan(data.recoveryPlan)}`;
      }
      break;
    }
  }
  const exitCode = data.state === 'corrupt' ? ExitCode.failed : ExitCode.ok;
  return { data, text: renderStatus(data), exitCode };
}

export function renderStatus(d: StatusData): string {
  const lines: string[] = [];
  const lockLine = d.lock.held
    ? d.lock.holder
      ? `lock: held by pid ${d.lock.holder.pid} (${d.lock.holder.command}) since ${d.lock.holder.since}${d.lock.stale ? ' — that process is gone; the next command takes the lock over' : ''}`
      : `lock: held (no holder recorded)${d.lock.stale ? ', stale' : ''}`
    : '';
  switch (d.state) {
    case 'none':
      lines.push('no pack is active');
      break;
    case 'corrupt':
      lines.push(`the docker-prep journal cannot be trusted: ${d.reason}`);
      break;
    case 'orphan':
    case 'running':
    case 'interrupted':
    case 'active': {
      if (d.state === 'active') lines.push(`a pack is active (since ${d.pack!.createdAt}, \`${d.pack!.command}\`)`);
      else if (d.state === 'interrupted') lines.push(`a docker-prep run was interrupted while ${d.phase === 'applying' ? 'packing' : 'restoring'} (\`${d.pack?.command}\`, started ${d.pack?.createdAt})`);
      else if (d.state === 'orphan') lines.push(`leftovers of an interrupted run: ${d.reason}`);
      else lines.push(`a docker-prep run is in progress${d.phase ? ` (${d.phase})` : ''}`);
      if (d.pack) {
        lines.push(`  output folder: ${d.pack.out}/ (${d.pack.packages.length} tarball(s))`, `  targets: ${d.pack.targets.join(', ') || '(none)'}`);
        lines.push('  files:');
        for (const f of d.files) lines.push(`    ${f.action === 'modify' ? 'rewritten' : 'created  '} ${f.path} (${f.role})${f.drift ? `  DRIFT: ${f.drift}` : ''}`);
      }
      if (d.state === 'active') lines.push(d.drift.length > 0 ? `  drift: ${d.drift.length} file(s) changed after the pack` : '  drift: none');
    }
  }
  if (lockLine) lines.push(lockLine);
  lines.push(`next: ${d.next}`);
  return lines.join('\n');
}
