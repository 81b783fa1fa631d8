import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { git, gitInitCommit } from '../helpers/ecosystem.js';
import { diffSnap, runCliAsync, snap, Workbench } from '../helpers/txn-matrix.js';
import { writeScenario, type ScenarioName } from '../helpers/txn-scenarios.js';

/** The transaction commands through the real CLI: restore, status, --force, drift, corrupt journals, --strip-overrides. */
const wb = new Workbench('clitxn');
afterAll(() => wb.cleanup());

function scenario(name: ScenarioName, opts: { git?: boolean } = {}): { base: string; app: string; cli: (args: string[]) => ReturnType<typeof runCliAsync> } {
  const base = wb.file(name);
  writeScenario(base, name);
  const app = path.join(base, 'app');
  if (opts.git) gitInitCommit(app);
  return { base, app, cli: (args) => runCliAsync(args, { cwd: app, cacheHome: wb.cache }) };
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('restore and status', () => {
  test('restore with nothing active is a no-op (exit 0); status says so; --json gives the same data', async () => {
    const s = scenario('one-package');
    const pre = snap(s.base);
    const r = await s.cli(['restore']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('nothing to restore');
    const j = await s.cli(['restore', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, command: 'restore', action: 'none' });
    const st = await s.cli(['status', '--json']);
    expect(JSON.parse(st.stdout)).toMatchObject({ ok: true, state: 'none', lock: { held: false } });
    expect((await s.cli(['--restore'])).status).toBe(0);
    expect(diffSnap(pre, snap(s.base))).toEqual([]);
  });

  test('pack while active exits 4; pack --force re-packs and keeps the ORIGINAL backups; restore gives the original tree', async () => {
    const s = scenario('ten-packages');
    const pre = snap(s.base);
    const manifest = path.join(s.app, 'api', 'package.json');
    const original = readFileSync(manifest);
    expect((await s.cli(['pack'])).status).toBe(0);
    const packed = snap(s.base);
    const again = await s.cli(['pack']);
    expect(again.status).toBe(4);
    expect(again.stderr).toMatch(/--force/);
    expect(diffSnap(packed, snap(s.base))).toEqual([]);

    // Change a sibling so the forced re-pack really writes something different.
    writeFileSync(path.join(s.base, 'common_plat/packages/p9/dist/index.js'), 'export const p9 = "changed";\n');
    const forced = await s.cli(['pack', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    const journal = JSON.parse(readFileSync(path.join(s.app, '.docker-prep/journal.json'), 'utf8')).journal;
    const entry = journal.entries.find((e: { path: string }) => e.path === 'api/package.json');
    // The classic bug: backing up the already-rewritten manifest as the "original".
    expect(entry.originalSha256).toBe(createHash('sha256').update(original).digest('hex'));
    expect(readFileSync(path.join(s.app, '.docker-prep', entry.backup))).toEqual(original);
    expect(readFileSync(manifest, 'utf8')).toContain('file:../.docker-deps/');
    for (let i = 0; i < 3; i++) {
      // Repeated forced packs must not drift the originals either.
      expect((await s.cli(['pack', '--force'])).status).toBe(0);
    }
    expect((await s.cli(['restore'])).status).toBe(0);
    const post = snap(s.base);
    // Only the sibling file this test edited differs.
    expect(diffSnap(pre, post).map((d) => d.split(':')[0])).toEqual(['common_plat/packages/p9/dist/index.js']);
    expect(readFileSync(manifest)).toEqual(original);
  });

  test('drift: status reports the edited file; restore refuses with exit 1 and asks for --force; --force restores the pre-state', async () => {
    const s = scenario('own-overrides');
    const pre = snap(s.base);
    expect((await s.cli(['pack'])).status).toBe(0);
    const svc = path.join(s.app, 'svc', 'package.json');
    writeFileSync(svc, readFileSync(svc, 'utf8').replace('"private": true', '"private": false'));
    const st = await s.cli(['status', '--json']);
    const data = JSON.parse(st.stdout);
    expect(data.state).toBe('active');
    expect(data.drift).toEqual([{ path: 'svc/package.json', reason: 'edited after the pack' }]);
    expect((await s.cli(['status'])).stdout).toMatch(/svc\/package.json \(manifest\) {2}DRIFT: edited after the pack[^]*restore --force/);
    const edited = snap(s.base);
    const r = await s.cli(['restore']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[RESTORE_DRIFT]');
    expect(r.stderr).toMatch(/hint: .*restore --force/);
    expect(diffSnap(edited, snap(s.base))).toEqual([]);
    const f = await s.cli(['restore', '--force', '--json']);
    expect(f.status).toBe(0);
    expect(JSON.parse(f.stdout).discarded).toEqual([{ path: 'svc/package.json', reason: 'edited after the pack' }]);
    expect(diffSnap(pre, snap(s.base))).toEqual([]);
  });
});

describe('a journal that cannot be trusted', () => {
  test('truncated journal: every command refuses, changes nothing and prints the manual steps; --strip-overrides then restores from git HEAD', async () => {
    const s = scenario('own-overrides', { git: true });
    expect((await s.cli(['pack'])).status).toBe(0);
    const journal = path.join(s.app, '.docker-prep', 'journal.json');
    truncateSync(journal, Math.floor(readFileSync(journal).length / 3));
    const damaged = snap(s.base);
    for (const args of [['restore'], ['restore', '--force'], ['pack'], ['pack', '--force'], ['exec', '--', process.execPath, '-e', '']]) {
      const r = await s.cli(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain('[JOURNAL_CORRUPT]');
      expect(r.stderr, args.join(' ')).toMatch(/hint: docker-prep changed nothing[^]*backups[^]*--strip-overrides[^]*rm -rf/);
      expect(diffSnap(damaged, snap(s.base)), args.join(' ')).toEqual([]);
    }
    const st = await s.cli(['status']);
    expect(st.status).toBe(1);
    expect(st.stdout).toMatch(/cannot be trusted[^]*checksum|not valid JSON/);

    const strip = await s.cli(['restore', '--strip-overrides', '--json']);
    expect(strip.status, strip.stderr).toBe(0);
    const report = JSON.parse(strip.stdout).strip;
    expect(report.journal).toBe('corrupt');
    expect(report.deletedFiles).toEqual(['next/pnpm-workspace.yaml']);
    expect(report.removedTarballs.length).toBe(3);
    // The user's own overrides survive; docker-prep's are gone; the manifests are as in HEAD.
    rmSync(path.join(s.app, '.docker-prep'), { recursive: true });
    expect(git(s.app, 'status', '--porcelain', '--ignored=no')).toBe('');
  });

  test('journal lost entirely (state folder deleted): --strip-overrides restores every manifest from HEAD; uncommitted manifests are refused, nothing written', async () => {
    const s = scenario('ten-packages', { git: true });
    const pre = snap(s.base);
    expect((await s.cli(['pack'])).status).toBe(0);
    rmSync(path.join(s.app, '.docker-prep'), { recursive: true });
    const st = await s.cli(['status']);
    expect(st.stdout).toContain('no pack is active');
    const r = await s.cli(['restore', '--strip-overrides']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/api\/package.json:[^]*dependencies.@gen\/p1: file:..\/.docker-deps\/gen-p1-1.0.1.tgz -> workspace:\*/);
    expect(diffSnap(pre, snap(s.base)).filter((d) => !d.startsWith('app/.git'))).toEqual([]);

    // A manifest git does not know: its original specifiers are unknown, so nothing is written.
    expect((await s.cli(['pack'])).status).toBe(0);
    rmSync(path.join(s.app, '.docker-prep'), { recursive: true });
    git(s.app, 'rm', '-q', '--cached', 'worker/package.json');
    git(s.app, 'commit', '-qm', 'untrack worker');
    const before = snap(s.base);
    const refused = await s.cli(['restore', '--strip-overrides']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('[STRIP_NOT_IN_HEAD]');
    expect(refused.stderr).toContain('worker/package.json');
    expect(diffSnap(before, snap(s.base))).toEqual([]);
  });

  test('orphan state folder and stray temp files from a kill before the journal: status explains, restore cleans', async () => {
    const s = scenario('one-package');
    const pre = snap(s.base);
    const k = await runCliAsync(['pack'], { cwd: s.app, cacheHome: wb.cache, env: { DOCKER_PREP_TEST_KILL: 'midWrite:4' } });
    expect(k.signal).toBe('SIGKILL');
    expect(readdirSync(path.join(s.app, '.docker-prep')).some((n) => n.includes('.dp-tmp-'))).toBe(true);
    const st = await s.cli(['status', '--json']);
    expect(JSON.parse(st.stdout)).toMatchObject({ state: 'orphan', lock: { held: true, stale: true } });
    const r = await s.cli(['restore', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'cleaned' });
    expect(diffSnap(pre, snap(s.base))).toEqual([]);
  });
});
