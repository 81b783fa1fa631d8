import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { toAbs } from './journal.js';
import type { Journal, JournalEntry } from './journal-types.js';

export interface FileState {
  exists: boolean;
  isFile: boolean;
  mode: number;
  sha256: string;
}

/** Synchronous on purpose: small files, checked one after another; a thread-pool trip costs more. */
export async function fileState(abs: string): Promise<FileState> {
  let st;
  try {
    st = lstatSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return { exists: false, isFile: false, mode: 0, sha256: '' };
    throw err;
  }
  if (!st.isFile()) return { exists: true, isFile: false, mode: st.mode & 0o7777, sha256: '' };
  return { exists: true, isFile: true, mode: st.mode & 0o7777, sha256: sha256(readFileSync(abs)) };
}

export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

export function driftReason(e: JournalEntry, s: FileState): string | null {
  if (!s.exists) return 'deleted after the pack';
  if (!s.isFile) return 'replaced by something that is not a file';
  if (s.sha256 !== e.newSha256) return 'edited after the pack';
  if (s.mode !== e.newMode) return `mode changed after the pack (${e.newMode.toString(8)} -> ${s.mode.toString(8)})`;
  return null;
}

/** Files of an active pack that no longer hold what docker-prep wrote: restoring them would discard an edit. */
export async function detectDrift(root: string, journal: Journal): Promise<{ path: string; reason: string }[]> {
  const out: { path: string; reason: string }[] = [];
  for (const e of journal.entries) {
    const reason = driftReason(e, await fileState(toAbs(root, e.path)));
    if (reason) out.push({ path: e.path, reason });
  }
  return out;
}
