import { spawn } from 'node:child_process';
import { simpleGit, type SimpleGit } from 'simple-git';
import { DockerPrepError } from '../errors.js';

/** A git runner bound to one folder and one environment (see gitEnvFor). */
export interface GitClient {
  readonly cwd: string;
  readonly env: Record<string, string>;
  /** Runs `git <args>` and returns stdout; rejects when git fails. */
  raw(args: string[]): Promise<string>;
}

export function createGitClient(cwd: string, env: Record<string, string>): GitClient {
  const git: SimpleGit = simpleGit({
    baseDir: cwd,
    // The environment is the user's own (CI may pass config through GIT_CONFIG_* or GIT_EXEC_PATH, as
    // git does for hooks); gitEnvFor already dropped the editor/pager/ssh settings simple-git objects to.
    unsafe: { allowUnsafeConfigPaths: true, allowUnsafeConfigEnvCount: true },
    // Done when git's output closes. simple-git's default also arms a 50 ms timer at process exit,
    // which keeps every guard run alive that much longer; git's plumbing leaves no child holding the pipe.
    completion: { onClose: true, onExit: false },
  }).env(env);
  return {
    cwd,
    env,
    raw: (args) => git.raw(args),
  };
}

/** Splits NUL-terminated git output (`-z`), dropping the empty tail. */
export function splitZ(out: string): string[] {
  const parts = out.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Reads many objects in one `git cat-file --batch` process. simple-git cannot feed a child's stdin,
 * and one process per blob would cost ~10 ms each on every commit, so this one call uses
 * child_process directly with the same folder and environment.
 */
export function readBlobs(git: GitClient, oids: string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(oids)];
  if (unique.length === 0) return Promise.resolve(new Map());
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch', '--buffer'], { cwd: git.cwd, env: git.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => errChunks.push(c));
    child.on('error', (err) => reject(new DockerPrepError('GIT_FAILED', `could not run git cat-file: ${err.message}`, { kind: 'io', hint: 'make sure git is installed and on PATH' })));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new DockerPrepError('GIT_FAILED', `git cat-file --batch failed (exit ${code}): ${Buffer.concat(errChunks).toString().trim()}`, { kind: 'io', hint: 'check that the repository is not corrupt (`git fsck`)' }));
        return;
      }
      try {
        resolve(parseBatch(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    child.stdin.on('error', () => undefined); // git exiting early surfaces through 'close'
    child.stdin.end(unique.join('\n') + '\n');
  });
}

function parseBatch(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) break;
    const header = buf.toString('utf8', pos, nl).split(' ');
    pos = nl + 1;
    if (header[1] === 'missing' || header.length < 3) continue;
    const size = Number(header[2]);
    out.set(header[0]!, buf.subarray(pos, pos + size));
    pos += size + 1; // contents are followed by a newline
  }
  return out;
}
