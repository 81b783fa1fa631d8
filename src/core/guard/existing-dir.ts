import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError } from '../errors.js';

/** `dir` resolved, or a usage error naming it (simple-git refuses a missing folder with a stack trace). */
export async function existingDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const st = await fsp.stat(abs).catch(() => null);
  if (st === null || !st.isDirectory()) {
    throw new DockerPrepError('NO_SUCH_DIR', `${abs} is not a folder`, { kind: 'usage', hint: 'check the --cwd value' });
  }
  return abs;
}
