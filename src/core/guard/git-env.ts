import path from 'node:path';

/**
 * Git hands hooks some of these as paths relative to the hook's folder (`GIT_INDEX_FILE=.git/index`
 * in a plain `git commit`); the guard may run git from another folder (`--cwd app`), so they are made
 * absolute against the folder docker-prep was started in.
 */
const PATH_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR'] as const;

/**
 * Interactive or external-program settings that our read-only, non-interactive git calls never use.
 * simple-git refuses to run with some of them set (git sets GIT_EDITOR=: for every pre-commit hook).
 */
const UNUSED_BY_GUARD = [
  'EDITOR',
  'GIT_EDITOR',
  'GIT_SEQUENCE_EDITOR',
  'PAGER',
  'GIT_PAGER',
  'GIT_ASKPASS',
  'SSH_ASKPASS',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_PROXY_COMMAND',
  'GIT_EXTERNAL_DIFF',
  'GIT_TEMPLATE_DIR',
];

/** The environment for the guard's git processes, given the process environment and where docker-prep started. */
export function gitEnvFor(env: NodeJS.ProcessEnv, invocationDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && !UNUSED_BY_GUARD.includes(key)) out[key] = value;
  for (const key of PATH_VARS) {
    const value = out[key];
    if (value && !path.isAbsolute(value)) out[key] = path.resolve(invocationDir, value);
  }
  // With GIT_DIR set and no work tree named, git takes the current folder as the work tree's top;
  // pin that to where git started us, or a `--cwd` subfolder would become the "top".
  if (out.GIT_DIR && !out.GIT_WORK_TREE) out.GIT_WORK_TREE = invocationDir;
  // Never let git open a pager or prompt from inside a hook.
  out.GIT_TERMINAL_PROMPT = '0';
  return out;
}
