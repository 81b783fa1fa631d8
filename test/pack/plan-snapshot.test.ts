import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';
import { tempDir } from './pack-helpers.js';

/**
 * The plan snapshot (a warm pack whose inputs are unchanged reuses the last plan) must never change
 * a result: after every kind of change below, a pack through the snapshot's cache gives exactly the
 * tree that a pack with an empty cache gives, and it replays only when nothing changed.
 */
let eco: Ecosystem | undefined;
const cleanups: (() => void)[] = [];
afterEach(() => {
  eco?.cleanup();
  eco = undefined;
  for (const c of cleanups.splice(0)) c();
});

function newCache(): string {
  const c = tempDir('dp-snap-cache-');
  cleanups.push(c.cleanup);
  return c.dir;
}

interface PackJson {
  plan: 'computed' | 'snapshot';
  packages: { name: string; version: string; integrity: string; fromCache: boolean }[];
}

function pack(app: string, cacheHome: string, args: string[] = []): PackJson {
  const r = runCli(['pack', '--json', ...args], { cwd: app, cacheHome });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout) as PackJson;
}

function restore(app: string): void {
  const r = runCli(['restore'], { cwd: app });
  expect(r.status, r.stderr).toBe(0);
}

/** The packed state of the app repo: everything pack wrote, minus docker-prep's own journal. */
function packedTree(app: string): Record<string, string> {
  return snapshotTree(app, { ignore: (rel) => rel.startsWith('.docker-prep/') || rel === '.docker-prep' || rel.startsWith('.git/') });
}

/** Packs with `cache` and with an empty cache; both trees must be equal. Returns the first report. */
function packAndCompare(app: string, cache: string, args: string[] = []): PackJson {
  const report = pack(app, cache, args);
  const viaCache = packedTree(app);
  restore(app);
  pack(app, newCache(), args);
  expect(packedTree(app)).toEqual(viaCache);
  restore(app);
  return report;
}

async function primed(setup?: (e: Ecosystem) => void): Promise<{ eco: Ecosystem; cache: string }> {
  eco = makeEcosystem({ git: true });
  setup?.(eco);
  // Let the copied files age past the racy-stat window, so the first pack may record a snapshot.
  await sleep(250);
  const cache = newCache();
  expect(pack(eco.app, cache).plan).toBe('computed');
  restore(eco.app);
  return { eco, cache };
}

/** What a package entry says about the tarball itself (fromCache differs between a warm and a cold run). */
const tarballs = (r: PackJson): unknown[] => r.packages.map(({ fromCache: _f, ...rest }) => rest);

const pkg = (e: Ecosystem, name: string, ...rest: string[]): string => path.join(e.plat, 'packages', name, ...rest);

describe('plan snapshot', () => {
  it('replays an unchanged plan with a byte-identical result, and restores as exactly as ever', async () => {
    const { eco: e, cache } = await primed();
    const before = snapshotTree(e.base);
    const replayed = pack(e.app, cache);
    expect(replayed.plan).toBe('snapshot');
    const viaSnapshot = packedTree(e.app);
    restore(e.app);
    expect(snapshotTree(e.base)).toEqual(before);
    const fresh = pack(e.app, newCache());
    expect(fresh.plan).toBe('computed');
    expect(packedTree(e.app)).toEqual(viaSnapshot);
    expect(tarballs(fresh)).toEqual(tarballs(replayed));
    restore(e.app);
    // Text mode says so.
    const text = runCli(['pack'], { cwd: e.app, cacheHome: cache });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('its plan was reused');
    restore(e.app);
  });

  it('replays a pnpm 11 plan (overrides in a pnpm-workspace.yaml created in the target) byte for byte', async () => {
    const { eco: e, cache } = await primed((e) => {
      const rootManifest = path.join(e.app, 'package.json');
      writeFileSync(rootManifest, readFileSync(rootManifest, 'utf8').replace(/"packageManager": "pnpm@[^"]+"/, '"packageManager": "pnpm@11.28.11"'));
    });
    const before = snapshotTree(e.base);
    const replayed = pack(e.app, cache);
    expect(replayed.plan).toBe('snapshot');
    const viaSnapshot = packedTree(e.app);
    expect(Object.keys(viaSnapshot)).toContain('backend/pnpm-workspace.yaml');
    restore(e.app);
    expect(snapshotTree(e.base)).toEqual(before);
    pack(e.app, newCache());
    expect(packedTree(e.app)).toEqual(viaSnapshot);
    restore(e.app);
  });

  const changes: [string, (e: Ecosystem) => void][] = [
    ['a packed file changes (same size)', (e) => writeFileSync(pkg(e, 'db', 'dist', 'index.js'), readFileSync(pkg(e, 'db', 'dist', 'index.js'), 'utf8').replace(/\d/, (d) => String((Number(d) + 1) % 10)))],
    ['a file is added to a packed folder', (e) => writeFileSync(pkg(e, 'logger', 'dist', 'extra.js'), 'export const extra = 1;\n')],
    ['a sibling manifest changes its version', (e) => writeFileSync(pkg(e, 'logger', 'package.json'), readFileSync(pkg(e, 'logger', 'package.json'), 'utf8').replace('"version": "1.2.0"', '"version": "1.2.1"'))],
    ['an .npmignore appears in a packed package', (e) => writeFileSync(pkg(e, 'auth', '.npmignore'), 'README.md\n')],
    ['a target manifest gains a dependency on another sibling', (e) => {
      const file = path.join(e.app, 'web', 'package.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"@scope/logger": "workspace:^"', '"@scope/logger": "workspace:^",\n\t\t"@scope/db": "workspace:*"'));
    }],
    ['a new project appears under a workspace glob', (e) => {
      mkdirSync(path.join(e.app, 'tools'));
      writeFileSync(path.join(e.app, 'tools', 'package.json'), JSON.stringify({ name: 'tools', version: '1.0.0', dependencies: { '@scope/config': 'workspace:*' } }, null, 2) + '\n');
      const ws = path.join(e.app, 'pnpm-workspace.yaml');
      writeFileSync(ws, readFileSync(ws, 'utf8').replace('packages:\n', 'packages:\n  - tools\n'));
    }],
    ['the workspace catalog changes', (e) => {
      const ws = path.join(e.app, 'pnpm-workspace.yaml');
      writeFileSync(ws, readFileSync(ws, 'utf8').replace(/ms: .*/, 'ms: ^2.1.2'));
    }],
    ['a sibling package folder is swapped for a symlink to a copy with other contents', (e) => {
      const copy = path.join(e.base, 'logger-copy');
      cpSync(pkg(e, 'logger'), copy, { recursive: true });
      writeFileSync(path.join(copy, 'dist', 'index.js'), 'export const swapped = true;\n');
      rmSync(pkg(e, 'logger'), { recursive: true });
      symlinkSync(copy, pkg(e, 'logger'));
    }],
  ];

  for (const [what, change] of changes) {
    it(`plans again when ${what}, with the same result as an empty cache`, async () => {
      const { eco: e, cache } = await primed();
      change(e);
      const report = packAndCompare(e.app, cache);
      expect(report.plan).toBe('computed');
    });
  }

  it('plans again when only a folder listing inside the repo changes: a new project under an apps/* glob', async () => {
    const { eco: e, cache } = await primed((e) => {
      mkdirSync(path.join(e.app, 'apps'));
      writeFileSync(path.join(e.app, 'apps', '.gitkeep'), '');
      const ws = path.join(e.app, 'pnpm-workspace.yaml');
      writeFileSync(ws, readFileSync(ws, 'utf8').replace('packages:\n', "packages:\n  - 'apps/*'\n"));
    });
    expect(pack(e.app, cache).plan).toBe('snapshot');
    restore(e.app);
    mkdirSync(path.join(e.app, 'apps', 'tool'));
    writeFileSync(path.join(e.app, 'apps', 'tool', 'package.json'), JSON.stringify({ name: 'tool', version: '1.0.0', dependencies: { '@scope/config': 'workspace:*' } }, null, 2) + '\n');
    const report = packAndCompare(e.app, cache);
    expect(report.plan).toBe('computed');
    expect((report as unknown as { targets: { project: string }[] }).targets.map((t) => t.project)).toContain('apps/tool');
  });

  it('plans again when the sibling repo is a symlink switched to another checkout with the same manifests', async () => {
    const checkout = (e: Ecosystem, name: string): string => path.join(e.base, name);
    const { eco: e, cache } = await primed((e) => {
      cpSync(e.plat, checkout(e, 'plat-a'), { recursive: true });
      rmSync(e.plat, { recursive: true });
      symlinkSync(checkout(e, 'plat-a'), e.plat);
    });
    expect(pack(e.app, cache).plan).toBe('snapshot');
    restore(e.app);
    cpSync(checkout(e, 'plat-a'), checkout(e, 'plat-b'), { recursive: true });
    writeFileSync(path.join(checkout(e, 'plat-b'), 'packages', 'logger', 'dist', 'index.js'), 'export const checkout = "b";\n');
    rmSync(e.plat);
    symlinkSync(checkout(e, 'plat-b'), e.plat);
    const report = packAndCompare(e.app, cache);
    expect(report.plan).toBe('computed');
  });

  it('plans again after a touch (stat changed, contents not) and gives the same bytes', async () => {
    const { eco: e, cache } = await primed();
    const replayed = pack(e.app, cache);
    const viaSnapshot = packedTree(e.app);
    restore(e.app);
    const now = new Date();
    utimesSync(pkg(e, 'config', 'dist', 'index.js'), now, now);
    const report = pack(e.app, cache);
    expect(report.plan).toBe('computed');
    expect(packedTree(e.app)).toEqual(viaSnapshot);
    expect(tarballs(report)).toEqual(tarballs(replayed));
    restore(e.app);
  });

  it('keeps one snapshot per option set: --project and --out plan on their own', async () => {
    const { eco: e, cache } = await primed();
    expect(packAndCompare(e.app, cache, ['--project', 'web']).plan).toBe('computed');
    expect(pack(e.app, cache, ['--project', 'web']).plan).toBe('snapshot');
    restore(e.app);
    expect(packAndCompare(e.app, cache, ['--out', 'deps']).plan).toBe('computed');
    expect(pack(e.app, cache).plan).toBe('snapshot');
    restore(e.app);
  });

  it('never replays under --lockfile (it reads more than a snapshot can check)', async () => {
    const { eco: e, cache } = await primed();
    expect(pack(e.app, cache, ['--lockfile']).plan).toBe('computed');
    restore(e.app);
    expect(pack(e.app, cache, ['--lockfile']).plan).toBe('computed');
    restore(e.app);
  });

  it('still checks the tree as it is now: a read-only target is refused on a replay too', async () => {
    const { eco: e, cache } = await primed();
    const manifest = path.join(e.app, 'backend', 'package.json');
    chmodSync(manifest, 0o444);
    const before = snapshotTree(e.base);
    const r = runCli(['pack'], { cwd: e.app, cacheHome: cache });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('FILE_READ_ONLY');
    expect(snapshotTree(e.base)).toEqual(before);
    chmodSync(manifest, 0o644);
  });

  it('falls back to a full plan when the cached tarball it names is gone', async () => {
    const { eco: e, cache } = await primed();
    rmSync(path.join(cache, 'docker-prep', 'pack-v1', 'tarballs'), { recursive: true });
    const report = packAndCompare(e.app, cache);
    expect(report.plan).toBe('computed');
  });
});
