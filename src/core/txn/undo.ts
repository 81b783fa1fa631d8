import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError, isDockerPrepError } from '../errors.js';
import { isTempName, type TreeWriter } from '../fs/tree-writer.js';
import { fileState, sha256 } from './drift.js';
import { backupDirOf, journalPathOf, manualSteps, stateDirOf, toAbs, toRel } from './journal.js';
import { STATE_DIR, type Journal, type RestoreReport } from './journal-types.js';

export interface UndoPlan {
  /** Original bytes of every modified file that no longer holds them, read and checksum-verified up front. */
  originals: Map<string, Buffer>;
}

export interface UndoResult extends Omit<RestoreReport, 'action' | 'discarded'> {
  failures: { path: string; reason: string }[];
}

/**
 * Reads and verifies every backup the undo will need BEFORE anything changes: a missing or damaged
 * backup makes the whole undo refuse (with manual steps) rather than half-restore. A file that
 * already holds its original bytes needs no backup (it was not changed yet, or was restored by an
 * earlier, interrupted undo).
 */
export async function planUndo(root: string, journal: Journal): Promise<UndoPlan> {
  const originals = new Map<string, Buffer>();
  const bad: string[] = [];
  for (const e of journal.entries) {
    if (e.action !== 'modify') continue;
    const s = await fileState(toAbs(root, e.path));
    if (s.isFile && s.sha256 === e.originalSha256 && s.mode === e.originalMode) continue;
    let bytes: Buffer | undefined;
    try {
      bytes = e.backup ? await fsp.readFile(path.join(stateDirOf(root), ...e.backup.split('/'))) : undefined;
    } catch {
      bytes = undefined;
    }
    if (!bytes) bad.push(`${e.path}: its backup ${STATE_DIR}/${e.backup ?? '?'} is missing`);
    else if (sha256(bytes) !== e.originalSha256) bad.push(`${e.path}: its backup ${STATE_DIR}/${e.backup} does not match the recorded sha256`);
    else originals.set(e.path, bytes);
  }
  if (bad.length > 0) {
    throw new DockerPrepError('BACKUP_CORRUPT', `cannot restore safely, ${bad.length} backup(s) are unusable:\n  - ${bad.join('\n  - ')}`, {
      kind: 'check',
      hint: manualSteps(root, 'a backup it needs is missing or damaged'),
      problems: bad.map((message) => ({ code: 'BACKUP_CORRUPT', message })),
    });
  }
  return { originals };
}

/**
 * Puts every journaled file back and removes what the run created, continuing past failures (they
 * are returned, and the journal is then kept so the next run can retry). Safe to repeat after a
 * crash at any point: each step checks the current state first. The state folder goes last, its
 * backups before the journal itself, so a crash never leaves backups without their journal.
 */
export async function runUndo(root: string, journal: Journal, writer: TreeWriter, plan: UndoPlan): Promise<UndoResult> {
  const res: UndoResult = { restored: [], removed: [], removedDirs: [], keptDirs: [], strays: [], failures: [] };
  const fail = (p: string, err: unknown): void => {
    res.failures.push({ path: p, reason: isDockerPrepError(err) || err instanceof Error ? err.message : String(err) });
  };
  for (const e of [...journal.entries].reverse()) {
    const abs = toAbs(root, e.path);
    try {
      if (e.action === 'modify') {
        const bytes = plan.originals.get(e.path);
        if (bytes === undefined) continue;
        await writer.writeFile(abs, bytes, e.originalMode);
        res.restored.push(e.path);
      } else if ((await fileState(abs)).exists) {
        await writer.unlink(abs);
        res.removed.push(e.path);
      }
    } catch (err) {
      fail(e.path, err);
    }
  }

  // Temp files of writes cut short by a crash (the TreeWriter names them .<name>.dp-tmp-<hex>.tmp).
  const dirs = new Set<string>([...journal.entries.map((e) => path.dirname(toAbs(root, e.path))), ...journal.createdDirs.map((d) => toAbs(root, d))]);
  for (const dir of [...dirs].sort()) {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      continue;
    }
    for (const name of names.filter(isTempName).sort()) {
      try {
        await writer.unlink(path.join(dir, name));
        res.strays.push(toRel(root, path.join(dir, name)));
      } catch (err) {
        fail(toRel(root, path.join(dir, name)), err);
      }
    }
  }

  const created = [...journal.createdDirs].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
  for (const d of created) {
    const abs = toAbs(root, d);
    try {
      if (!(await isDir(abs))) continue;
      if (await writer.rmdirIfEmpty(abs)) res.removedDirs.push(d);
      else res.keptDirs.push(d);
    } catch (err) {
      fail(d, err);
    }
  }

  if (res.failures.length === 0) {
    try {
      await removeStateDir(root, writer);
    } catch (err) {
      fail(STATE_DIR, err);
    }
  }
  return res;
}

/** Deletes the state folder: backups first, then everything but the journal, then the journal, then the folder. */
export async function removeStateDir(root: string, writer: TreeWriter): Promise<string[]> {
  const strays: string[] = [];
  const backups = backupDirOf(root);
  for (const name of (await readdirOrEmpty(backups)).sort()) await writer.unlink(path.join(backups, name));
  if (await isDir(backups)) await writer.rmdirIfEmpty(backups);
  const state = stateDirOf(root);
  const journal = journalPathOf(root);
  for (const name of (await readdirOrEmpty(state)).sort()) {
    const abs = path.join(state, name);
    if (abs === journal || (await isDir(abs))) continue;
    await writer.unlink(abs);
    if (isTempName(name)) strays.push(toRel(root, abs));
  }
  if ((await fileState(journal)).exists) await writer.unlink(journal);
  if ((await isDir(state)) && !(await writer.rmdirIfEmpty(state))) {
    throw new DockerPrepError('STATE_DIR_NOT_EMPTY', `${STATE_DIR}/ still holds files docker-prep does not know`, {
      kind: 'check',
      hint: `look at ${state} and delete it when nothing in it is needed`,
    });
  }
  return strays;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fsp.lstat(p)).isDirectory();
  } catch {
    return false;
  }
}
