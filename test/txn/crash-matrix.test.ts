import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readJournalState } from '../../src/core/txn/journal.js';
import { diffSnap, JOBS, killSpecs, MATRIX, pool, readTrace, runCliAsync, snap, Workbench, type TraceLine } from '../helpers/txn-matrix.js';
import { SCENARIOS, writeScenario, type ScenarioName } from '../helpers/txn-scenarios.js';

/**
 * The crash matrix against the real CLI: a pack is SIGKILLed just before, just after and half-way
 * through every one of its mutations (and at every checkpoint), then another command recovers; the
 * whole tree (app and siblings: paths, modes, sha256) must equal the pre-state, with no journal,
 * lock or temp file left. The recovering command rotates through restore, pack, exec and status
 * (which must change nothing and say exactly what the next command will do).
 */
const wb = new Workbench('crash');
const templates = new Map<ScenarioName, { dir: string; trace: TraceLine[] }>();
const counts: string[] = [];

beforeAll(async () => {
  await pool(SCENARIOS, JOBS, async (name) => {
    const dir = path.join(wb.dir, `tpl-${name}`);
    writeScenario(dir, name);
    // Warm the content cache and count the mutations of a clean pack.
    const c = wb.copy(dir);
    const before = snap(c.base);
    const trace = wb.file('trace');
    const p = await runCliAsync(['pack'], { cwd: c.app, cacheHome: wb.cache, env: { DOCKER_PREP_TEST_TRACE: trace } });
    if (p.status !== 0) throw new Error(`${name}: pack failed: ${p.stderr}`);
    const r = await runCliAsync(['restore'], { cwd: c.app, cacheHome: wb.cache });
    if (r.status !== 0 || diffSnap(before, snap(c.base)).length > 0) throw new Error(`${name}: plain pack+restore is not clean: ${r.stderr}`);
    templates.set(name, { dir, trace: readTrace(trace) });
    rmSync(c.base, { recursive: true, force: true });
  });
}, 300_000);

afterAll(() => {
  console.log(['crash matrix:', ...counts].join('\n  '));
  wb.cleanup();
});

type Recovery = 'restore' | 'pack' | 'exec' | 'status';
// Every kill point is recovered by one of these, in turn; restore (the cheapest) every other time.
const RECOVERIES: Recovery[] = ['restore', 'status', 'restore', 'pack', 'restore', 'exec'];


/** Kills `args` at `spec` in a copy of `template`, recovers with `recovery`; returns a failure description or null. */
async function crashCase(template: string, args: string[], spec: string, recovery: Recovery, expected?: Record<string, string>): Promise<string | null> {
  const { base, app } = wb.copy(template);
  const env = { DOCKER_PREP_TEST_KILL: spec };
  const cli = (a: string[], e?: NodeJS.ProcessEnv): ReturnType<typeof runCliAsync> => runCliAsync(a, { cwd: app, cacheHome: wb.cache, env: e });
  const pre = expected ?? snap(base);
  const where = `${args[0]} killed at ${spec}, recovered by ${recovery}`;
  try {
    const killed = await cli(args, env);
    if (killed.signal !== 'SIGKILL') return `${where}: not killed (exit ${killed.status}) ${killed.stderr.trim()}`;
    const afterKill = snap(base);
    const ok = (r: { status: number | null; stderr: string }, allowed: number[], what: string): string | null =>
      allowed.includes(r.status ?? -1) ? null : `${where}: ${what} exited ${r.status}: ${r.stderr.trim()}`;
    let failure: string | null = null;
    switch (recovery) {
      case 'restore':
        failure = ok(await cli(['restore']), [0], 'restore');
        break;
      case 'pack':
      case 'exec': {
        // Both recover first; then they pack (4 if the killed pack had completed), exec also restores.
        const r = await cli(recovery === 'pack' ? ['pack'] : ['exec', '--', process.execPath, '-e', '']);
        failure = ok(r, [0, 4], recovery);
        const s = await readJournalState(app);
        if (!failure && s.status !== 'none' && s.status !== 'active') failure = `${where}: after ${recovery} the journal is ${s.status}`;
        if (!failure && (recovery === 'pack' || r.status === 4)) failure = ok(await cli(['restore']), [0], 'restore');
        break;
      }
      case 'status': {
        const st = await cli(['status', '--json']);
        failure = ok(st, [0], 'status');
        const changed = diffSnap(afterKill, snap(base));
        if (!failure && changed.length > 0) failure = `${where}: status changed the tree: ${changed.join('; ')}`;
        const data = failure ? null : (JSON.parse(st.stdout) as { state: string; lock: { stale: boolean }; recoveryPlan?: { restore: string[]; remove: string[] } });
        if (data && !data.lock.stale) failure = `${where}: status did not report the dead holder's lock`;
        const r = await cli(['restore', '--json']);
        failure ??= ok(r, [0], 'restore');
        if (!failure && data?.state === 'interrupted') {
          // status said exactly what the next command does.
          const rep = JSON.parse(r.stdout) as { restored: string[]; removed: string[] };
          const same = (a: string[], b: string[]): boolean => [...a].sort().join() === [...b].sort().join();
          if (!same(rep.restored, data.recoveryPlan!.restore) || !same(rep.removed, data.recoveryPlan!.remove)) {
            failure = `${where}: status announced ${JSON.stringify(data.recoveryPlan)}, restore did ${JSON.stringify({ restored: rep.restored, removed: rep.removed })}`;
          }
        }
        break;
      }
    }
    if (failure) return failure;
    const diff = diffSnap(pre, snap(base));
    return diff.length > 0 ? `${where}: tree differs from the pre-state: ${diff.join('; ')}` : null;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

describe('crash matrix (SIGKILL)', () => {
  test.each(SCENARIOS)('%s: kill before / after / mid-write of every mutation and at every checkpoint of pack, then recover', async (name) => {
    const tpl = templates.get(name)!;
    // Checkpoints all precede the first mutation (same state as `before:1`): one scenario covers them.
    const specs = killSpecs(tpl.trace, { checkpoints: name === 'one-package' });
    const failures = (await pool(specs, JOBS, (spec, i) => crashCase(tpl.dir, ['pack'], spec, RECOVERIES[i % RECOVERIES.length]!))).filter((f): f is string => f !== null);
    const m = tpl.trace.filter((t) => t.kind === 'mutation');
    counts.push(
      `${name} [${MATRIX}]: ${m.length} mutations (${m.filter((t) => t.op === 'write').length} file writes), ${tpl.trace.length - m.length} checkpoints -> ${specs.length} kill points, ${specs.length - failures.length}/${specs.length} recovered to the pre-state`,
    );
    expect(failures).toEqual([]);
  }, 900_000);

  // The recovery is the same code in every scenario; these pairs cover each kind of entry it undoes
  // (modified manifests and a modified tarball, created tarballs, folders and a pnpm-workspace.yaml)
  // from both states it starts in: a pack that died applying, and an active pack being restored.
  const RECOVERY_CASES: [ScenarioName, 'applying' | 'active'][] = [
    ['one-package', 'applying'],
    ['ten-packages', 'applying'],
    ['existing-out', 'applying'],
    ['own-overrides', 'active'],
  ];
  test.each(RECOVERY_CASES)('%s (%s): kill the recovery itself at every one of its mutations, then recover again', async (name, state) => {
    const tpl = templates.get(name)!;
    const muts = tpl.trace.filter((t) => t.kind === 'mutation');
    const start = wb.copy(tpl.dir);
    const pre = snap(start.base);
    if (state === 'applying') {
      // The largest rollback: everything written, killed just before the journal turns active.
      const k = await runCliAsync(['pack'], { cwd: start.app, cacheHome: wb.cache, env: { DOCKER_PREP_TEST_KILL: `before:${muts[muts.length - 2]!.n}` } });
      expect(k.signal).toBe('SIGKILL');
      expect((await readJournalState(start.app)).status).toBe('interrupted');
    } else {
      expect((await runCliAsync(['pack'], { cwd: start.app, cacheHome: wb.cache })).status).toBe(0);
      expect((await readJournalState(start.app)).status).toBe('active');
    }
    const trace = wb.file('trace');
    const probe = wb.copy(start.base);
    const r = await runCliAsync(['restore'], { cwd: probe.app, cacheHome: wb.cache, env: { DOCKER_PREP_TEST_TRACE: trace } });
    expect(r.status).toBe(0);
    expect(diffSnap(pre, snap(probe.base))).toEqual([]);
    const recTrace = readTrace(trace);
    const specs = killSpecs(recTrace, { checkpoints: false });
    const failures = (await pool(specs, JOBS, (spec) => crashCase(start.base, ['restore'], spec, 'restore', pre))).filter((f): f is string => f !== null);
    counts.push(`${name} [${MATRIX}]: ${state === 'applying' ? 'rollback of an interrupted pack' : 'restore of an active pack'} has ${recTrace.length} mutations -> ${specs.length} kill points, ${specs.length - failures.length}/${specs.length} recovered`);
    expect(failures).toEqual([]);
  }, 900_000);
});
