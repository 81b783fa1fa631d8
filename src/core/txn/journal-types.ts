/**
 * The journal is the only record needed to restore. It lives in `<root>/.docker-prep/` (JOURNAL_DIR),
 * next to a `backups/` folder holding the original bytes of every modified file.
 */
export const STATE_DIR = '.docker-prep';
export const JOURNAL_FILE = 'journal.json';
export const BACKUP_DIR = 'backups';
/** proper-lockfile's lock folder, beside (not inside) the state folder so removing one never touches the other. */
export const LOCK_DIR = '.docker-prep.lock';

export type JournalPhase =
  /** Backups written, the tree may be partly changed: a crash here must be rolled back. */
  | 'applying'
  /** Every planned write is done: the pack is active until `restore`. */
  | 'active'
  /** A restore is under way: a crash here must finish the restore. */
  | 'restoring';

export interface JournalEntry {
  /** Repo-relative POSIX path. */
  path: string;
  action: 'create' | 'modify';
  /** For `modify`: sha256 and mode of the original bytes, and where the backup copy lives (relative to STATE_DIR). */
  originalSha256?: string;
  originalMode?: number;
  backup?: string;
  /** What docker-prep wrote; a different current sha256 means the user edited the file after the pack (drift). */
  newSha256: string;
  newMode: number;
  /** What the file is, for messages and for the guard: a rewritten manifest, an injected workspace file, ... */
  role: 'manifest' | 'workspace' | 'lockfile' | 'tarball' | 'patch' | 'other';
}

export interface Journal {
  version: 1;
  phase: JournalPhase;
  /** Absolute real path of the repo root when the pack ran. */
  root: string;
  /** The output folder, repo-relative POSIX (default `.docker-deps`). */
  out: string;
  /** Folders pack created (repo-relative), removed on restore when empty, deepest first. */
  createdDirs: string[];
  entries: JournalEntry[];
  targets: string[];
  packages: { name: string; version: string; fileName: string; integrity: string }[];
  createdAt: string;
  command: string;
}

export type JournalState =
  | { status: 'none' }
  | { status: 'active'; journal: Journal }
  /** A run died (or is running) mid-way: `journal` says what to roll back or finish. */
  | { status: 'interrupted'; journal: Journal }
  /** Leftovers without a usable journal (e.g. a crash before the journal was written). */
  | { status: 'orphan'; reason: string }
  /** The journal fails its checksum or does not parse: recovery must refuse to guess. */
  | { status: 'corrupt'; reason: string };

/** What a restore, a rollback or a recovery did, as data (printed as-is with --json). */
export interface RestoreReport {
  /** `none`: nothing was active; `restored`: an active pack was undone; `rolled-back`: an interrupted
   * pack was undone; `finished-restore`: an interrupted restore was completed; `cleaned`: only
   * leftovers without a journal (temp files, an empty state folder) were removed. */
  action: 'none' | 'restored' | 'rolled-back' | 'finished-restore' | 'cleaned';
  /** Files put back to their original bytes and mode (repo-relative). */
  restored: string[];
  /** Files the pack had created, now removed. */
  removed: string[];
  /** Folders the pack had created, now removed. */
  removedDirs: string[];
  /** Folders the pack had created that were left because something else now lives in them. */
  keptDirs: string[];
  /** Edits made after the pack that a forced restore discarded. */
  discarded: { path: string; reason: string }[];
  /** Stray temp files (from a crash mid-write) removed. */
  strays: string[];
}

export interface RecoveryReport extends RestoreReport {
  /** The phase the interrupted run died in (`orphan`: before its journal existed). */
  from: JournalPhase | 'orphan';
  /** The interrupted run's command line, when the journal recorded it. */
  command?: string;
  /** One sentence for the user. */
  message: string;
}
