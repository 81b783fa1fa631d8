import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flattenLockfile, type FlattenInput } from '../../src/core/lockfile/flatten-lockfile.js';
import { dockerSandboxFiles, verifyFrozenInstall } from '../../src/core/lockfile/verify-frozen-install.js';
import { DockerPrepError } from '../../src/core/errors.js';
import type { Manifest } from '../../src/core/types.js';
import { pnpmCommand } from '../helpers/pnpm.js';
import { dockerPrep, ecosystemFor, expectOk, flattenInputFromTree, pnpm, pnpmEnv, readJson, writeJson } from './helpers.js';

async function codesOf(input: FlattenInput): Promise<string[]> {
  return (await flattenLockfile(input)).problems.map((p) => p.code);
}

async function thrown(input: FlattenInput): Promise<DockerPrepError> {
  try {
    await flattenLockfile(input);
  } catch (err) {
    if (err instanceof DockerPrepError) return err;
    throw err;
  }
  throw new Error('flattenLockfile did not throw');
}

/**
 * The fixture as committed (its pnpm-lock.yaml is current for pnpm 10), packed without a lockfile:
 * flattening needs no node_modules, so each case edits one input and checks the verdict.
 */
describe('what cannot be carried over stops with a clear error', () => {
  let eco: ReturnType<typeof ecosystemFor>;
  let original: Manifest;
  let base: () => FlattenInput;
  let lockfilePath: string;
  let lockfileText: string;

  beforeAll(() => {
    eco = ecosystemFor(10);
    original = readJson(path.join(eco.app, 'backend', 'package.json'));
    expectOk(dockerPrep(['pack'], eco.app, eco.cacheHome), 'docker-prep pack');
    base = () => flattenInputFromTree({ root: eco.app, targetRel: 'backend', original, major: 10 });
    lockfilePath = path.join(eco.app, 'pnpm-lock.yaml');
    lockfileText = readFileSync(lockfilePath, 'utf8');
  });
  afterAll(() => eco?.cleanup());
  const withLockfile = async <T>(text: string, fn: () => Promise<T>): Promise<T> => {
    writeFileSync(lockfilePath, text);
    try {
      return await fn();
    } finally {
      writeFileSync(lockfilePath, lockfileText);
    }
  };

  it('the unchanged state flattens without problems, deterministically', async () => {
    const a = await flattenLockfile(base());
    const b = await flattenLockfile(base());
    expect(a.problems).toEqual([]);
    expect(a.lockfileText).toBe(b.lockfileText);
    expect(a.lockfileText).toContain('@scope/auth@file:../.docker-deps/scope-auth-0.3.0.tgz');
  });

  it('a missing workspace lockfile', async () => {
    rmSync(lockfilePath);
    try {
      const err = await thrown(base());
      expect(err.code).toBe('LOCKFILE_MISSING');
      expect(err.hint).toContain('pnpm install');
    } finally {
      writeFileSync(lockfilePath, lockfileText);
    }
  });

  it('a lockfile with merge conflict markers, or of an older format', async () => {
    const conflicted = lockfileText.replace('importers:', '<<<<<<< HEAD\nimporters:');
    expect((await withLockfile(conflicted, () => thrown(base()))).code).toBe('LOCKFILE_CONFLICTED');
    const old = lockfileText.replace("lockfileVersion: '9.0'", "lockfileVersion: '6.0'");
    expect((await withLockfile(old, () => thrown(base()))).code).toBe('LOCKFILE_UNSUPPORTED');
  });

  it('a lockfile out of date for the target (a dependency added since the last install)', async () => {
    const input = base();
    input.target = { ...input.target, manifest: { ...original, dependencies: { ...original.dependencies, 'left-pad': '^1.3.0' } } };
    const err = await thrown(input);
    expect(err.code).toBe('LOCKFILE_OUTDATED');
    expect(err.message).toContain('left-pad');
    expect(err.hint).toContain('pnpm install');
  });

  it('a catalog changed since the last install', async () => {
    const input = base();
    input.targetManifest = { ...input.targetManifest, dependencies: { ...input.targetManifest.dependencies, ms: '^2.2.0' } };
    const result = await flattenLockfile(input);
    expect(result.problems.map((p) => p.code)).toContain('LOCKFILE_OUTDATED');
    expect(result.problems.find((p) => p.code === 'LOCKFILE_OUTDATED')!.message).toContain('^2.2.0');
  });

  it("the target's own overrides: satisfied by the workspace resolution, or not", async () => {
    const ok = base();
    ok.overrides = { ...ok.overrides, semver: '^7.8.0' };
    const good = await flattenLockfile(ok);
    expect(good.problems).toEqual([]);
    expect(good.lockfileText).toContain("semver: ^7.8.0");
    const bad = base();
    bad.overrides = { ...bad.overrides, semver: '7.6.0' };
    const codes = await codesOf(bad);
    expect(codes).toContain('LOCKFILE_OVERRIDE_NOT_RESOLVED');
  });

  it('an aliased sibling no override points at its tarball', async () => {
    const input = base();
    const { 'scope-log': _dropped, ...rest } = input.overrides;
    expect(_dropped).toBeDefined();
    input.overrides = rest;
    const result = await flattenLockfile(input);
    const p = result.problems.find((x) => x.code === 'LOCKFILE_SIBLING_NOT_REDIRECTED');
    expect(p?.message).toContain('scope-log');
    expect(p?.hint).toContain('override');
  });

  it('a workspace override the target config does not carry, a pnpmfile, packageExtensions the image lacks', async () => {
    const withOverride = lockfileText.replace('\nimporters:', "\noverrides:\n  ms@<1: 0.7.0\n\nimporters:");
    expect(await withLockfile(withOverride, () => codesOf(base()))).toContain('LOCKFILE_OVERRIDE_DROPPED');
    const withPnpmfile = lockfileText.replace('\nimporters:', '\npnpmfileChecksum: sha256-abc\n\nimporters:');
    expect(await withLockfile(withPnpmfile, () => codesOf(base()))).toContain('LOCKFILE_PNPMFILE');

    const rootManifest = path.join(eco.app, 'package.json');
    const rootBefore = readFileSync(rootManifest, 'utf8');
    const extensions = { 'ms@2': { dependencies: { semver: '^7.0.0' } } };
    writeJson(rootManifest, { ...JSON.parse(rootBefore), pnpm: { packageExtensions: extensions } });
    try {
      const withChecksum = lockfileText.replace('\nimporters:', '\npackageExtensionsChecksum: sha256-ext\n\nimporters:');
      expect(await withLockfile(withChecksum, () => codesOf(base()))).toContain('LOCKFILE_PACKAGE_EXTENSIONS');
      // Carried when the target's own config holds the same extensions (what pnpm hashes).
      const carried = await withLockfile(withChecksum, async () => {
        const input = base();
        input.targetManifest = { ...input.targetManifest, pnpm: { ...input.targetManifest.pnpm, packageExtensions: extensions } };
        return flattenLockfile(input);
      });
      expect(carried.problems).toEqual([]);
      expect(carried.lockfileText).toContain('packageExtensionsChecksum: sha256-ext');
    } finally {
      writeFileSync(rootManifest, rootBefore);
    }
  });

  it('verifyFrozenInstall passes on the real output and fails with pnpm\'s message on a broken one', async () => {
    const input = base();
    const result = await flattenLockfile(input);
    expect(result.problems).toEqual([]);
    const lockWrite = { path: path.join(eco.app, 'backend', 'pnpm-lock.yaml'), contents: Buffer.from(result.lockfileText), role: 'lockfile' as const };
    const files = await dockerSandboxFiles({ root: eco.app, targetRelDir: 'backend', outRel: '.docker-deps', writes: [lockWrite] });
    expect(files.map((f) => f.path)).toEqual([
      '.docker-deps/scope-auth-0.3.0.tgz',
      '.docker-deps/scope-config-1.0.0.tgz',
      '.docker-deps/scope-db-2.0.1.tgz',
      '.docker-deps/scope-logger-1.2.0.tgz',
      'backend/package.json',
      'backend/pnpm-lock.yaml',
    ]);
    const { node, args } = pnpmCommand(10);
    const opts = { targetRelDir: 'backend', pnpm: { command: node, args }, scopeRegistries: ['@scope'], env: { ...process.env, ...pnpmEnv(10) } };
    await verifyFrozenInstall({ ...opts, sandboxFiles: files });

    // A lockfile whose overrides no longer match the config: pnpm refuses a frozen install.
    const broken = files.map((f) => (f.path === 'backend/pnpm-lock.yaml' ? { ...f, contents: Buffer.from(result.lockfileText.replace("scope-log: file:", "scope-log2: file:")) } : f));
    const err = await verifyFrozenInstall({ ...opts, sandboxFiles: broken }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DockerPrepError);
    expect((err as DockerPrepError).kind).toBe('check');
    expect((err as DockerPrepError).code).toBe('VERIFY_FAILED');
    expect((err as DockerPrepError).message).toMatch(/ERR_PNPM_\w+/);
  });
});

/** A target whose packed dependency has a peer nothing provides, and a link to an unpacked project. */
describe('peers and links the image cannot satisfy', () => {
  let eco: ReturnType<typeof ecosystemFor>;
  beforeAll(() => {
    eco = ecosystemFor(10, (e) => {
      const web = path.join(e.app, 'web', 'package.json');
      const m = readJson(web);
      m.dependencies = { ...m.dependencies, '@scope/auth': 'workspace:*', 'local-thing': 'link:../vendor/local-thing' };
      writeJson(web, m);
      mkdirSync(path.join(e.app, 'vendor', 'local-thing'), { recursive: true });
      writeJson(path.join(e.app, 'vendor', 'local-thing', 'package.json'), { name: 'local-thing', version: '1.0.0' });
    });
    expectOk(pnpm(10, ['install', '--no-frozen-lockfile', '--lockfile-only'], eco.app), 'workspace install');
  });
  afterAll(() => eco?.cleanup());

  it('reports the missing peer and the unportable link, with hints', async () => {
    const original = readJson(path.join(eco.app, 'web', 'package.json'));
    expectOk(dockerPrep(['pack', '--project', 'web'], eco.app, eco.cacheHome), 'docker-prep pack');
    const result = await flattenLockfile(flattenInputFromTree({ root: eco.app, targetRel: 'web', original, major: 10 }));
    const peer = result.problems.find((p) => p.code === 'LOCKFILE_PEER_MISSING');
    expect(peer?.message).toContain('@scope/auth');
    expect(peer?.message).toContain('@scope/config');
    expect(peer?.hint).toContain("add @scope/config to web's dependencies");
    const link = result.problems.find((p) => p.code === 'LOCKFILE_LINK_NOT_PORTABLE');
    expect(link?.message).toContain('local-thing');
    expect(result.problems.filter((p) => p.code === 'LOCKFILE_PEER_MISSING')).toHaveLength(1);
  });
});
