import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError } from '../errors.js';
import { LOCK_DIR, STATE_DIR, type Journal, type JournalEntry, type JournalState } from '../txn/journal-types.js';
import { findGuardRoot } from './find-guard-root.js';
import { createGitClient, splitZ, type GitClient } from './git-client.js';
import { existingDir } from './existing-dir.js';
import { DEFAULT_OUT } from './guard-hook-lines.js';
import type { FindingKind, GuardFinding, GuardOptions, GuardReport } from './guard-types.js';
import { findNotIgnored } from './ignore-hygiene.js';
import { createOutMatcher, isInside, toPosix, type OutMatcher } from './out-matcher.js';
import { readStaged } from './read-staged.js';
import { scanKindFor, scanReferences } from './scan-references.js';

/** A file the guard looks at. */
interface Candidate {
  /** Relative to the repo root, POSIX. */
  rootPath: string;
  /** Blob id, when reading the index. */
  oid?: string;
}

/** A finding before its path is turned into the one the user sees. */
interface RawFinding {
  rootPath: string;
  kind: FindingKind;
  key?: string;
  value?: string;
  isKey?: boolean;
  out?: string;
}

/**
 * The pre-commit guard. Judges the content that would be committed (staged blobs, or the working
 * tree for CI), never just paths, so a partially staged manifest passes when its staged hunks are clean.
 *
 * It runs on every commit, so the staged check spawns as few git processes as it can (each costs
 * ~10 ms of fork+exec on the main thread): `diff --cached` and `check-ignore` at once; staged blobs
 * are read from the disk where they are provably the same bytes (see readStaged), the others with
 * one `cat-file --batch`; `rev-parse` runs only when there is something to report.
 */
export async function runGuard(opts: GuardOptions): Promise<GuardReport> {
  const start = await existingDir(opts.cwd);
  const foundRoot = await findGuardRoot(start);
  let topPromise: Promise<string | null> | null = null;
  const gitTop = (): Promise<string | null> =>
    (topPromise ??= createGitClient(foundRoot ?? start, opts.env)
      .raw(['rev-parse', '--show-toplevel'])
      .then(
        (out) => fsp.realpath(out.trim()),
        () => null,
      ));
  const root = foundRoot ?? (await gitTop());
  if (root === null) {
    if (opts.staged) throw notAGitRepo(start);
    throw new DockerPrepError('NO_WORKSPACE', `no pnpm-workspace.yaml found in ${start} or any folder above it, and it is not in a git repository`, {
      kind: 'config',
      hint: 'run docker-prep check at the root of the app repo, or pass --cwd <dir>',
    });
  }
  const git = createGitClient(root, opts.env);

  // Everything independent starts at once.
  const stagedPromise = opts.staged ? listStaged(git) : null;
  stagedPromise?.catch(() => undefined); // awaited below; a failure there means "not a git repository"
  const optsOut = createOutMatcher(root, [opts.out]).outs[0]!;
  // Outside git, check-ignore fails and findNotIgnored answers [] (nothing can be committed there).
  const notIgnoredPromise = findNotIgnored(git, [`${optsOut}/`, `${STATE_DIR}/`, `${LOCK_DIR}/`]);
  const journalState = await opts.readJournal(root);

  const journal = activeJournal(journalState);
  const matcher = createOutMatcher(root, [opts.out, ...(journal ? [journal.out] : [])]);
  const extraOuts = matcher.outs.filter((o) => o !== optsOut);
  const entries = new Map<string, JournalEntry>((journal?.entries ?? []).map((e) => [e.path, e]));

  let candidates: Candidate[];
  let inGit: boolean;
  if (stagedPromise) {
    try {
      candidates = await stagedPromise;
    } catch {
      throw notAGitRepo(root);
    }
    inGit = true;
  } else {
    const top = await gitTop();
    inGit = top !== null;
    candidates = top !== null ? await listWorkingTree(git) : await walkRoot(root, matcher, entries);
  }
  const extraNotIgnored = !inGit || extraOuts.length === 0 ? Promise.resolve([]) : findNotIgnored(git, extraOuts.map((o) => `${o}/`));

  const raw: RawFinding[] = [];
  const needContent: Candidate[] = [];
  for (const c of candidates) {
    const out = matcher.outs.find((o) => isInside(c.rootPath, o));
    if (out !== undefined && inGit) {
      raw.push({ rootPath: c.rootPath, kind: 'output-file', out });
    } else if (isInside(c.rootPath, STATE_DIR) || isInside(c.rootPath, LOCK_DIR)) {
      raw.push({ rootPath: c.rootPath, kind: 'state-file' });
    } else if (entries.get(c.rootPath)?.action === 'create') {
      raw.push({ rootPath: c.rootPath, kind: 'created-by-pack' }); // its contents are docker-prep's anyway
    } else if (entries.has(c.rootPath) || scanKindFor(path.posix.basename(c.rootPath)) !== null) {
      needContent.push(c);
    }
  }

  let contents: Map<Candidate, Buffer>;
  let inspected: number;
  if (stagedPromise) {
    const withBlob = needContent.filter((c): c is Candidate & { oid: string } => c.oid !== undefined);
    contents = await readStaged(git, root, withBlob);
    inspected = withBlob.length;
  } else {
    contents = await readFromDisk(root, needContent);
    inspected = contents.size;
  }

  for (const c of needContent) {
    const bytes = contents.get(c);
    if (bytes === undefined) continue;
    const kind = scanKindFor(path.posix.basename(c.rootPath));
    const refs = kind === null ? [] : await scanReferences(bytes.toString('utf8'), kind, path.posix.dirname(c.rootPath), matcher);
    for (const r of refs) raw.push({ rootPath: c.rootPath, kind: 'reference', key: r.key, value: r.value, isKey: r.isKey });
    const entry = entries.get(c.rootPath);
    if (refs.length === 0 && entry?.action === 'modify' && sha256(bytes) === entry.newSha256) {
      raw.push({ rootPath: c.rootPath, kind: 'rewritten-by-pack' });
    }
  }

  // Paths are shown as git shows them, relative to the top level; only a report needs it. A root
  // holding `.git` is its own top level (only the messages depend on this, never the verdict).
  const top = inGit && (raw.length > 0 || !opts.staged) ? (!opts.env.GIT_WORK_TREE && existsSync(path.join(root, '.git')) ? root : await gitTop()) : null;
  const display = (rootPath: string): string => (top === null || top === root ? rootPath : toPosix(path.relative(top, path.join(root, rootPath))));
  const findings = raw.map((f) => toFinding(f, display(f.rootPath)));

  const warnings: string[] = [];
  // While a pack with another output folder is active, the default one is not where tarballs go.
  const skipDefault = extraOuts.length > 0 && optsOut === DEFAULT_OUT ? `${DEFAULT_OUT}/` : null;
  const notIgnored = [...(await notIgnoredPromise), ...(await extraNotIgnored)].filter((d) => d !== skipDefault);
  if (notIgnored.length > 0) {
    warnings.push(
      `not git-ignored: ${notIgnored.join(', ')} (tarballs, the journal or the lock could be committed by \`git add -A\`); ` +
        'run `docker-prep hooks install --add-gitignore`, or add them to .gitignore',
    );
  }
  if (journalState.status === 'interrupted') {
    warnings.push(`an interrupted docker-prep run left its journal (phase ${journalState.journal.phase}); run \`docker-prep restore\` to roll it back`);
  } else if (journalState.status === 'corrupt' || journalState.status === 'orphan') {
    warnings.push(`docker-prep's journal cannot be used (${journalState.reason}); run \`docker-prep status\` for what to do`);
  }

  return {
    mode: opts.staged ? 'staged' : 'worktree',
    root,
    gitTop: top,
    outs: matcher.outs.slice(),
    pack: journalState.status,
    checkedFiles: inspected,
    findings,
    files: [...new Set(findings.map((f) => f.file))],
    blocked: findings.length > 0,
    notIgnored,
    warnings,
  };
}

function toFinding(f: RawFinding, file: string): GuardFinding {
  switch (f.kind) {
    case 'reference':
      return {
        file,
        kind: f.kind,
        key: f.key,
        value: f.value,
        message: f.isKey ? `${file}: ${f.key} (the key points into the output folder)` : `${file}: ${f.key} = ${f.value}`,
      };
    case 'output-file':
      return { file, kind: f.kind, message: `${file}: a file inside the output folder ${f.out}/ (packed tarballs must never be committed)` };
    case 'state-file':
      return { file, kind: f.kind, message: `${file}: docker-prep's journal or lock (it must never be committed)` };
    case 'created-by-pack':
      return { file, kind: f.kind, message: `${file}: created by the active docker-prep pack (restore removes it)` };
    case 'rewritten-by-pack':
      return { file, kind: f.kind, message: `${file}: exactly as the active docker-prep pack rewrote it` };
  }
}

function activeJournal(state: JournalState): Journal | null {
  return state.status === 'active' || state.status === 'interrupted' ? state.journal : null;
}

function notAGitRepo(dir: string): DockerPrepError {
  return new DockerPrepError('NOT_A_GIT_REPO', `${dir} is not inside a git repository, so there is nothing staged to check`, {
    kind: 'usage',
    hint: 'run `docker-prep check` without --staged to check the working tree',
  });
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Staged additions and modifications under the repo root, root-relative (deletions commit nothing of
 * ours; pack writes nothing outside the root). --raw gives each staged blob id, so one more process
 * reads them all. Works on an unborn branch too: git then diffs the index against the empty tree.
 */
async function listStaged(git: GitClient): Promise<Candidate[]> {
  const out = await git.raw(['diff', '--cached', '--relative', '--raw', '-z', '--no-abbrev', '--no-renames', '--no-ext-diff', '--ignore-submodules=all', '--diff-filter=ACMT']);
  const parts = splitZ(out);
  const staged: Candidate[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = parts[i]!.split(' ');
    const mode = meta[1];
    const oid = meta[3];
    if (oid === undefined || mode === '160000') continue; // a submodule commit, not a file
    // A symlink's blob is its target, not a manifest: judged by path only.
    staged.push(mode === '120000' ? { rootPath: parts[i + 1]! } : { rootPath: parts[i + 1]!, oid });
  }
  return staged;
}

/** Tracked files plus untracked ones that are not ignored, under the root: what `git add -A && git commit` would record. */
async function listWorkingTree(git: GitClient): Promise<Candidate[]> {
  const out = await git.raw(['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
  return [...new Set(splitZ(out))].map((p) => ({ rootPath: p }));
}

async function readFromDisk(root: string, list: Candidate[]): Promise<Map<Candidate, Buffer>> {
  const out = new Map<Candidate, Buffer>();
  await Promise.all(
    list.map(async (c) => {
      try {
        const abs = path.join(root, c.rootPath);
        if ((await fsp.lstat(abs)).isFile()) out.set(c, await fsp.readFile(abs));
      } catch {
        // deleted in the working tree: nothing to commit
      }
    }),
  );
  return out;
}

const SKIP_DIRS = new Set(['node_modules', '.git', STATE_DIR, LOCK_DIR]);

/** Outside git: every manifest, workspace file and lockfile under the root (output folders skipped), and what the journal lists. */
async function walkRoot(root: string, matcher: OutMatcher, entries: Map<string, JournalEntry>): Promise<Candidate[]> {
  const found: Candidate[] = [];
  const visit = async (rel: string): Promise<void> => {
    const dirents = await fsp.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const d of dirents) {
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        if (!SKIP_DIRS.has(d.name) && !matcher.outs.some((o) => isInside(childRel, o))) await visit(childRel);
      } else if (d.isFile() && (scanKindFor(d.name) !== null || entries.has(childRel))) {
        found.push({ rootPath: childRel });
      }
    }
  };
  await visit('');
  return found.sort((a, b) => (a.rootPath < b.rootPath ? -1 : 1));
}
