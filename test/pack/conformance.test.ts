import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPackages } from '../../src/core/pack/pack-packages.js';
import type { PackedPackage, Workspace } from '../../src/core/types.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { runPnpm } from '../helpers/pnpm.js';
import { linkWorkspaceDeps, projectsNamed, readTestWorkspace, readTgz, tempDir, type RawTarEntry } from './pack-helpers.js';

/**
 * Conformance with real `pnpm pack --config.ignore-scripts=true` (pnpm 10), run in each package of a
 * copy of fixtures/ecosystem's common_plat workspace: the same file list, the same bytes for every
 * file but package.json, and a package.json equal up to the key order inside dependency maps (pnpm
 * 10 writes those in completion order; the top-level order is compared exactly).
 *
 * Two packages are added to the copy to cover what the fixtures do not: @scope/kitchen (every
 * specifier form, publishConfig bin/exports/types, executableFiles, a negated `files` entry) and
 * @scope/plain (no `files`: .npmignore, .gitignore and the always-excluded names decide), and
 * @scope/subdir (publishConfig.directory). The
 * workspace root gets a LICENSE.md, which pnpm adds to packages that ship no license of their own.
 *
 * Deliberate difference: a file executable on disk is written 0755 by docker-prep, 0644 by pnpm 10
 * (which only marks bins and publishConfig.executableFiles).
 */

const KITCHEN = {
  name: '@scope/kitchen',
  version: '3.1.4',
  description: 'every specifier form pnpm publishes',
  main: './src/main.js',
  types: './src/main.d.ts',
  bin: './src/cli.js',
  publishConfig: {
    access: 'public',
    main: './lib/main.js',
    types: './lib/main.d.ts',
    bin: { kitchen: './lib/cli.js' },
    exports: {
      '.': { types: './lib/main.d.ts', default: './lib/main.js' },
      './features/*': './lib/features/*.js',
      './package.json': './package.json',
    },
    executableFiles: ['./lib/run.sh'],
  },
  files: ['lib', '!lib/**/*.map'],
  scripts: { build: 'echo build', prepare: 'echo never', prepublishOnly: 'echo never', postpublish: 'echo never' },
  dependencies: {
    'left-pad': '^1.3.0',
    '@scope/db': 'workspace:../db',
    dbalias: 'workspace:../db',
    lg: 'workspace:@scope/logger@^',
    lg2: 'workspace:@scope/logger@*',
    lg3: 'workspace:@scope/logger@~1.2.0',
    '@scope/logger': 'workspace:@scope/logger@^1.0.0',
    ms: 'catalog:',
    semver: 'catalog:tools',
    'std-path': 'jsr:@std/path@^1.0.0',
  },
  optionalDependencies: { '@scope/config': 'workspace:^1.0.0' },
  devDependencies: { '@scope/auth': 'workspace:*', typescript: '^5.0.0' },
  peerDependencies: { '@scope/auth': 'workspace:>=', '@scope/config': 'workspace:~' },
  pnpm: { overrides: { ms: '2.1.3' } },
  packageManager: 'pnpm@10.34.9',
};

function write(file: string, text: string, mode?: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  if (mode !== undefined) chmodSync(file, mode);
}

function addExtraPackages(plat: string): void {
  const k = path.join(plat, 'packages', 'kitchen');
  write(path.join(k, 'package.json'), JSON.stringify(KITCHEN, null, 2) + '\n');
  write(path.join(k, 'README.md'), '# kitchen\n');
  write(path.join(k, 'lib', 'main.js'), 'export const main = 1;\n');
  write(path.join(k, 'lib', 'main.js.map'), '{}\n');
  write(path.join(k, 'lib', 'main.d.ts'), 'export declare const main: number;\n');
  write(path.join(k, 'lib', 'cli.js'), '#!/usr/bin/env node\nconsole.log("kitchen")\n', 0o644);
  write(path.join(k, 'lib', 'run.sh'), '#!/bin/sh\necho run\n', 0o644);
  write(path.join(k, 'lib', 'tool.sh'), '#!/bin/sh\necho tool\n', 0o755);
  write(path.join(k, 'lib', 'features', 'a.js'), 'export const a = 1;\n');
  write(path.join(k, 'lib', 'features', 'deep', 'b.js'), 'export const b = 2;\n');
  write(path.join(k, 'src', 'main.js'), 'export const main = 0;\n');

  const p = path.join(plat, 'packages', 'plain');
  write(path.join(p, 'package.json'), JSON.stringify({ name: '@scope/plain', version: '0.0.1', main: 'index', scripts: { prepack: 'echo never' } }, null, 2) + '\n');
  write(path.join(p, 'index.js'), 'module.exports = 1;\n');
  write(path.join(p, 'lib', 'util.js'), 'module.exports = 2;\n');
  write(path.join(p, 'test', 'util.test.js'), 'throw 1;\n');
  write(path.join(p, 'coverage', 'lcov.info'), 'x\n');
  write(path.join(p, 'lib', 'coverage.txt'), 'kept: .npmignore wins over .gitignore\n');
  write(path.join(p, '.npmignore'), 'test/\n/coverage\n');
  write(path.join(p, '.gitignore'), 'lib/coverage.txt\n');
  write(path.join(p, '.npmrc'), 'always excluded\n');
  write(path.join(p, 'npm-debug.log'), 'always excluded\n');
  write(path.join(p, 'package-lock.json'), '{}\n');
  write(path.join(p, '.DS_Store'), 'x');
  write(path.join(p, 'CHANGELOG.md'), '# changes\n');
  write(path.join(p, 'docs', 'readme.md'), 'a readme in any folder is always included\n');

  // publishConfig.directory: pnpm packs the sub-folder, with the manifest found there.
  const d = path.join(plat, 'packages', 'subdir');
  const sub = { name: '@scope/subdir', version: '1.0.0', dependencies: { '@scope/logger': 'workspace:^' }, publishConfig: { directory: 'out' } };
  write(path.join(d, 'package.json'), JSON.stringify(sub, null, 2) + '\n');
  write(path.join(d, 'src', 'index.js'), 'not shipped\n');
  write(path.join(d, 'out', 'package.json'), JSON.stringify({ ...sub, main: 'index.js', publishConfig: { access: 'public' } }, null, 2) + '\n');
  write(path.join(d, 'out', 'index.js'), 'module.exports = 1;\n');

  write(path.join(plat, 'LICENSE.md'), 'MIT, the workspace license\n');
  appendFileSync(path.join(plat, 'pnpm-workspace.yaml'), 'catalogs:\n  tools:\n    semver: ^7.6.0\n');
}

interface Side {
  entries: RawTarEntry[];
  manifestText: string;
}

describe('conformance with pnpm 10 `pnpm pack --config.ignore-scripts=true`', () => {
  let eco: Ecosystem;
  let ws: Workspace;
  const ours = new Map<string, Side & { packed: PackedPackage }>();
  const theirs = new Map<string, Side>();
  const cache = tempDir('dp-pack-cache-');
  const names = ['@scope/auth', '@scope/config', '@scope/db', '@scope/kitchen', '@scope/logger', '@scope/plain', '@scope/subdir'];

  beforeAll(async () => {
    eco = makeEcosystem();
    addExtraPackages(eco.plat);
    ws = await readTestWorkspace(eco.plat);
    linkWorkspaceDeps(ws);

    const dest = path.join(eco.base, 'pnpm-out');
    for (const name of names) {
      const dir = ws.byName.get(name)!.dir;
      const r = runPnpm(10, ['pack', '--pack-destination', dest, '--config.ignore-scripts=true'], { cwd: dir });
      if (r.status !== 0) throw new Error(`pnpm pack failed in ${dir}:\n${r.stdout}\n${r.stderr}`);
    }
    for (const file of readdirSync(dest)) {
      const entries = readTgz(readFileSync(path.join(dest, file)));
      const pj = entries.find((e) => e.name === 'package/package.json')!;
      const manifest = JSON.parse(pj.data.toString('utf8')) as { name: string };
      theirs.set(manifest.name, { entries, manifestText: pj.data.toString('utf8') });
    }

    const packed = await packPackages(projectsNamed(ws, '@scope/', ['@scope/unbuilt']), ws, { cacheDir: cache.dir });
    for (const p of packed) {
      const entries = readTgz(readFileSync(p.cachePath));
      ours.set(p.name, { packed: p, entries, manifestText: entries.find((e) => e.name === 'package/package.json')!.data.toString('utf8') });
    }
  });

  afterAll(() => {
    eco?.cleanup();
    cache.cleanup();
  });

  it('packs the same packages, under pnpm\'s tarball names', () => {
    expect([...theirs.keys()].sort()).toEqual(names);
    expect([...ours.keys()]).toEqual(names);
    expect(ours.get('@scope/db')!.packed.fileName).toBe('scope-db-2.0.1.tgz');
    expect(readdirSync(path.join(eco.base, 'pnpm-out')).sort()).toEqual([...ours.values()].map((o) => o.packed.fileName).sort());
  });

  for (const name of names) {
    describe(name, () => {
      it('has the same file list and the same file bytes', () => {
        const mine = ours.get(name)!;
        const pn = theirs.get(name)!;
        expect(mine.entries.map((e) => e.name)).toEqual(pn.entries.map((e) => e.name).sort());
        expect(mine.packed.files.map((f) => `package/${f.path}`)).toEqual(mine.entries.map((e) => e.name));
        const pnByName = new Map(pn.entries.map((e) => [e.name, e]));
        for (const e of mine.entries) {
          if (e.name === 'package/package.json') continue;
          expect(e.data.equals(pnByName.get(e.name)!.data), e.name).toBe(true);
        }
      });

      it('writes a manifest equal to pnpm\'s up to the key order of dependency maps', () => {
        const mine = JSON.parse(ours.get(name)!.manifestText) as Record<string, unknown>;
        const pn = JSON.parse(theirs.get(name)!.manifestText) as Record<string, unknown>;
        expect(mine).toEqual(pn);
        expect(Object.keys(mine)).toEqual(Object.keys(pn));
        expect(ours.get(name)!.packed.manifest).toEqual(pn);
        // pnpm's formatting: two-space JSON, no final newline.
        expect(ours.get(name)!.manifestText).toBe(JSON.stringify(mine, null, 2));
      });

      it('uses pnpm\'s modes, except that files executable on disk stay executable', () => {
        const mine = ours.get(name)!;
        const pnByName = new Map(theirs.get(name)!.entries.map((e) => [e.name, e]));
        const dir = ws.byName.get(name)!.dir;
        for (const e of mine.entries) {
          const rel = e.name.slice('package/'.length);
          // In the package, in its publishConfig.directory, or the workspace's LICENSE.md.
          const source = [path.join(dir, rel), path.join(dir, 'out', rel), path.join(eco.plat, rel)].find((f) => existsSync(f))!;
          const onDisk = rel === 'package.json' ? 0 : statSync(source).mode;
          const expected = (onDisk & 0o111) !== 0 ? 0o755 : pnByName.get(e.name)!.mode;
          expect(e.mode.toString(8), e.name).toBe(expected.toString(8));
        }
      });
    });
  }

  it('covers the cases it claims to: conversions, publishConfig, workspace LICENSE, ignore rules', () => {
    const kitchen = JSON.parse(ours.get('@scope/kitchen')!.manifestText) as Record<string, Record<string, string>>;
    expect(kitchen.dependencies).toEqual({
      'left-pad': '^1.3.0',
      '@scope/db': '2.0.1',
      dbalias: 'npm:@scope/db@2.0.1',
      lg: 'npm:@scope/logger@^1.2.0',
      lg2: 'npm:@scope/logger@1.2.0',
      lg3: 'npm:@scope/logger@~1.2.0',
      '@scope/logger': 'npm:@scope/logger@^1.0.0',
      ms: '^2.1.3',
      semver: '^7.6.0',
      'std-path': 'npm:@jsr/std__path@^1.0.0',
    });
    expect(kitchen.peerDependencies).toEqual({ '@scope/auth': '>=0.3.0', '@scope/config': '~1.0.0' });
    expect(kitchen.main).toBe('./lib/main.js');
    expect(kitchen.bin).toEqual({ kitchen: './lib/cli.js' });
    expect(kitchen.publishConfig).toEqual({ access: 'public', executableFiles: ['./lib/run.sh'] });
    expect(kitchen.scripts).toEqual({ build: 'echo build' });
    expect(kitchen.pnpm).toBeUndefined();
    expect(kitchen.packageManager).toBeUndefined();

    const modes = Object.fromEntries(ours.get('@scope/kitchen')!.entries.map((e) => [e.name, e.mode.toString(8)]));
    expect(modes).toMatchObject({ 'package/lib/cli.js': '755', 'package/lib/run.sh': '755', 'package/lib/tool.sh': '755', 'package/lib/main.js': '644' });
    expect(modes['package/lib/main.js.map']).toBeUndefined();
    expect(modes['package/LICENSE.md']).toBe('644');
    // pnpm agrees on the bins, and differs (deliberately) on the file that is only executable on disk.
    const pnModes = Object.fromEntries(theirs.get('@scope/kitchen')!.entries.map((e) => [e.name, e.mode.toString(8)]));
    expect(pnModes).toMatchObject({ 'package/lib/cli.js': '755', 'package/lib/run.sh': '755', 'package/lib/tool.sh': '644' });

    expect(ours.get('@scope/plain')!.entries.map((e) => e.name)).toEqual([
      'package/CHANGELOG.md',
      'package/LICENSE.md',
      'package/docs/readme.md',
      'package/index.js',
      'package/lib/coverage.txt',
      'package/lib/util.js',
      'package/package.json',
    ]);
    expect(ours.get('@scope/subdir')!.entries.map((e) => e.name)).toEqual(['package/LICENSE.md', 'package/index.js', 'package/package.json']);
    // logger ships its own LICENSE, so the workspace's is not added.
    expect(ours.get('@scope/logger')!.entries.map((e) => e.name)).not.toContain('package/LICENSE.md');
    expect(JSON.parse(ours.get('@scope/auth')!.manifestText).dependencies).toEqual({
      '@scope/db': '~2.0.1',
      '@scope/logger': '1.2.0',
      'scope-log': 'npm:@scope/logger@^1.0.0',
    });
  });

  it('gives the same tarballs when the packages are reached through the app workspace', async () => {
    const appWs = await readTestWorkspace(eco.app);
    const fromApp = await packPackages(projectsNamed(appWs, '@scope/'), appWs, { cacheDir: cache.dir });
    expect(fromApp.map((p) => p.name)).toEqual(names);
    for (const p of fromApp) expect(p.sha256, p.name).toBe(ours.get(p.name)!.packed.sha256);
  });
});
