import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './paths.js';
import { snapshotTree } from './tree-snapshot.js';

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI asynchronously (so a matrix can keep both cores busy). */
export function runCliAsync(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; cacheHome: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, XDG_CACHE_HOME: opts.cacheHome, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Runs `fn` over `items` with at most `jobs` at a time; returns results in order. */
export async function pool<T, R>(items: T[], jobs: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

// One more than the cores: each case waits on fsync and process start-up part of the time.
export const JOBS = Number(process.env.DOCKER_PREP_TEST_JOBS) || os.cpus().length + 1;

export interface TraceLine {
  kind: 'mutation' | 'checkpoint';
  n: number;
  op: string;
  path: string;
}

export function readTrace(file: string): TraceLine[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [kind, n, op, ...rest] = l.split(' ');
      return { kind: kind as TraceLine['kind'], n: Number(n), op: op!, path: rest.join(' ') };
    });
}

/** A scratch area: templates are copied into fresh case folders. */
export class Workbench {
  readonly dir: string;
  readonly cache: string;
  private seq = 0;
  constructor(label: string) {
    this.dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), `dp-${label}-`)));
    this.cache = path.join(this.dir, '_cache');
    mkdirSync(this.cache);
  }
  /** Copies a template tree (with `app/` inside) into a new case folder. */
  copy(template: string): { base: string; app: string } {
    const base = path.join(this.dir, `case-${++this.seq}`);
    cpSync(template, base, { recursive: true, verbatimSymlinks: true });
    return { base, app: path.join(base, 'app') };
  }
  file(name: string): string {
    return path.join(this.dir, `${name}-${++this.seq}`);
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const snap = (base: string): Record<string, string> => snapshotTree(base);

/** The first differences between two snapshots, for failure messages. */
export function diffSnap(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => a[k] !== b[k]).slice(0, 8).map((k) => `${k}: ${a[k] ?? '(absent)'} -> ${b[k] ?? '(absent)'}`);
}

/**
 * How dense the crash/fault matrices are (DOCKER_PREP_TEST_MATRIX):
 * - `full`: literally every point: SIGKILL before, after and mid-write of every mutation, at every
 *   checkpoint; every errno both once and persistent at every mutation.
 * - `distinct` (default): every distinct crash state. Nothing durable happens between the end of
 *   mutation N and the start of N+1 (only reads and an abort check), so "after N" leaves exactly
 *   the disk state of "before N+1": only the "after" of the last mutation is distinct. Checkpoints
 *   (before the first mutation) all leave the same state as "before 1", so they run in one
 *   scenario only. Errnos rotate over the mutations (each mutation gets a one-off and a persistent
 *   fault; each errno hits every third mutation): the code path does not depend on the errno.
 * - `quick`: every third point of `distinct`, for local iteration.
 */
export type MatrixMode = 'full' | 'distinct' | 'quick';
export const MATRIX: MatrixMode = ((): MatrixMode => {
  const v = process.env.DOCKER_PREP_TEST_MATRIX;
  return v === 'full' || v === 'quick' ? v : 'distinct';
})();

export function killSpecs(trace: TraceLine[], opts: { checkpoints: boolean }): string[] {
  const specs: string[] = [];
  const muts = trace.filter((t) => t.kind === 'mutation');
  const last = muts[muts.length - 1];
  for (const t of trace) {
    if (t.kind === 'checkpoint') {
      if (MATRIX === 'full' || opts.checkpoints) specs.push(`checkpoint:${t.n}`);
      continue;
    }
    specs.push(`before:${t.n}`);
    if (MATRIX === 'full' || t === last) specs.push(`after:${t.n}`);
    if (t.op === 'write') specs.push(`midWrite:${t.n}`);
  }
  return MATRIX === 'quick' ? specs.filter((_s, i) => i % 3 === 0) : specs;
}
