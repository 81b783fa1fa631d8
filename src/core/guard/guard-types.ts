import type { JournalState } from '../txn/journal-types.js';

export type FindingKind =
  /** A `file:` specifier, override or lockfile entry pointing into the output folder. */
  | 'reference'
  /** A file inside the output folder (a packed tarball). */
  | 'output-file'
  /** A file the active pack created (e.g. the injected pnpm-workspace.yaml). */
  | 'created-by-pack'
  /** A file in exactly the form the active pack wrote it. */
  | 'rewritten-by-pack'
  /** docker-prep's own journal or lock. */
  | 'state-file';

export interface GuardFinding {
  /** The file, relative to the git top level (as git prints it), or to the repo root outside git. */
  file: string;
  kind: FindingKind;
  /** For references: where in the file, e.g. `dependencies["@scope/auth"]`, and the offending string. */
  key?: string;
  value?: string;
  /** One line naming the file and what is wrong with it. */
  message: string;
}

export interface GuardOptions {
  /** Where to start looking for the repo root. */
  cwd: string;
  /** Environment for git (see gitEnvFor). */
  env: Record<string, string>;
  /** `--out`, relative to the repo root (or absolute). */
  out: string;
  /** Check the index (what `git commit` would record) rather than the working tree. */
  staged: boolean;
  /** The journal reader (src/core/txn/journal.ts), passed in so the guard never loads the transaction code itself. */
  readJournal(root: string): Promise<JournalState>;
}

export interface GuardReport {
  mode: 'staged' | 'worktree';
  /** Absolute repo root (the folder holding pnpm-workspace.yaml, else the git top level). */
  root: string;
  /** Absolute git top level; null outside git, and in a passing staged check (which never needs it). */
  gitTop: string | null;
  /** Output folders checked, root-relative (the `--out` value and the active pack's). */
  outs: string[];
  /** What the journal says. */
  pack: JournalState['status'];
  /** How many files' contents were inspected. */
  checkedFiles: number;
  findings: GuardFinding[];
  /** The offending files, each once, in the order found. */
  files: string[];
  blocked: boolean;
  /** Paths (root-relative; folders end in `/`) that ought to be git-ignored but are not. */
  notIgnored: string[];
  warnings: string[];
}
