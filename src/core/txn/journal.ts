import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError } from '../errors.js';
import type { TreeWriter } from '../fs/tree-writer.js';
import { BACKUP_DIR, JOURNAL_FILE, STATE_DIR, type Journal, type JournalState } from './journal-types.js';

// Kept free of heavy imports: the pre-commit guard and `status` load this module on every call.

export const JOURNAL_FORMAT = 'docker-prep-journal';

export const stateDirOf = (root: string): string => path.join(root, STATE_DIR);
export const journalPathOf = (root: string): string => path.join(root, STATE_DIR, JOURNAL_FILE);
export const backupDirOf = (root: string): string => path.join(root, STATE_DIR, BACKUP_DIR);

/** Repo-relative POSIX path <-> absolute path. */
export const toRel = (root: string, abs: string): string => path.relative(root, abs).split(path.sep).join('/');
export const toAbs = (root: string, rel: string): string => path.join(root, ...rel.split('/'));

/**
 * The file is `{format, version, sha256, journal}` where sha256 covers `JSON.stringify(journal)`.
 * JSON.parse keeps key order, so re-serialising the parsed journal reproduces the hashed bytes; a
 * truncated or hand-edited file fails the check instead of being half-trusted.
 */
export function serializeJournal(journal: Journal): string {
  const body = JSON.stringify(journal);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return JSON.stringify({ format: JOURNAL_FORMAT, version: 1, sha256, journal }, null, 2) + '\n';
}

export function parseJournal(text: string): { ok: true; journal: Journal } | { ok: false; reason: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `it is not valid JSON (${(err as Error).message}); it was probably cut short by a crash or edited by hand` };
  }
  if (!isRecord(doc) || doc.format !== JOURNAL_FORMAT) return { ok: false, reason: 'it is not a docker-prep journal' };
  if (doc.version !== 1) return { ok: false, reason: `its format version ${String(doc.version)} is not supported by this docker-prep` };
  if (!isRecord(doc.journal) || typeof doc.sha256 !== 'string') return { ok: false, reason: 'it has no journal body or checksum' };
  const actual = createHash('sha256').update(JSON.stringify(doc.journal)).digest('hex');
  if (actual !== doc.sha256) return { ok: false, reason: `its checksum does not match (recorded ${doc.sha256.slice(0, 12)}…, actual ${actual.slice(0, 12)}…)` };
  const j = doc.journal;
  const shapeOk =
    j.version === 1 &&
    (j.phase === 'applying' || j.phase === 'active' || j.phase === 'restoring') &&
    typeof j.out === 'string' &&
    Array.isArray(j.entries) &&
    Array.isArray(j.createdDirs) &&
    j.entries.every((e) => isRecord(e) && typeof e.path === 'string' && (e.action === 'create' || e.action === 'modify'));
  if (!shapeOk) return { ok: false, reason: 'its content does not have the expected shape' };
  return { ok: true, journal: j as unknown as Journal };
}

/**
 * What the state folder says, without changing anything. `interrupted` means a run stopped (or is
 * still running: only the lock can tell) between its first change and its last.
 */
export async function readJournalState(root: string): Promise<JournalState> {
  const dir = stateDirOf(root);
  let names: string[];
  try {
    // A symlinked state folder could make recovery write outside the repo: never follow it.
    if ((await fsp.lstat(dir)).isSymbolicLink()) return { status: 'corrupt', reason: `${STATE_DIR} is a symlink, not docker-prep's state folder` };
    names = await fsp.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'none' };
    if (code === 'ENOTDIR') return { status: 'corrupt', reason: `${STATE_DIR} is a file, not docker-prep's state folder` };
    throw err;
  }
  let text: string | undefined;
  try {
    text = await fsp.readFile(path.join(dir, JOURNAL_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) {
    // Without a journal the state folder is only safe to discard when it holds no original bytes:
    // a crash before the journal existed (or after a restore removed it) leaves temp files at most.
    let backups: string[] = [];
    try {
      backups = await fsp.readdir(path.join(dir, BACKUP_DIR));
    } catch {
      // no backups folder
    }
    const unknown = names.filter((n) => n !== BACKUP_DIR && n !== '.gitignore' && !n.includes('.dp-tmp-'));
    if (backups.length > 0 || unknown.length > 0) {
      return { status: 'corrupt', reason: `${STATE_DIR}/${JOURNAL_FILE} is missing but ${STATE_DIR}/ still holds ${[...backups.map((b) => `${BACKUP_DIR}/${b}`), ...unknown].join(', ')}` };
    }
    return { status: 'orphan', reason: `${STATE_DIR}/ holds no journal, only leftovers of an interrupted run` };
  }
  const parsed = parseJournal(text);
  if (!parsed.ok) return { status: 'corrupt', reason: `${STATE_DIR}/${JOURNAL_FILE} cannot be trusted: ${parsed.reason}` };
  return parsed.journal.phase === 'active' ? { status: 'active', journal: parsed.journal } : { status: 'interrupted', journal: parsed.journal };
}

/** Replaces the journal atomically (temp + fsync + rename + folder fsync, via the TreeWriter). */
export async function writeJournal(writer: TreeWriter, root: string, journal: Journal): Promise<void> {
  await writer.writeFile(journalPathOf(root), serializeJournal(journal), 0o644);
}

/** The steps a user follows when the journal cannot be trusted; docker-prep itself refuses to guess. */
export function manualSteps(root: string, reason: string): string {
  const state = stateDirOf(root);
  return [
    `docker-prep changed nothing because ${reason}.`,
    'To put the repo back by hand:',
    `  1. Make sure no docker-prep run is active (\`docker-prep status\`; the lock is ${path.join(root, '.docker-prep.lock')}).`,
    `  2. Look at ${path.join(state, JOURNAL_FILE)} if it is readable: each entry names a file ("path"), whether docker-prep created or modified it, and for modified files the backup copy under ${path.join(state, BACKUP_DIR)}/ with its sha256.`,
    `  3. Copy each backup over its file (check \`sha256sum\` against "originalSha256"), and delete the files marked "create".`,
    '  4. Or, when the manifests are committed: run `docker-prep restore --strip-overrides`, which takes the original specifiers from git HEAD, then check `git diff`.',
    `  5. When the tree is right, delete ${state} (rm -rf) and the output folder (e.g. .docker-deps/).`,
  ].join('\n');
}

export function journalCorrupt(root: string, reason: string): DockerPrepError {
  return new DockerPrepError('JOURNAL_CORRUPT', `the docker-prep journal cannot be trusted: ${reason}`, {
    kind: 'check',
    hint: manualSteps(root, 'the journal cannot be trusted'),
    details: { reason, stateDir: stateDirOf(root) },
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
