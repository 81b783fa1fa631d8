import { DockerPrepError } from '../errors.js';
import { TreeWriter, type MutationHooks } from '../fs/tree-writer.js';
import { detectDrift } from './drift.js';
import { journalCorrupt, readJournalState, writeJournal } from './journal.js';
import type { RestoreReport } from './journal-types.js';
import { recoverInterrupted, strip, undoIncomplete } from './recover.js';
import { planUndo, runUndo } from './undo.js';

export const emptyReport = (action: RestoreReport['action'] = 'none'): RestoreReport => ({
  action,
  restored: [],
  removed: [],
  removedDirs: [],
  keptDirs: [],
  discarded: [],
  strays: [],
});

/**
 * Undoes the active pack byte for byte. A no-op when nothing is active; an interrupted run is
 * recovered instead. A file edited after the pack (drift) makes it refuse with kind `check` (exit 1)
 * and the list of edits, unless `force`, which discards them (and reports them as `discarded`).
 * The caller holds the repo lock.
 */
export async function restore(root: string, opts: { force?: boolean; hooks?: MutationHooks }): Promise<RestoreReport> {
  const state = await readJournalState(root);
  switch (state.status) {
    case 'none':
      return emptyReport();
    case 'corrupt':
      throw journalCorrupt(root, state.reason);
    case 'orphan':
    case 'interrupted':
      return (await recoverInterrupted(root, { hooks: opts.hooks })) ?? emptyReport();
    case 'active':
      break;
  }
  const journal = state.journal;
  const drift = await detectDrift(root, journal);
  if (drift.length > 0 && !opts.force) {
    throw new DockerPrepError(
      'RESTORE_DRIFT',
      `${drift.length} file(s) changed after the pack; restoring would discard these edits:\n${drift.map((d) => `  - ${d.path}: ${d.reason}`).join('\n')}`,
      {
        kind: 'check',
        hint: 'save your edits elsewhere, then run `docker-prep restore --force` to put back the original files (the edits are discarded)',
        problems: drift.map((d) => ({ code: 'DRIFT', message: `${d.path}: ${d.reason}`, path: d.path })),
      },
    );
  }
  // Verify the backups before the first change, then mark the journal so a crash finishes the restore.
  const plan = await planUndo(root, journal);
  const writer = new TreeWriter(opts.hooks);
  const restoring = { ...journal, phase: 'restoring' as const };
  await writeJournal(writer, root, restoring);
  const res = await runUndo(root, restoring, writer, plan);
  if (res.failures.length > 0) throw undoIncomplete('RESTORE_INCOMPLETE', 'restoring', res);
  return { action: 'restored', ...strip(res), discarded: drift };
}
