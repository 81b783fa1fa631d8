import { promises as fsp, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerPrepError, isDockerPrepError } from '../errors.js';
import { TreeWriter, type MutationHooks } from '../fs/tree-writer.js';
import type { PlannedWrite } from '../types.js';
import { resolveInsideRoot } from './containment.js';
import { fileState, sha256 } from './drift.js';
import { backupDirOf, readJournalState, stateDirOf, toAbs, toRel, writeJournal } from './journal.js';
import { BACKUP_DIR, STATE_DIR, type Journal, type JournalEntry } from './journal-types.js';
import { pollSignals } from './poll-signals.js';
import { planUndo, removeStateDir, runUndo } from './undo.js';

export interface ApplyMeta {
  /** The output folder, repo-relative POSIX. */
  out: string;
  targets: string[];
  packages: Journal['packages'];
  command: string;
}

export interface ApplyOptions {
  meta: ApplyMeta;
  hooks?: MutationHooks;
  /** Checked between operations; on abort the run rolls back and rethrows `signal.reason`. */
  signal?: AbortSignal;
  /** On failure leave the partial state and the journal (phase `applying`) for inspection. */
  keep?: boolean;
}

/**
 * Applies a plan as a transaction. Write-ahead: the journal (phase `applying`, listing every file to
 * change or create with the sha256 and mode of its original, and every folder to create) and the
 * checksummed backups are durable before the first change to the tree; then every write goes
 * through the TreeWriter; then the journal turns `active`. Any error or abort rolls back to the
 * pre-state before rethrowing (unless `keep`). A SIGKILL at any point leaves a journal (or, before
 * it exists, only temp files in the state folder) from which `recoverInterrupted` restores the
 * pre-state byte for byte.
 */
export async function applyPlan(root: string, writes: PlannedWrite[], opts: ApplyOptions): Promise<Journal> {
  const { hooks = {}, signal, keep = false, meta } = opts;
  const rootReal = await fsp.realpath(root);
  // The writes are synchronous system calls: a signal that arrives meanwhile waits for the loop.
  const guard = async (): Promise<void> => {
    if (signal) await pollSignals();
    if (signal?.aborted) throw signal.reason;
  };

  // Everything below until the first mutation only reads.
  const state = await readJournalState(rootReal);
  if (state.status !== 'none') {
    throw new DockerPrepError('PACK_ACTIVE', `a docker-prep journal already exists in ${STATE_DIR}/ (${state.status})`, {
      kind: state.status === 'active' ? 'active' : 'check',
      hint: 'run `docker-prep restore` first (or `docker-prep status` to see what is there)',
    });
  }
  const outAbs = toAbs(rootReal, meta.out);
  const reals = await resolveInsideRoot(rootReal, [...writes.map((w) => w.path), outAbs]);
  const targets = reals.slice(0, writes.length);
  const seen = new Map<string, number>();
  targets.forEach((t, i) => {
    if (seen.has(t)) throw new DockerPrepError('PLAN_DUPLICATE_WRITE', `the plan writes ${t} twice`, { kind: 'config', hint: 'this is a bug in docker-prep; please report it' });
    seen.set(t, i);
  });

  const entries: JournalEntry[] = [];
  const originals: (Buffer | null)[] = [];
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i]!;
    const abs = targets[i]!;
    const rel = toRel(rootReal, abs);
    let st;
    try {
      st = lstatSync(abs); // sync, as in fileState: small files, one after another
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (st && !st.isFile()) {
      throw new DockerPrepError('PLAN_TARGET_NOT_FILE', `${rel} exists and is not a regular file`, { kind: 'config', hint: `move ${rel} out of the way and run the command again` });
    }
    const newSha256 = sha256(w.contents);
    if (st) {
      const bytes = readFileSync(abs);
      const originalMode = st.mode & 0o7777;
      originals.push(bytes);
      entries.push({
        path: rel,
        action: 'modify',
        originalSha256: sha256(bytes),
        originalMode,
        backup: `${BACKUP_DIR}/${String(i).padStart(4, '0')}-${path.basename(abs)}`,
        newSha256,
        newMode: w.mode ?? originalMode,
        role: w.role,
      });
    } else {
      originals.push(null);
      entries.push({ path: rel, action: 'create', newSha256, newMode: w.mode ?? 0o644, role: w.role });
    }
  }
  const createdDirs = await missingDirs(rootReal, targets);

  let journal: Journal = {
    version: 1,
    phase: 'applying',
    root: rootReal,
    out: meta.out,
    createdDirs,
    entries,
    targets: meta.targets,
    packages: meta.packages,
    createdAt: new Date().toISOString(),
    command: meta.command,
  };

  const writer = new TreeWriter(hooks);
  let journalWritten = false;
  try {
    hooks.checkpoint?.('apply');
    await guard();
    await writer.mkdir(stateDirOf(rootReal));
    await guard();
    // The state folder ignores itself, so `git status` stays quiet without touching the user's .gitignore.
    await writer.writeFile(path.join(stateDirOf(rootReal), '.gitignore'), '*\n', 0o644);
    await guard();
    await writeJournal(writer, rootReal, journal);
    journalWritten = true;
    await guard();
    await writer.mkdir(backupDirOf(rootReal));
    await guard();
    await writer.writeFiles(
      entries.flatMap((e, i) => (e.action === 'modify' ? [{ path: path.join(stateDirOf(rootReal), ...e.backup!.split('/')), data: originals[i]!, mode: 0o644 }] : [])),
    );
    for (const d of createdDirs) {
      await guard();
      await writer.mkdir(toAbs(rootReal, d));
    }
    for (let i = 0; i < writes.length; i++) {
      const e = entries[i]!;
      // Held under the lock, but an editor may still save meanwhile: never overwrite what was not backed up.
      const now = await fileState(targets[i]!);
      const unchanged = e.action === 'create' ? !now.exists : now.isFile && now.sha256 === e.originalSha256;
      if (!unchanged) {
        throw new DockerPrepError('CHANGED_DURING_PACK', `${e.path} changed while docker-prep was running`, { kind: 'check', hint: 'run the command again once nothing else edits the repo' });
      }
    }
    await guard();
    await writer.writeFiles(writes.map((w, i) => ({ path: targets[i]!, data: w.contents, mode: entries[i]!.newMode })));
    await guard();
    journal = { ...journal, phase: 'active' };
    await writeJournal(writer, rootReal, journal);
    // A signal that arrived during the last write still means "leave the repo as it was".
    await guard();
    return journal;
  } catch (err) {
    const cause = signal?.aborted ? signal.reason : err;
    if (keep) throw cause;
    if (!journalWritten) {
      // Nothing in the tree changed yet; only the state folder (and maybe a temp journal) exists.
      await removeStateDir(rootReal, writer).catch(() => undefined);
      throw cause;
    }
    let failures: { path: string; reason: string }[];
    try {
      if (journal.phase === 'active') {
        journal = { ...journal, phase: 'restoring' };
        await writeJournal(writer, rootReal, journal);
      }
      failures = (await runUndo(rootReal, journal, writer, await planUndo(rootReal, journal))).failures;
    } catch (undoErr) {
      failures = [{ path: STATE_DIR, reason: undoErr instanceof Error ? undoErr.message : String(undoErr) }];
    }
    if (failures.length > 0) throw rollbackIncomplete(cause, failures);
    throw cause;
  }
}

/** Folders that must be created for the writes, shallowest first, repo-relative. */
async function missingDirs(rootReal: string, targets: string[]): Promise<string[]> {
  const missing = new Set<string>();
  for (const t of targets) {
    let dir = path.dirname(t);
    while (dir !== rootReal && dir.startsWith(rootReal + path.sep)) {
      if (missing.has(toRel(rootReal, dir))) break;
      try {
        lstatSync(dir);
        break;
      } catch {
        missing.add(toRel(rootReal, dir));
      }
      dir = path.dirname(dir);
    }
  }
  return [...missing].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}

export function rollbackIncomplete(cause: unknown, failures: { path: string; reason: string }[]): DockerPrepError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  const interrupted = isDockerPrepError(cause) && cause.kind === 'interrupted';
  return new DockerPrepError(
    'ROLLBACK_INCOMPLETE',
    `${msg}\nrolling back, docker-prep could not restore ${failures.length} item(s):\n${failures.map((f) => `  - ${f.path}: ${f.reason}`).join('\n')}`,
    {
      kind: interrupted ? 'interrupted' : 'io',
      hint: 'fix the cause of these failures, then run `docker-prep restore`: the journal in .docker-prep/ still holds the original files',
      problems: failures.map((f) => ({ code: 'ROLLBACK_FAILED', message: `${f.path}: ${f.reason}`, path: f.path })),
      details: { cause: isDockerPrepError(cause) ? cause.code : msg },
      cause,
    },
  );
}
