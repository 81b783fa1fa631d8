import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readJournalState } from '../../src/core/txn/journal.js';
import { diffSnap, JOBS, MATRIX, pool, readTrace, runCliAsync, snap, Workbench, type TraceLine } from '../helpers/txn-matrix.js';
import { writeScenario } from '../helpers/txn-scenarios.js';

/**
 * Signals and I/O faults injected at every await point and every mutation of a real `pack` (and of
 * `exec`), on the one-package scenario: the exit code says what happened, the message is a clear
 * error (no stack trace), and the repo is exactly as before, with no lock, journal or temp file.
 */
const wb = new Workbench('sigfault');
let tpl: string;
let packTrace: TraceLine[];
let execTrace: TraceLine[];
const counts: string[] = [];
const EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const ERRNOS = ['EACCES', 'ENOSPC', 'EIO'] as const;
const CHILD = ['--', process.execPath, '-e', 'setTimeout(() => {}, 300)'];

beforeAll(async () => {
  tpl = path.join(wb.dir, 'tpl');
  writeScenario(tpl, 'one-package');
  const traceOf = async (args: string[]): Promise<TraceLine[]> => {
    const c = wb.copy(tpl);
    const trace = wb.file('trace');
    const r = await runCliAsync(args, { cwd: c.app, cacheHome: wb.cache, env: { DOCKER_PREP_TEST_TRACE: trace } });
    if (r.status !== 0) throw new Error(`${args[0]} failed: ${r.stderr}`);
    await runCliAsync(['restore'], { cwd: c.app, cacheHome: wb.cache });
    rmSync(c.base, { recursive: true, force: true });
    return readTrace(trace);
  };
  packTrace = await traceOf(['pack']);
  execTrace = await traceOf(['exec', ...CHILD]);
}, 120_000);

afterAll(() => {
  console.log(['signals and faults:', ...counts].join('\n  '));
  wb.cleanup();
});

interface Case {
  args: string[];
  env: Record<string, string>;
  expectExit: number;
  expectText: RegExp;
  /** Run `restore` (without injection) before comparing: the fault outlived the command. */
  thenRestore?: boolean;
}

async function runCase(c: Case): Promise<string | null> {
  const { base, app } = wb.copy(tpl);
  const where = `${c.args[0]} with ${JSON.stringify(c.env)}`;
  try {
    const pre = snap(base);
    const r = await runCliAsync(c.args, { cwd: app, cacheHome: wb.cache, env: c.env });
    if (r.status !== c.expectExit) return `${where}: exit ${r.status ?? r.signal}, expected ${c.expectExit}: ${r.stderr.trim()}`;
    if (!c.expectText.test(r.stderr)) return `${where}: unclear error: ${r.stderr.trim()}`;
    if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) return `${where}: printed a stack trace: ${r.stderr}`;
    if (c.thenRestore) {
      const state = await readJournalState(app);
      if (state.status === 'corrupt') return `${where}: left a corrupt journal`;
      const rr = await runCliAsync(['restore'], { cwd: app, cacheHome: wb.cache });
      if (rr.status !== 0) return `${where}: the next restore exited ${rr.status}: ${rr.stderr.trim()}`;
    }
    const diff = diffSnap(pre, snap(base));
    return diff.length > 0 ? `${where}: tree differs: ${diff.join('; ')}` : null;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

async function matrix(label: string, cases: Case[]): Promise<void> {
  const failures = (await pool(cases, JOBS, runCase)).filter((f): f is string => f !== null);
  counts.push(`${label}: ${cases.length - failures.length}/${cases.length} passed`);
  expect(failures).toEqual([]);
}

const points = (trace: TraceLine[]): string[] => trace.map((t) => `${t.kind}:${t.n}`);

describe('signals', () => {
  test('SIGINT/SIGTERM/SIGHUP at every checkpoint and mutation of pack: exit 130/143/129, tree restored, lock released', async () => {
    const cases = points(packTrace).map((p, i): Case => {
      const sig = SIGNALS[i % SIGNALS.length]!;
      return { args: ['pack'], env: { DOCKER_PREP_TEST_SIGNAL: `${sig}:${p}` }, expectExit: EXIT[sig]!, expectText: new RegExp(`interrupted by ${sig}`) };
    });
    await matrix(`pack: signals at ${packTrace.filter((t) => t.kind === 'checkpoint').length} checkpoints + ${packTrace.filter((t) => t.kind === 'mutation').length} mutations`, cases);
  }, 600_000);

  test('signals at every checkpoint and mutation of exec (pack, child, restore): exit 128+n, tree restored', async () => {
    expect(execTrace.filter((t) => t.kind === 'checkpoint').map((t) => t.op)).toEqual(expect.arrayContaining(['exec:pack', 'exec:spawn']));
    const cases = points(execTrace).map((p, i): Case => {
      const sig = SIGNALS[i % SIGNALS.length]!;
      // While the child runs the signal is forwarded to it; either way docker-prep restores and exits 128+n.
      return { args: ['exec', ...CHILD], env: { DOCKER_PREP_TEST_SIGNAL: `${sig}:${p}` }, expectExit: EXIT[sig]!, expectText: /.*/s };
    });
    await matrix(`exec: signals at ${execTrace.filter((t) => t.kind === 'checkpoint').length} checkpoints + ${execTrace.filter((t) => t.kind === 'mutation').length} mutations`, cases);
  }, 600_000);
});

describe('I/O faults', () => {
  const mutations = (): TraceLine[] => packTrace.filter((t) => t.kind === 'mutation');

  /** Every errno at every mutation in `full`; otherwise the errnos rotate over the mutations (see MATRIX). */
  const faults = (shift: number): [TraceLine, (typeof ERRNOS)[number]][] =>
    mutations().flatMap((m, i) => (MATRIX === 'full' ? ERRNOS.map((e) => [m, e] as [TraceLine, (typeof ERRNOS)[number]]) : [[m, ERRNOS[(i + shift) % ERRNOS.length]!] as [TraceLine, (typeof ERRNOS)[number]]]));

  test('EACCES, ENOSPC and EIO once at every mutation of pack: clear error, exit 1, no partial state', async () => {
    const cases = faults(0).map(([m, e]): Case => ({ args: ['pack'], env: { DOCKER_PREP_TEST_FAULT: `${e}:${m.n}` }, expectExit: 1, expectText: new RegExp(`ERROR \\[IO_${e}\\] could not .+${e}.*\\nhint: `) }));
    await matrix(`pack [${MATRIX}]: one-off faults at ${mutations().length} mutations (${cases.length} cases)`, cases);
  }, 600_000);

  test('EACCES, ENOSPC and EIO persistent from every mutation of pack: clear error listing what is left, the next run recovers', async () => {
    const cases = faults(1).map(([m, e]): Case => ({
      args: ['pack'],
      env: { DOCKER_PREP_TEST_FAULT: `${e}:${m.n}:persistent` },
      expectExit: 1,
      expectText: new RegExp(`ERROR \\[(IO_${e}|ROLLBACK_INCOMPLETE)\\][^]*hint: `),
      thenRestore: true,
    }));
    await matrix(`pack [${MATRIX}]: persistent faults from ${mutations().length} mutations (${cases.length} cases)`, cases);
  }, 600_000);

  test('a persistent fault shared across processes (DOCKER_PREP_TEST_COUNTER) also fails the next restore, which changes nothing; once lifted, restore recovers', async () => {
    const { base, app } = wb.copy(tpl);
    const pre = snap(base);
    const counter = wb.file('counter');
    const env = { DOCKER_PREP_TEST_FAULT: 'ENOSPC:12:persistent', DOCKER_PREP_TEST_COUNTER: counter };
    const p = await runCliAsync(['pack'], { cwd: app, cacheHome: wb.cache, env });
    expect(p.status).toBe(1);
    expect(p.stderr).toContain('[ROLLBACK_INCOMPLETE]');
    expect(p.stderr).toMatch(/could not restore \d+ item\(s\):\n {2}- /);
    const left = snap(base);
    const r = await runCliAsync(['restore'], { cwd: app, cacheHome: wb.cache, env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[RECOVERY_INCOMPLETE]');
    expect(diffSnap(left, snap(base))).toEqual([]);
    const s = await runCliAsync(['status'], { cwd: app, cacheHome: wb.cache });
    expect(s.stdout).toMatch(/interrupted while packing/);
    expect((await runCliAsync(['restore'], { cwd: app, cacheHome: wb.cache })).status).toBe(0);
    expect(diffSnap(pre, snap(base))).toEqual([]);
  }, 120_000);
});
