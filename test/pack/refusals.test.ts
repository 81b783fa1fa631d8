import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerPrepError } from '../../src/core/errors.js';
import { findMissingEntryPoints } from '../../src/core/pack/entry-points.js';
import { exportManifest } from '../../src/core/pack/export-manifest.js';
import { packPackages } from '../../src/core/pack/pack-packages.js';
import { findSecretFiles } from '../../src/core/pack/secret-files.js';
import type { Manifest, Workspace } from '../../src/core/types.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { readTestWorkspace, readTgz, tempDir } from './pack-helpers.js';

async function refusal(p: Promise<unknown>): Promise<DockerPrepError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DockerPrepError);
  return err as DockerPrepError;
}

describe('refusals before anything is written', () => {
  let eco: Ecosystem;
  let ws: Workspace;
  let cache: { dir: string; cleanup(): void };
  let cacheDir: string;

  beforeEach(async () => {
    eco = makeEcosystem();
    ws = await readTestWorkspace(eco.plat); // common_plat's workspace includes @scope/unbuilt
    cache = tempDir('dp-cache-ref-');
    cacheDir = path.join(cache.dir, 'docker-prep');
  });
  afterEach(() => {
    eco.cleanup();
    cache.cleanup();
  });

  it('refuses the unbuilt package, naming every missing entry point and how to build it', async () => {
    const err = await refusal(packPackages([ws.byName.get('@scope/unbuilt')!], ws, { cacheDir }));
    expect(err.code).toBe('MISSING_ENTRY_POINT');
    expect(err.kind).toBe('config');
    expect(err.problems.map((p) => [p.code, p.path])).toEqual([
      ['MISSING_ENTRY_POINT', 'packages/unbuilt/dist/index.js'],
      ['MISSING_ENTRY_POINT', 'packages/unbuilt/dist/index.d.ts'],
    ]);
    expect(err.problems[0]!.message).toContain('@scope/unbuilt');
    expect(err.problems[0]!.message).toContain('main "./dist/index.js"');
    expect(err.problems[1]!.message).toContain('types "./dist/index.d.ts"');
    expect(err.hint).toBe('build the package first, e.g. `pnpm --filter @scope/unbuilt build`');
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('refuses a .env inside dist/, and packs it with allowSecrets', async () => {
    writeFileSync(path.join(eco.plat, 'packages', 'logger', 'dist', '.env'), 'TOKEN=x\n');
    const logger = ws.byName.get('@scope/logger')!;
    const err = await refusal(packPackages([logger], ws, { cacheDir }));
    expect(err.code).toBe('SECRET_FILE');
    expect(err.problems).toHaveLength(1); // the package root's .env is outside "files": not packed, not reported
    expect(err.problems[0]!.path).toBe('packages/logger/dist/.env');
    expect(err.problems[0]!.message).toContain('dist/.env');
    expect(err.hint).toContain('--allow-secrets');
    expect(existsSync(cacheDir)).toBe(false);

    const [packed] = await packPackages([logger], ws, { cacheDir, allowSecrets: true });
    expect(readTgz(readFileSync(packed!.cachePath)).map((e) => e.name)).toContain('package/dist/.env');
  });

  it('reports every problem of every package at once', async () => {
    writeFileSync(path.join(eco.plat, 'packages', 'logger', 'dist', '.env.production'), 'TOKEN=x\n');
    writeFileSync(path.join(eco.plat, 'packages', 'logger', 'dist', 'server.pem'), 'KEY\n');
    rmSync(path.join(eco.plat, 'packages', 'db', 'dist', 'index.d.ts'));
    rmSync(path.join(eco.plat, 'packages', 'auth', 'bin', 'auth-token.js'));
    const all = ['@scope/auth', '@scope/config', '@scope/db', '@scope/logger', '@scope/unbuilt'].map((n) => ws.byName.get(n)!);
    const err = await refusal(packPackages(all, ws, { cacheDir, concurrency: 2 }));
    expect(err.problems.map((p) => `${p.code} ${p.path}`)).toEqual([
      'MISSING_ENTRY_POINT packages/auth/bin/auth-token.js',
      'MISSING_ENTRY_POINT packages/db/dist/index.d.ts',
      'SECRET_FILE packages/logger/dist/.env.production',
      'SECRET_FILE packages/logger/dist/server.pem',
      'MISSING_ENTRY_POINT packages/unbuilt/dist/index.js',
      'MISSING_ENTRY_POINT packages/unbuilt/dist/index.d.ts',
    ]);
    expect(err.problems[0]!.message).toContain('bin.auth-token');
    expect(err.problems[1]!.message).toContain('exports["."]["types"]');
    expect(err.message).toContain('6 problems found');
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('tells an entry point left out by "files" apart from one never built', async () => {
    const db = path.join(eco.plat, 'packages', 'db');
    const manifestPath = path.join(db, 'package.json');
    writeFileSync(manifestPath, readFileSync(manifestPath, 'utf8').replace('"!dist/**/*.test.js"', '"!dist/index.js"'));
    const fresh = await readTestWorkspace(eco.plat);
    const err = await refusal(packPackages([fresh.byName.get('@scope/db')!], fresh, { cacheDir }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.message).toContain('exists, but "files" or .npmignore exclude it');
    expect(err.problems[0]!.hint).toContain('add dist/index.js to "files"');
  });

  it('returns unknown catalog entries and workspace packages as problems, and refuses them', async () => {
    const auth = ws.byName.get('@scope/auth')!;
    const broken: Manifest = {
      ...auth.manifest,
      dependencies: { ms: 'catalog:nope', gone: 'workspace:*', loop: 'catalog:', '@scope/db': 'workspace:~' },
    };
    const project = { ...auth, manifest: broken };
    const wsLoop = { ...ws, catalogs: { ...ws.catalogs, default: { ...ws.catalogs.default, loop: 'catalog:' } } };
    const { manifest, problems } = exportManifest(project, wsLoop);
    expect(problems.map((p) => p.code)).toEqual(['UNKNOWN_CATALOG_ENTRY', 'UNKNOWN_WORKSPACE_PACKAGE', 'INVALID_CATALOG_ENTRY']);
    expect(problems[0]!.message).toContain('catalog "nope"');
    expect(problems[0]!.path).toBe('packages/auth/package.json');
    expect(manifest.dependencies).toEqual({ ms: 'catalog:nope', gone: 'workspace:*', loop: 'catalog:', '@scope/db': '~2.0.1' });
    const err = await refusal(packPackages([project], wsLoop, { cacheDir }));
    expect(err.problems.map((p) => p.code)).toEqual(['UNKNOWN_CATALOG_ENTRY', 'UNKNOWN_WORKSPACE_PACKAGE', 'INVALID_CATALOG_ENTRY']);
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('stops before any work when the signal is already aborted', async () => {
    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(packPackages([ws.byName.get('@scope/db')!], ws, { cacheDir, signal: ac.signal })).rejects.toBe(reason);
    expect(existsSync(cacheDir)).toBe(false);
  });
});

describe('entry points and secrets, as data', () => {
  const files = new Set(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/feat/a.js', 'dist/feat/b/c.mjs', 'bin/cli', 'lib/index.js']);

  it('resolves main, module and types as Node and TypeScript would', () => {
    const m: Manifest = { name: 'x', main: 'dist/index', module: './lib', types: 'dist/index.js', typings: './dist/missing.d.ts' };
    expect(findMissingEntryPoints(m, files)).toEqual([{ field: 'typings', target: './dist/missing.d.ts', path: 'dist/missing.d.ts' }]);
  });

  it('walks exports through conditions, subpaths, arrays and patterns', () => {
    const m: Manifest = {
      name: 'x',
      exports: {
        '.': { node: { import: './dist/index.js', require: './dist/index.cjs' }, default: './dist/index.js' },
        './feat/*': './dist/feat/*.js',
        './deep/*': ['./dist/feat/*.mjs'],
        './none/*': './dist/none/*.js',
        './internal/*': null,
        './dir/': './dist/feat/',
        './package.json': './package.json',
        './outside': '../elsewhere.js',
      },
    };
    expect(findMissingEntryPoints(m, files).map((x) => [x.field, x.path])).toEqual([
      ['exports["."]["node"]["require"]', 'dist/index.cjs'],
      ['exports["./none/*"]', 'dist/none/*.js'],
      ['exports["./outside"]', null],
    ]);
    expect(findMissingEntryPoints({ exports: './dist/index.js' }, files)).toEqual([]);
    expect(findMissingEntryPoints({ exports: './dist/nope.js' }, files)).toHaveLength(1);
  });

  it('checks the bins pnpm would link', () => {
    expect(findMissingEntryPoints({ name: '@s/tool', bin: './bin/cli' }, files)).toEqual([]);
    expect(findMissingEntryPoints({ name: 'x', bin: { a: 'bin/cli', b: './bin/b.js', '../bad': 'bin/nope' } }, files)).toEqual([
      { field: 'bin.b', target: './bin/b.js', path: 'bin/b.js' },
    ]);
  });

  it('finds secret-looking names anywhere in the package', () => {
    expect(
      findSecretFiles(['.env', 'dist/.env.local', 'a/server.PEM', 'keys/id_rsa', 'keys/id_rsa.pub', 'x/.npmrc', 'environment.js', 'dist/env.js', 'pem.js']),
    ).toEqual(['.env', 'dist/.env.local', 'a/server.PEM', 'keys/id_rsa', 'keys/id_rsa.pub', 'x/.npmrc']);
  });
});

