import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError, failWithProblems, ioError, type Problem } from '../errors.js';
import type { TreeWriter } from '../fs/tree-writer.js';
import { LOCK_DIR, STATE_DIR } from '../txn/journal-types.js';
import { existingDir } from './existing-dir.js';
import { findGuardRoot } from './find-guard-root.js';
import { createGitClient, type GitClient } from './git-client.js';
import { guardHookLines, HOOK_MARKERS } from './guard-hook-lines.js';
import { findNotIgnored } from './ignore-hygiene.js';
import { hookCandidates, locateHook, type HookLocation } from './locate-hook.js';
import { createWithBlock, findBlock, removeBlock, upsertBlock, type BlockMarkers } from './marked-block.js';
import { createOutMatcher, toPosix } from './out-matcher.js';

export interface HooksRequest {
  cwd: string;
  /** Environment for git (see gitEnvFor). */
  env: Record<string, string>;
  /** `--out`, relative to the repo root. */
  out: string;
  /** Also add the output folder, the journal folder and the lock to the root's .gitignore. */
  addGitignore: boolean;
  writer: TreeWriter;
}

export type FileResult = 'created' | 'added' | 'updated' | 'unchanged' | 'removed' | 'deleted' | 'absent';

export interface FileChange {
  kind: 'husky' | 'git' | 'gitignore';
  /** Relative to the git top level. */
  file: string;
  result: FileResult;
}

export interface HooksReport {
  action: 'install' | 'uninstall';
  root: string;
  gitTop: string;
  hooks: FileChange[];
  gitignore: (FileChange & { entries: string[] }) | null;
  /** Folders (root-relative, ending in `/`) git does not ignore after this run. */
  notIgnored: string[];
  notes: string[];
}

export const GITIGNORE_MARKERS: BlockMarkers = {
  begin: '# >>> docker-prep >>>',
  end: '# <<< docker-prep <<<',
  note: 'added by `docker-prep hooks install --add-gitignore`; `docker-prep hooks uninstall` removes it',
};

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh', 'busybox']);
const SHEBANG_HEADER = '#!/bin/sh';

interface PlannedWrite {
  file: string;
  text: string | null; // null: delete
  mode: number;
  change: FileChange;
}

async function context(req: Omit<HooksRequest, 'addGitignore'>): Promise<{ git: GitClient; top: string; root: string }> {
  const start = await existingDir(req.cwd);
  const probe = createGitClient(start, req.env);
  let top: string;
  try {
    top = await fsp.realpath((await probe.raw(['rev-parse', '--show-toplevel'])).trim());
  } catch {
    throw new DockerPrepError('NOT_A_GIT_REPO', `${start} is not inside a git repository (with a work tree), so there is no hook to install`, {
      kind: 'usage',
      hint: 'run `git init` first, or run docker-prep hooks in the app repo (--cwd <dir>)',
    });
  }
  const root = (await findGuardRoot(start)) ?? top;
  return { git: createGitClient(top, req.env), top, root };
}

const rel = (top: string, abs: string): string => toPosix(path.relative(top, abs)) || '.';

async function readExisting(file: string): Promise<{ bytes: Buffer; mode: number } | null> {
  let st;
  try {
    st = await fsp.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(err, 'read', file);
  }
  if (st.isSymbolicLink()) {
    throw new DockerPrepError('HOOK_IS_SYMLINK', `${file} is a symbolic link (to ${await fsp.readlink(file)}); docker-prep will not write through it`, {
      kind: 'config',
      hint: 'make the change in the file it points to by hand (README: "The pre-commit guard"), or replace the link with a regular file',
    });
  }
  if (!st.isFile()) throw new DockerPrepError('HOOK_NOT_A_FILE', `${file} is not a regular file`, { kind: 'config', hint: 'remove or rename it, then run `docker-prep hooks install` again' });
  return { bytes: await fsp.readFile(file), mode: st.mode & 0o7777 };
}

/** The interpreter a `#!` line names (through `env`), or null without a shebang. */
function interpreterOf(firstLine: string): string | null {
  if (!firstLine.startsWith('#!')) return null;
  const words = firstLine.slice(2).trim().split(/\s+/);
  let i = 0;
  if (path.basename(words[0] ?? '') === 'env') {
    i = 1;
    while (words[i]?.startsWith('-')) i++;
  }
  return path.basename(words[i] ?? '');
}

/** Leading lines the guard goes after: the shebang and husky v4-v8's bootstrap line. */
function isHeaderLine(line: string, index: number): boolean {
  if (index === 0 && line.startsWith('#!')) return true;
  return /^\.\s.*husky\.sh/.test(line.trim());
}

function planHookInstall(loc: HookLocation, top: string, existing: { bytes: Buffer; mode: number } | null, body: string[]): PlannedWrite {
  const file = rel(top, loc.file);
  if (existing === null) {
    const text = loc.kind === 'git' ? createWithBlock(HOOK_MARKERS, body, [SHEBANG_HEADER]) : createWithBlock(HOOK_MARKERS, body);
    return { file: loc.file, text, mode: 0o755, change: { kind: loc.kind, file, result: 'created' } };
  }
  if (existing.bytes.includes(0)) {
    throw nonShell(loc.file, 'it is a binary program');
  }
  const text = existing.bytes.toString('utf8');
  const interpreter = interpreterOf(text.replace(/^\ufeff/, '').split(/\r?\n/, 1)[0] ?? '');
  if (interpreter !== null && !SHELLS.has(interpreter)) throw nonShell(loc.file, `it is a ${interpreter} script`);
  const next = upsertBlock(text, HOOK_MARKERS, body, 'top', isHeaderLine);
  const had = findBlock(text, HOOK_MARKERS) !== null;
  return {
    file: loc.file,
    text: next === text ? null : next,
    mode: existing.mode,
    change: { kind: loc.kind, file, result: next === text ? 'unchanged' : had ? 'updated' : 'added' },
  };
}

function nonShell(file: string, why: string): DockerPrepError {
  return new DockerPrepError('HOOK_NOT_SHELL', `${file} already exists and ${why}, so docker-prep cannot add its shell lines to it`, {
    kind: 'config',
    hint: 'call `node_modules/.bin/docker-prep check --staged` from that hook yourself, or chain hooks with a hook manager (README: lefthook, simple-git-hooks)',
  });
}

async function apply(writer: TreeWriter, writes: PlannedWrite[]): Promise<void> {
  for (const w of writes) {
    if (w.change.result === 'unchanged' || w.change.result === 'absent') continue;
    if (w.text === null) {
      await writer.unlink(w.file);
      continue;
    }
    // Create missing folders (e.g. a core.hooksPath folder that does not exist yet), outermost first.
    const missing: string[] = [];
    for (let dir = path.dirname(w.file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      if (await fsp.access(dir).then(() => true, () => false)) break;
      missing.unshift(dir);
    }
    for (const dir of missing) await writer.mkdir(dir);
    await writer.writeFile(w.file, w.text, w.mode);
  }
}

function hygieneDirs(root: string, out: string): string[] {
  const o = createOutMatcher(root, [out]).outs[0]!;
  return [`${o}/`, `${STATE_DIR}/`, `${LOCK_DIR}/`];
}

export async function installGuardHook(req: HooksRequest): Promise<HooksReport> {
  const { git, top, root } = await context(req);
  const loc = await locateHook(git, top, root);
  const rootFromTop = rel(top, root);
  const out = createOutMatcher(root, [req.out]).outs[0]!;
  const body = guardHookLines({ rootFromTop, out });
  const problems: Problem[] = [];
  const writes: PlannedWrite[] = [];
  const notes: string[] = [];
  if (loc.note) notes.push(loc.note);

  try {
    const existing = await readExisting(loc.file);
    writes.push(planHookInstall(loc, top, existing, body));
    if (existing && loc.kind === 'git' && (existing.mode & 0o111) === 0) {
      notes.push(`${rel(top, loc.file)} is not executable, so git does not run it (nor the guard in it): chmod +x it`);
    }
  } catch (err) {
    if (err instanceof DockerPrepError) problems.push({ code: err.code, message: err.message, hint: err.hint, path: rel(top, loc.file) });
    else throw err;
  }

  const rootGit = createGitClient(root, req.env);
  const dirs = hygieneDirs(root, req.out).filter((d) => !d.startsWith('../'));
  let notIgnored = await findNotIgnored(rootGit, dirs);
  let gitignore: HooksReport['gitignore'] = null;
  if (req.addGitignore && notIgnored.length > 0) {
    const file = path.join(root, '.gitignore');
    const existing = await readExisting(file).catch((err: unknown) => {
      if (err instanceof DockerPrepError) problems.push({ code: err.code, message: err.message, hint: err.hint, path: rel(top, file) });
      return null;
    });
    const text = existing?.bytes.toString('utf8') ?? null;
    const found = text === null ? null : findBlock(text, GITIGNORE_MARKERS);
    const previous = found ? found.lines.slice(1, -1) : [];
    const entries = [...previous, ...notIgnored.map((d) => `/${d}`).filter((e) => !previous.includes(e))];
    const next = text === null ? createWithBlock(GITIGNORE_MARKERS, entries) : upsertBlock(text, GITIGNORE_MARKERS, entries, 'end');
    const result: FileResult = text === null ? 'created' : found ? 'updated' : 'added';
    writes.push({ file, text: next, mode: existing?.mode ?? 0o644, change: { kind: 'gitignore', file: rel(top, file), result } });
    gitignore = { kind: 'gitignore', file: rel(top, file), result, entries };
    notIgnored = [];
  } else if (notIgnored.length > 0) {
    notes.push(`not git-ignored: ${notIgnored.join(', ')}; run \`docker-prep hooks install --add-gitignore\` to add them to ${rel(top, path.join(root, '.gitignore'))}`);
  }

  if (problems.length > 0) failWithProblems(problems, 'config');
  await apply(req.writer, writes);
  return { action: 'install', root, gitTop: top, hooks: writes.filter((w) => w.change.kind !== 'gitignore').map((w) => w.change), gitignore, notIgnored, notes };
}

export async function uninstallGuardHook(req: Omit<HooksRequest, 'addGitignore'>): Promise<HooksReport> {
  const { git, top, root } = await context(req);
  const writes: PlannedWrite[] = [];
  const hooks: FileChange[] = [];
  for (const loc of await hookCandidates(git, top, root)) {
    const planned = await planRemoval(loc.file, top, HOOK_MARKERS, loc.kind === 'git' ? [SHEBANG_HEADER] : [], loc.kind);
    if (planned) {
      writes.push(planned);
      hooks.push(planned.change);
    }
  }
  const gitignoreFile = path.join(root, '.gitignore');
  const gi = await planRemoval(gitignoreFile, top, GITIGNORE_MARKERS, [], 'gitignore');
  if (gi) writes.push(gi);
  await apply(req.writer, writes);
  if (hooks.length === 0) {
    const loc = await locateHook(git, top, root);
    hooks.push({ kind: loc.kind, file: rel(top, loc.file), result: 'absent' });
  }
  return {
    action: 'uninstall',
    root,
    gitTop: top,
    hooks,
    gitignore: gi ? { ...gi.change, entries: [] } : null,
    notIgnored: [],
    notes: [],
  };
}

async function planRemoval(file: string, top: string, markers: BlockMarkers, header: string[], kind: FileChange['kind']): Promise<PlannedWrite | null> {
  let st;
  try {
    st = await fsp.lstat(file);
  } catch {
    return null;
  }
  if (!st.isFile()) return null;
  const text = await fsp.readFile(file, 'utf8');
  const removed = removeBlock(text, markers, header);
  if (!removed) return null;
  return {
    file,
    text: removed.deleteFile ? null : removed.text,
    mode: st.mode & 0o7777,
    change: { kind, file: rel(top, file), result: removed.deleteFile ? 'deleted' : 'removed' },
  };
}
