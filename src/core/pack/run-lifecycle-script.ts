import { spawn } from 'node:child_process';
import path from 'node:path';
import { DockerPrepError } from '../errors.js';
import type { Manifest } from '../types.js';

/** The scripts `pnpm pack` runs around packing, in order: before listing files, and after the tarball exists. */
export const BEFORE_PACK_SCRIPTS = ['prepack', 'prepare'] as const;
export const AFTER_PACK_SCRIPTS = ['postpack'] as const;

const OUTPUT_TAIL_BYTES = 16 * 1024;

/**
 * Runs one lifecycle script of a package if it has one, the way pnpm runs it for `pnpm pack`: in the
 * package folder, through the system shell (`sh -c` on POSIX, `cmd` on Windows), with the
 * `node_modules/.bin` folders of the package and its parents on PATH and the usual `npm_lifecycle_*` /
 * `npm_package_*` variables. The output is captured, not inherited (stdout may carry `--json`), and
 * shown only when the script fails. Returns whether a script ran.
 */
export async function runLifecycleScript(
  dir: string,
  manifest: Manifest,
  stage: string,
  opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal | undefined },
): Promise<boolean> {
  const script = manifest.scripts?.[stage];
  if (typeof script !== 'string' || script === '') return false;
  const name = manifest.name ?? path.basename(dir);

  const env: NodeJS.ProcessEnv = {
    ...opts.env,
    PATH: [...binDirs(dir), opts.env.PATH ?? opts.env.Path].filter(Boolean).join(path.delimiter),
    npm_lifecycle_event: stage,
    npm_lifecycle_script: script,
    npm_package_name: name,
    npm_package_version: manifest.version ?? '',
    npm_package_json: path.join(dir, 'package.json'),
  };

  let tail = Buffer.alloc(0);
  const keep = (chunk: Buffer): void => {
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > OUTPUT_TAIL_BYTES) tail = tail.subarray(tail.length - OUTPUT_TAIL_BYTES);
  };

  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    const child = spawn(script, { cwd: dir, env, shell: true, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, windowsHide: true });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });

  if (opts.signal?.aborted) throw opts.signal.reason;
  if (result.code !== 0) {
    const how = result.error ? `could not start: ${result.error.message}` : result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    const output = tail.toString('utf8').trimEnd();
    throw new DockerPrepError('LIFECYCLE_SCRIPT_FAILED', `${name}: the ${stage} script (${script}) ${how}${output ? `\n${indent(output)}` : ''}`, {
      kind: 'check',
      hint: `fix the ${stage} script of ${name}, or pack without --scripts (the default runs no lifecycle scripts)`,
      details: { package: name, stage, script, exitCode: result.code },
    });
  }
  return true;
}

/** `<dir>/node_modules/.bin` and the same folder in every parent, nearest first. */
function binDirs(dir: string): string[] {
  const dirs: string[] = [];
  let current = dir;
  for (;;) {
    dirs.push(path.join(current, 'node_modules', '.bin'));
    const parent = path.dirname(current);
    if (parent === current) return dirs;
    current = parent;
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
