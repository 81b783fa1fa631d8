import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './paths.js';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (built dist/ behind bin/docker-prep.js) in `cwd`, with a cache folder private to this test worker (outside every tree under test). */
export function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; cacheHome?: string; timeoutMs?: number }): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, XDG_CACHE_HOME: opts.cacheHome ?? path.join(os.tmpdir(), `dp-test-cache-${process.pid}`), ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
