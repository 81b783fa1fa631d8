import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerPrep, ecosystemFor, expectOk, MAJORS, pnpm } from '../lockfile/helpers.js';
import type { PnpmMajor } from '../helpers/pnpm.js';

/**
 * Builds the CONTRACT.md Dockerfile (fixtures/ecosystem/app/backend/Dockerfile) for real, from the
 * app repo as context, after `docker-prep pack --lockfile`. Needs a reachable engine
 * (`/usr/bin/docker info`) and a local base image with Node and pnpm 9/10/11 as `pnpm9`, `pnpm10`,
 * `pnpm11` (DOCKER_PREP_TEST_BASE, default `localnode:22`); skips, saying why, otherwise.
 */
const DOCKER = process.env.DOCKER_PREP_TEST_DOCKER ?? '/usr/bin/docker';
const BASE = process.env.DOCKER_PREP_TEST_BASE ?? 'localnode:22';
const DEAD = 'http://127.0.0.1:9/';

function docker(args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(DOCKER, args, {
    cwd: opts.cwd,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
    env: { ...process.env, DOCKER_BUILDKIT: '1', BUILDKIT_PROGRESS: 'plain' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

function whyNotReady(): string | null {
  const info = docker(['info'], { timeoutMs: 20_000 });
  if (info.error || info.status !== 0) return `no Docker engine is reachable (${DOCKER} info failed)`;
  if (docker(['image', 'inspect', BASE], { timeoutMs: 20_000 }).status !== 0) return `the base image ${BASE} is not present locally (set DOCKER_PREP_TEST_BASE)`;
  return null;
}

const reason = whyNotReady();
if (reason) console.warn(`[docker-build.test] skipped: ${reason}`);

/** The step number BuildKit gave the install step, and whether that step was served from cache. */
export function installStepCached(log: string): { step: string | null; cached: boolean } {
  const m = /^#(\d+) \[[^\]]*\] RUN .*pnpm install --frozen-lockfile/m.exec(log);
  if (!m) return { step: null, cached: false };
  return { step: m[1]!, cached: new RegExp(`^#${m[1]} CACHED$`, 'm').test(log) };
}

describe.skipIf(reason !== null).each(MAJORS)('docker build of the CONTRACT Dockerfile, pnpm %i', (major: PnpmMajor) => {
  let eco: ReturnType<typeof ecosystemFor>;
  const tag = `docker-prep-test-app:pnpm${major}-${process.pid}`;
  // The base this build gets through `--build-arg BASE`: the shared base with `pnpm` set to the
  // major under test and the scope's registry pointed at a dead port, as when the registry is down.
  const base = `docker-prep-test-base:pnpm${major}-${process.pid}`;
  let firstBuild: string;

  beforeAll(() => {
    eco = ecosystemFor(major);
    // As in any real project: the host's node_modules (workspace symlinks) must not reach the image
    // through the Dockerfile's final `COPY backend/ ./`.
    writeFileSync(path.join(eco.app, '.dockerignore'), '**/node_modules\n');
    const baseDockerfile = [
      `FROM ${BASE}`,
      `RUN ln -sf /usr/bin/pnpm${major} /usr/bin/pnpm && printf '@scope:registry=${DEAD}\\n' > /root/.npmrc`,
      '',
    ].join('\n');
    expectOk(docker(['build', '--network=host', '-t', base, '-'], { input: baseDockerfile }), 'build of the test base image');
    expectOk(pnpm(major, ['install', '--no-frozen-lockfile'], eco.app), 'workspace install');
    expectOk(dockerPrep(['pack', '--lockfile'], eco.app, eco.cacheHome), 'docker-prep pack --lockfile');
  });

  afterAll(() => {
    docker(['image', 'rm', '-f', tag, base]);
    eco?.cleanup();
  });

  const build = (extra: string[] = []): SpawnSyncReturns<string> =>
    docker(['build', '--network=host', '--progress=plain', ...extra, '--build-arg', `BASE=${base}`, '-f', path.join('backend', 'Dockerfile'), '-t', tag, '.'], { cwd: eco.app });

  it('installs with --frozen-lockfile while the scope registry is unreachable, and the packed code loads', () => {
    // Cold: an earlier run of this test may have left the same layers in the engine's cache.
    const r = build(['--no-cache']);
    firstBuild = `${r.stdout}\n${r.stderr}`;
    expect(r.status, firstBuild).toBe(0);
    expect(installStepCached(firstBuild).step).not.toBeNull();
    // One container (each costs a rootfs copy on some storage drivers): the registry setting the
    // build ran with, the packed code loading, and the lockfile the image installed from.
    const script = [
      'pnpm config get @scope:registry',
      'echo ---',
      `node --input-type=module -e "const m = await import('@scope/auth'); console.log(Object.keys(m).length > 0 ? 'loaded' : 'empty')"`,
      'echo ---',
      'cat pnpm-lock.yaml',
    ].join('; ');
    const run = docker(['run', '--rm', '--network=host', '-w', '/app/backend', tag, 'sh', '-c', script]);
    const [registry, load, lock] = run.stdout.split('---\n');
    expect(registry?.trim(), run.stderr).toBe(DEAD);
    expect(load, run.stderr).toContain('loaded');
    expect(lock).toBe(readFileSync(path.join(eco.app, 'backend', 'pnpm-lock.yaml'), 'utf8'));
  });

  it('a warm rebuild after a no-change re-pack hits the cache for the install layer', () => {
    expectOk(dockerPrep(['restore'], eco.app, eco.cacheHome), 'restore');
    expectOk(dockerPrep(['pack', '--lockfile'], eco.app, eco.cacheHome), 're-pack');
    const r = build();
    const log = `${r.stdout}\n${r.stderr}`;
    expect(r.status, log).toBe(0);
    const install = installStepCached(log);
    expect(install.step, log).not.toBeNull();
    expect(install.cached, log).toBe(true);
    // The first build really ran the install (so the check above can fail).
    expect(installStepCached(firstBuild).cached).toBe(false);
  });
});
