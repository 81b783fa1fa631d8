import { DockerPrepError } from '../errors.js';
import { TreeWriter, type MutationHooks } from '../fs/tree-writer.js';
import { journalCorrupt, readJournalState } from './journal.js';
import type { Journal, RecoveryReport } from './journal-types.js';
import { planUndo, removeStateDir, runUndo, type UndoResult } from './undo.js';

export { detectDrift } from './drift.js';

/**
 * Run by every mutating command right after it takes the lock: rolls back a pack that died while
 * applying, finishes a restore that died half-way, and removes leftovers of a run that died before
 * its journal existed. A journal that fails its checksum is never guessed at: nothing changes and
 * the error carries the manual steps. Returns null when there was nothing to recover.
 */
export async function recoverInterrupted(root: string, opts: { hooks?: MutationHooks }): Promise<RecoveryReport | null> {
  const state = await readJournalState(root);
  switch (state.status) {
    case 'none':
    case 'active':
      return null;
    case 'corrupt':
      throw journalCorrupt(root, state.reason);
    case 'orphan': {
      const strays = await removeStateDir(root, new TreeWriter(opts.hooks));
      return {
        action: 'cleaned',
        from: 'orphan',
        restored: [],
        removed: [],
        removedDirs: [],
        keptDirs: [],
        discarded: [],
        strays,
        message: 'removed the leftovers of a docker-prep run that was killed before it changed anything',
      };
    }
    case 'interrupted':
      return undoInterrupted(root, state.journal, opts.hooks);
  }
}

async function undoInterrupted(root: string, journal: Journal, hooks: MutationHooks | undefined): Promise<RecoveryReport> {
  const plan = await planUndo(root, journal);
  const res = await runUndo(root, journal, new TreeWriter(hooks), plan);
  if (res.failures.length > 0) throw undoIncomplete('RECOVERY_INCOMPLETE', 'recovering an interrupted docker-prep run', res);
  const rolledBack = journal.phase === 'applying';
  return {
    action: rolledBack ? 'rolled-back' : 'finished-restore',
    from: journal.phase,
    command: journal.command,
    ...strip(res),
    discarded: [],
    message: `${rolledBack ? 'rolled back an interrupted' : 'finished the interrupted restore of a'} \`${journal.command}\` (started ${journal.createdAt}): restored ${res.restored.length} file(s), removed ${res.removed.length} file(s) and ${res.removedDirs.length} folder(s)`,
  };
}

export function strip(res: UndoResult): Omit<UndoResult, 'failures'> {
  const { failures: _f, ...rest } = res;
  return rest;
}

export function undoIncomplete(code: string, doing: string, res: UndoResult): DockerPrepError {
  return new DockerPrepError(code, `${doing}, docker-prep could not restore ${res.failures.length} item(s):\n${res.failures.map((f) => `  - ${f.path}: ${f.reason}`).join('\n')}`, {
    kind: 'io',
    hint: 'fix the cause of these failures and run `docker-prep restore` again: the journal in .docker-prep/ still holds the original files',
    problems: res.failures.map((f) => ({ code: 'RESTORE_FAILED', message: `${f.path}: ${f.reason}`, path: f.path })),
  });
}
