import { fileState } from './drift.js';
import { toAbs } from './journal.js';
import type { Journal } from './journal-types.js';

export interface RecoveryPlan {
  /** Modified files that no longer hold their original bytes: put back from the backups. */
  restore: string[];
  /** Files the run created that exist: deleted. */
  remove: string[];
  /** Folders the run created: removed when empty, deepest first. */
  removeFolders: string[];
}

/**
 * What recovering an interrupted journal will do, computed read-only from the journal and the files
 * as they are now, so read-only commands (status, check) can say exactly what the next command does.
 */
export async function planRecovery(root: string, j: Journal): Promise<RecoveryPlan> {
  const plan: RecoveryPlan = { restore: [], remove: [], removeFolders: [...j.createdDirs].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1)) };
  for (const e of j.entries) {
    const s = await fileState(toAbs(root, e.path));
    if (e.action === 'modify' && !(s.isFile && s.sha256 === e.originalSha256 && s.mode === e.originalMode)) plan.restore.push(e.path);
    if (e.action === 'create' && s.exists) plan.remove.push(e.path);
  }
  return plan;
}

export function describeRecoveryPlan(p: RecoveryPlan): string {
  return [
    p.restore.length ? `restore ${p.restore.join(', ')} from the backups` : '',
    p.remove.length ? `remove ${p.remove.join(', ')}` : '',
    p.removeFolders.length ? `remove the folder(s) ${p.removeFolders.join(', ')} when empty` : '',
    'delete .docker-prep/',
  ]
    .filter(Boolean)
    .join('; ');
}
