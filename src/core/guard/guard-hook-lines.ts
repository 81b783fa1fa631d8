import type { BlockMarkers } from './marked-block.js';

export const HOOK_MARKERS: BlockMarkers = {
  begin: '# >>> docker-prep guard >>>',
  end: '# <<< docker-prep guard <<<',
  note: 'added by `docker-prep hooks install`; `docker-prep hooks uninstall` removes it',
};

export const DEFAULT_OUT = '.docker-deps';

/** POSIX-sh single quoting. */
export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The guard as POSIX sh lines, for a hook whose working folder is the git top level (git runs hooks
 * there, husky too). docker-prep is called the way a devDependency is: `node_modules/.bin/docker-prep`
 * of the repo root, else `npx --no -- docker-prep` (never downloads); when neither finds it, the
 * commit stops with a message saying so, since a guard that silently skips protects nothing.
 * `rootFromTop` is the repo root relative to the top level ('.' when they are the same).
 */
export function guardHookLines(opts: { rootFromTop: string; out: string }): string[] {
  const extra = opts.out === DEFAULT_OUT ? '' : ` --out ${shQuote(opts.out)}`;
  return [
    `docker_prep_root=${shQuote(opts.rootFromTop)}`,
    'if [ -x "$docker_prep_root/node_modules/.bin/docker-prep" ]; then',
    `  "$docker_prep_root/node_modules/.bin/docker-prep" check --staged --cwd "$docker_prep_root"${extra} || exit $?`,
    'elif command -v npx >/dev/null 2>&1 && (cd "$docker_prep_root" && npx --no -- docker-prep --help >/dev/null 2>&1); then',
    `  (cd "$docker_prep_root" && npx --no -- docker-prep check --staged${extra}) || exit $?`,
    'else',
    '  echo "docker-prep: the pre-commit guard cannot run: docker-prep is not installed in $docker_prep_root (no node_modules/.bin/docker-prep, and \\`npx --no -- docker-prep\\` finds none)." >&2',
    '  echo "hint: install the project\'s dependencies (docker-prep is a devDependency), or delete the docker-prep guard lines from $0; to commit once without it: git commit --no-verify" >&2',
    '  exit 1',
    'fi',
  ];
}
