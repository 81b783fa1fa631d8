import { readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packPackages } from '../../src/core/pack/pack-packages.js';
import type { PackedPackage, Workspace } from '../../src/core/types.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { projectsNamed, readTestWorkspace, sha256, tempDir } from './pack-helpers.js';

const byName = (packed: PackedPackage[]): Record<string, PackedPackage> => Object.fromEntries(packed.map((p) => [p.name, p]));
const fromCache = (packed: PackedPackage[]): Record<string, boolean> => Object.fromEntries(packed.map((p) => [p.name, p.fromCache]));
const ls = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

describe('content-hash cache', () => {
  let eco: Ecosystem;
  let ws: Workspace;
  let cache: { dir: string; cleanup(): void };
  let root: string;
  const pack = (w: Workspace = ws, extra: { onProgress?: (e: { done: number; total: number; name: string }) => void } = {}) =>
    packPackages(projectsNamed(w, '@scope/'), w, { cacheDir: cache.dir, ...extra });

  beforeEach(async () => {
    eco = makeEcosystem();
    ws = await readTestWorkspace(eco.app);
    cache = tempDir('dp-cache-');
    root = path.join(cache.dir, 'pack-v1');
    // Let the copied files age past the racy-stat window so the first run records fingerprints.
    await sleep(250);
  });
  afterEach(() => {
    eco.cleanup();
    cache.cleanup();
  });

  it('serves a warm run from the stat fingerprints alone, with identical bytes', async () => {
    const cold = await pack();
    expect(Object.values(fromCache(cold))).toEqual([false, false, false, false]);
    expect(ls(path.join(root, 'fingerprints'))).toHaveLength(4);
    expect(ls(path.join(root, 'tarballs'))).toEqual(cold.map((p) => `${p.sha256}.tgz`).sort());
    const bytes = cold.map((p) => readFileSync(p.cachePath));

    // Without the content index, only the fingerprints can answer.
    rmSync(path.join(root, 'contents'), { recursive: true });
    const warm = await pack();
    expect(Object.values(fromCache(warm))).toEqual([true, true, true, true]);
    expect(warm.map((p) => p.sha256)).toEqual(cold.map((p) => p.sha256));
    warm.forEach((p, i) => expect(readFileSync(p.cachePath).equals(bytes[i]!)).toBe(true));
    expect(warm.map((p) => [p.files, p.unpackedSize, p.integrity, p.manifest])).toEqual(cold.map((p) => [p.files, p.unpackedSize, p.integrity, p.manifest]));
  });

  it('finds a touched but identical package by content, without re-packing', async () => {
    const cold = await pack();
    const now = new Date();
    utimesSync(path.join(eco.plat, 'packages', 'db', 'dist', 'index.js'), now, now);
    const warm = await pack();
    expect(fromCache(warm)).toEqual({ '@scope/auth': true, '@scope/config': true, '@scope/db': true, '@scope/logger': true });
    expect(byName(warm)['@scope/db']!.sha256).toBe(byName(cold)['@scope/db']!.sha256);
  });

  it('re-packs exactly what a content change touches', async () => {
    const cold = byName(await pack());
    writeFileSync(path.join(eco.plat, 'packages', 'db', 'dist', 'index.js'), 'export const db = 2;\n');
    const afterFile = await pack();
    expect(fromCache(afterFile)).toEqual({ '@scope/auth': true, '@scope/config': true, '@scope/db': false, '@scope/logger': true });
    expect(byName(afterFile)['@scope/db']!.sha256).not.toBe(cold['@scope/db']!.sha256);

    // A new logger version changes logger's manifest and the published ranges of everything that depends on it.
    const manifestPath = path.join(eco.plat, 'packages', 'logger', 'package.json');
    writeFileSync(manifestPath, readFileSync(manifestPath, 'utf8').replace('"version": "1.2.0"', '"version": "1.2.1"'));
    const bumped = await pack(await readTestWorkspace(eco.app));
    expect(fromCache(bumped)).toEqual({ '@scope/auth': false, '@scope/config': false, '@scope/db': false, '@scope/logger': false });
    expect(byName(bumped)['@scope/config']!.manifest.dependencies).toEqual({ '@scope/logger': '~1.2.1' });
    expect(byName(bumped)['@scope/logger']!.fileName).toBe('scope-logger-1.2.1.tgz');
  });

  it('re-lists a package when a file appears, an ignore file is edited in place or the workspace gains a LICENSE', async () => {
    const dist = path.join(eco.plat, 'packages', 'logger', 'dist');
    writeFileSync(path.join(dist, '.npmignore'), '*.map\n');
    await sleep(250);
    const names = async (name: string): Promise<string[]> => {
      const p = byName(await pack())[name]!;
      return p.files.map((f) => f.path);
    };
    expect(await names('@scope/logger')).toEqual(['README.md', 'LICENSE', 'dist/index.d.ts', 'dist/index.js', 'package.json'].sort());
    expect(ls(path.join(root, 'listings'))).toHaveLength(4);
    expect(await names('@scope/logger')).not.toContain('dist/index.js.map'); // served from the listing

    writeFileSync(path.join(dist, 'extra.js'), 'export {};\n');
    expect(await names('@scope/logger')).toContain('dist/extra.js');

    writeFileSync(path.join(dist, '.npmignore'), '# nothing ignored\n'); // same inode, folder untouched
    expect(await names('@scope/logger')).toContain('dist/index.js.map');

    expect(await names('@scope/db')).not.toContain('LICENSE');
    writeFileSync(path.join(eco.plat, 'LICENSE'), 'MIT\n');
    expect(await names('@scope/db')).toContain('LICENSE');
  });

  it('re-packs a cached tarball that was truncated, to the same bytes', async () => {
    const cold = await pack();
    const db = byName(cold)['@scope/db']!;
    truncateSync(db.cachePath, 10);
    const again = byName(await pack());
    expect(again['@scope/db']!.fromCache).toBe(false);
    expect(sha256(readFileSync(again['@scope/db']!.cachePath))).toBe(db.sha256);
    expect(again['@scope/auth']!.fromCache).toBe(true);
  });

  it('lets concurrent runs share one cold cache without torn or leftover files', async () => {
    const runs = await Promise.all([pack(), pack(), pack()]);
    for (const run of runs) expect(run.map((p) => p.sha256)).toEqual(runs[0]!.map((p) => p.sha256));
    for (const p of runs[0]!) expect(sha256(readFileSync(p.cachePath))).toBe(p.sha256);
    const all = ['tarballs', 'contents', 'fingerprints'].flatMap((d) => ls(path.join(root, d)));
    expect(all.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(ls(path.join(root, 'tarballs'))).toHaveLength(4);
  });

  it('reports progress once per package', async () => {
    const events: { done: number; total: number; name: string }[] = [];
    await pack(ws, { onProgress: (e) => events.push(e) });
    expect(events.map((e) => e.done)).toEqual([1, 2, 3, 4]);
    expect(events.every((e) => e.total === 4)).toBe(true);
    expect(events.map((e) => e.name).sort()).toEqual(['@scope/auth', '@scope/config', '@scope/db', '@scope/logger']);
  });
});
