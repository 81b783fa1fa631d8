import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { GitClient } from './git-client.js';

export interface HookLocation {
  /** husky: a husky v9 hook script (`.husky/pre-commit`, run by husky with `sh -e`); git: a plain git hook. */
  kind: 'husky' | 'git';
  /** Absolute path of the pre-commit file. */
  file: string;
  /** Something the user should know about this location (e.g. husky not set up in this clone). */
  note?: string;
}

const exists = (p: string): Promise<boolean> => fsp.access(p).then(() => true, () => false);

/** `core.hooksPath`, or null when unset. */
export async function readHooksPath(git: GitClient): Promise<string | null> {
  try {
    const out = (await git.raw(['config', '--get', 'core.hooksPath'])).trim();
    return out === '' ? null : out;
  } catch {
    return null;
  }
}

/**
 * Where git will look for the pre-commit hook, and whether husky owns it. husky v9 sets
 * `core.hooksPath` to `<dir>/_` and runs `<dir>/pre-commit`; a `.husky/` folder without that setting
 * is a clone where husky's `prepare` has not run yet: the guard still belongs in `.husky/pre-commit`.
 */
export async function locateHook(git: GitClient, top: string, root: string): Promise<HookLocation> {
  const hooksPath = await readHooksPath(git);
  if (hooksPath !== null) {
    const abs = path.resolve(top, hooksPath);
    const huskyDir = path.dirname(abs);
    if (path.basename(abs) === '_' && (path.basename(huskyDir) === '.husky' || (await exists(path.join(abs, 'h'))) || (await exists(path.join(abs, 'husky.sh'))))) {
      return { kind: 'husky', file: path.join(huskyDir, 'pre-commit') };
    }
    return { kind: 'git', file: path.join(abs, 'pre-commit') };
  }
  for (const base of [...new Set([top, root])]) {
    const husky = path.join(base, '.husky');
    if (await exists(husky)) {
      return {
        kind: 'husky',
        file: path.join(husky, 'pre-commit'),
        note: 'husky is not set up in this clone yet (core.hooksPath is unset): run `npx husky`, or install the dependencies (husky\'s `prepare` script does it)',
      };
    }
  }
  return { kind: 'git', file: path.join(await gitHooksDir(git), 'pre-commit') };
}

/** The hooks folder git uses without core.hooksPath (shared by every worktree). */
export async function gitHooksDir(git: GitClient): Promise<string> {
  const out = (await git.raw(['rev-parse', '--path-format=absolute', '--git-path', 'hooks'])).trim();
  return path.resolve(git.cwd, out);
}

/** Every place an earlier install may have put the guard, for uninstall. */
export async function hookCandidates(git: GitClient, top: string, root: string): Promise<HookLocation[]> {
  const found = new Map<string, HookLocation>();
  const add = (l: HookLocation): void => void (found.has(l.file) || found.set(l.file, l));
  add(await locateHook(git, top, root));
  for (const base of [top, root]) add({ kind: 'husky', file: path.join(base, '.husky', 'pre-commit') });
  add({ kind: 'git', file: path.join(await gitHooksDir(git), 'pre-commit') });
  return [...found.values()];
}
