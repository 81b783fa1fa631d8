import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pnpmCommand } from '../helpers/pnpm.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';
import { dockerPrep, ecosystemFor, expectOk, pnpmEnv } from './helpers.js';

describe('docker-prep lockfile', () => {
  let eco: ReturnType<typeof ecosystemFor>;
  let before: Record<string, string>;
  const { node, args } = pnpmCommand(10);
  const env = { ...pnpmEnv(10), DOCKER_PREP_PNPM: [node, ...args].join(' ') };

  beforeAll(() => {
    eco = ecosystemFor(10);
    before = snapshotTree(eco.app);
  });
  afterAll(() => eco?.cleanup());

  it('refuses without an active pack, saying what to run', () => {
    const r = dockerPrep(['lockfile'], eco.app, eco.cacheHome, env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('[NO_ACTIVE_PACK]');
    expect(r.stderr).toContain('docker-prep pack --lockfile');
  });

  it('adds verified lockfiles to an active pack, under the journal; restore removes them', () => {
    expectOk(dockerPrep(['pack'], eco.app, eco.cacheHome), 'pack');
    const lockfile = path.join(eco.app, 'backend', 'pnpm-lock.yaml');
    expect(existsSync(lockfile)).toBe(false);
    const r = dockerPrep(['lockfile', '--verify', '--json'], eco.app, eco.cacheHome, env);
    expect(r.status, r.stderr).toBe(0);
    const data = JSON.parse(r.stdout) as { lockfiles: string[]; verified: boolean };
    expect(data.lockfiles).toEqual(['backend/pnpm-lock.yaml', 'web/pnpm-lock.yaml']);
    expect(data.verified).toBe(true);
    expect(readFileSync(lockfile, 'utf8')).toContain('@scope/auth@file:../.docker-deps/scope-auth-0.3.0.tgz');
    const status = JSON.parse(expectOk(dockerPrep(['status', '--json'], eco.app, eco.cacheHome), 'status')) as Record<string, unknown>;
    expect(JSON.stringify(status)).toContain('backend/pnpm-lock.yaml');
    expectOk(dockerPrep(['restore'], eco.app, eco.cacheHome), 'restore');
    expect(snapshotTree(eco.app)).toEqual(before);
  });

  it('with --verify, a failing frozen install undoes the pack and reports pnpm\'s output (exit 1)', () => {
    expectOk(dockerPrep(['pack'], eco.app, eco.cacheHome), 'pack');
    // A "pnpm" that fails the way pnpm does: prints an ERR_PNPM line and exits 1.
    // (DOCKER_PREP_PNPM is split at whitespace, so the script has none.)
    const failing = { ...env, DOCKER_PREP_PNPM: `${process.execPath} -e console.error("ERR_PNPM_OUTDATED_LOCKFILE_TEST");process.exit(1)` };
    const r = dockerPrep(['lockfile', '--verify'], eco.app, eco.cacheHome, failing);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[VERIFY_FAILED]');
    expect(r.stderr).toContain('ERR_PNPM_OUTDATED_LOCKFILE_TEST');
    expect(snapshotTree(eco.app)).toEqual(before);
  });
});
