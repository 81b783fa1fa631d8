import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerPrep, ecosystemFor, expectOk, flattenInPlace, installedPackages, lockfileDoc, MAJORS, pnpm, SCOPE_DEAD } from './helpers.js';

/**
 * The whole path a user takes, per pnpm major: install the workspace, `docker-prep pack --lockfile`,
 * then install the target folder ALONE (plus the output folder) with --frozen-lockfile while the
 * private registry is down, and check pnpm agrees with the lockfile.
 */
describe.each(MAJORS)('flattened lockfile, pnpm %i', (major) => {
  let eco: ReturnType<typeof ecosystemFor>;
  let wsInstalled: Map<string, string>;
  let firstLockfile: string;

  beforeAll(() => {
    eco = ecosystemFor(major);
    expectOk(pnpm(major, ['install', '--no-frozen-lockfile'], eco.app), 'workspace install');
    wsInstalled = installedPackages(eco.app);
    expectOk(dockerPrep(['pack', '--lockfile'], eco.app, eco.cacheHome), 'docker-prep pack --lockfile');
    firstLockfile = readFileSync(path.join(eco.app, 'backend', 'pnpm-lock.yaml'), 'utf8');
  });
  afterAll(() => eco?.cleanup());

  it('installs the target alone with --frozen-lockfile while the scope registry is unreachable', () => {
    const flat = flattenInPlace(eco, 'backend');
    try {
      expectOk(pnpm(major, ['install', '--frozen-lockfile', SCOPE_DEAD], flat.dir), 'frozen install of the flattened copy');
      const installed = installedPackages(flat.dir);
      const external = [...installed.keys()].filter((k) => !k.includes('@file:'));
      expect(external.sort()).toEqual(['ms@2.1.3', 'semver@7.8.6']);
      for (const key of external) {
        // Same version and same integrity as the workspace install.
        expect(wsInstalled.has(key), `${key} in the workspace install`).toBe(true);
        expect(installed.get(key)).toBe(wsInstalled.get(key));
      }
      expect(installed.has('@scope/auth@file:../.docker-deps/scope-auth-0.3.0.tgz')).toBe(true);
      // The packed code is what got installed: its bin and its sibling dependencies resolve.
      expect(existsSync(path.join(flat.dir, 'node_modules', '.bin', 'auth-token'))).toBe(true);
      const run = expectOk(
        pnpm(major, ['exec', 'node', '--input-type=module', '-e', "import('@scope/auth').then(m => console.log(Object.keys(m).length > 0 ? 'loaded' : 'empty'))"], flat.dir),
        'load @scope/auth',
      );
      expect(run).toContain('loaded');
    } finally {
      flat.undo();
    }
  });

  it('pnpm install --lockfile-only (and --fix-lockfile) leaves the generated lockfile unchanged', () => {
    const flat = flattenInPlace(eco, 'backend');
    try {
      const file = path.join(flat.dir, 'pnpm-lock.yaml');
      const before = lockfileDoc(file);
      expectOk(pnpm(major, ['install', '--lockfile-only', SCOPE_DEAD], flat.dir), 'lockfile-only install');
      expect(lockfileDoc(file)).toEqual(before);
      // An up-to-date lockfile is kept as-is by --lockfile-only; --fix-lockfile makes pnpm re-derive
      // every entry (peer suffixes included) from the manifest and the locked versions.
      expectOk(pnpm(major, ['install', '--lockfile-only', '--fix-lockfile', SCOPE_DEAD], flat.dir), 'fix-lockfile install');
      expect(lockfileDoc(file)).toEqual(before);
    } finally {
      flat.undo();
    }
  });

  it('re-pack with no source change: byte-identical lockfile, frozen install still passes', () => {
    expectOk(dockerPrep(['restore'], eco.app, eco.cacheHome), 'restore');
    expect(existsSync(path.join(eco.app, 'backend', 'pnpm-lock.yaml'))).toBe(false);
    expectOk(dockerPrep(['pack', '--lockfile'], eco.app, eco.cacheHome), 're-pack');
    expect(readFileSync(path.join(eco.app, 'backend', 'pnpm-lock.yaml'), 'utf8')).toBe(firstLockfile);
    const flat = flattenInPlace(eco, 'backend');
    try {
      expectOk(pnpm(major, ['install', '--frozen-lockfile', SCOPE_DEAD], flat.dir), 'frozen install after re-pack');
    } finally {
      flat.undo();
    }
  });
});
