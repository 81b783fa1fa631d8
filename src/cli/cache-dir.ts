import os from 'node:os';
import path from 'node:path';

/** The content cache lives in the user's cache folder, never in the repo (CONTRACT.md, Files). */
export function cacheDirFromEnv(env: NodeJS.ProcessEnv): string {
  if (env.DOCKER_PREP_CACHE_DIR) return path.resolve(env.DOCKER_PREP_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'docker-prep');
}
