import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CiReport } from '../../src/cli/commands/ci.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { BIN } from '../helpers/paths.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';
import { publishPackages, startVerdaccio, type VerdaccioServer } from '../helpers/verdaccio.js';
import { startSilentServer } from './servers.js';

let reg: VerdaccioServer;
let scratch: string;
const ecos: Ecosystem[] = [];

beforeAll(async () => {
  scratch = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-ci-')));
  reg = await startVerdaccio();
  const eco = makeEcosystem();
  try {
    await publishPackages(reg, eco.plat);
  } finally {
    eco.cleanup();
  }
});

afterAll(async () => {
  await reg?.dispose();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

afterEach(() => {
  for (const e of ecos.splice(0)) e.cleanup();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** ms from spawn until stderr first matched each of `marks` (absent when it never did). */
  marks: Record<string, number>;
}

/** The environment of a CI job: nothing from this machine's npm setup, a private HOME and cache. */
function jobEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /^(GITHUB_|DOCKER_PREP_|REG_TOKEN)/.test(k)) continue;
    env[k] = v;
  }
  const home = mkdtempSync(path.join(scratch, 'home-'));
  return { ...env, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), ...extra };
}

function runCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; marks?: Record<string, RegExp> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const marks: Record<string, number> = {};
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const [name, re] of Object.entries(opts.marks ?? {})) if (marks[name] === undefined && re.test(stderr)) marks[name] = Date.now() - t0;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0, marks }));
  });
}

/** A fresh app + common_plat whose app .npmrc points @scope at `registryUrl`, token from ${REG_TOKEN}. */
function appWithRegistry(registryUrl: string, edit?: (eco: Ecosystem) => void): Ecosystem {
  const eco = makeEcosystem();
  ecos.push(eco);
  const host = new URL(registryUrl).host;
  writeFileSync(path.join(eco.app, '.npmrc'), `@scope:registry=${registryUrl}\n//${host}/:_authToken=\${REG_TOKEN}\n`);
  edit?.(eco);
  return eco;
}

// CMD: report the mode it was given and what backend/package.json says while it runs.
const PROBE_CMD = [
  process.execPath,
  '-e',
  `const fs=require('fs');const m=fs.readFileSync('backend/package.json','utf8');` +
    `console.log(JSON.stringify({mode:process.env.DOCKER_PREP_MODE,rewritten:m.includes('.docker-deps'),deps:fs.existsSync('.docker-deps')}));` +
    `process.exit(Number(process.env.CMD_EXIT||0))`,
];

function cmdReport(text: string): { mode: string; rewritten: boolean; deps: boolean } {
  const line = text.split('\n').find((l) => l.startsWith('{"mode"'));
  if (!line) throw new Error(`CMD printed no report in:\n${text}`);
  return JSON.parse(line) as { mode: string; rewritten: boolean; deps: boolean };
}

/** The --json document: CMD's stdout goes to stderr under --json, so stdout is exactly one document. */
function tarballJsonDoc(stdout: string): CiJson {
  return JSON.parse(stdout) as CiJson;
}

/** What `ci --json` prints: the report plus the envelope of src/cli/output.ts. */
type CiJson = CiReport & { ok: boolean; warnings: string[] };

function allOutput(r: Run): string {
  return r.stdout + r.stderr;
}

describe('docker-prep ci with a real verdaccio', () => {
  it('registry up and complete: registry path, nothing packed, CMD sees DOCKER_PREP_MODE=registry; --json on stdout after CMD', async () => {
    const eco = appWithRegistry(reg.url);
    const before = snapshotTree(eco.app);
    const ghOut = path.join(scratch, 'gh-output-registry');
    writeFileSync(ghOut, 'earlier=kept\n');
    const r = await runCli(['ci', '--json', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: reg.token, GITHUB_OUTPUT: ghOut }) });
    expect(r.code, r.stderr).toBe(0);
    // With --json, CMD's stdout goes to stderr: stdout is exactly one JSON document.
    const doc = JSON.parse(r.stdout) as CiJson;
    expect(doc).toMatchObject({ ok: true, command: 'ci', mode: 'registry', requested: 'auto', exitCode: 0 });
    expect(doc.probe?.outcome).toBe('complete');
    expect(doc.probe?.packages.map((p) => p.name)).toEqual(['@scope/auth', '@scope/config', '@scope/db', '@scope/logger']);
    expect(doc.registries).toEqual([{ scope: '@scope', registry: reg.url, where: '.npmrc:1', auth: '.npmrc:2' }]);
    expect(doc.warnings).toEqual([]);
    expect(cmdReport(r.stderr)).toEqual({ mode: 'registry', rewritten: false, deps: false });
    expect(snapshotTree(eco.app)).toEqual(before);
    expect(readFileSync(ghOut, 'utf8')).toBe('earlier=kept\nmode=registry\nprobe=complete\n');
    expect(allOutput(r)).not.toContain(reg.token);
  });

  it('text mode: CMD output on stdout, the decision on stderr; CMD failing on the registry path passes its code through', async () => {
    const eco = appWithRegistry(reg.url);
    const r = await runCli(['ci', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: reg.token, CMD_EXIT: '5' }) });
    expect(r.code).toBe(5);
    expect(cmdReport(r.stdout).mode).toBe('registry');
    expect(r.stderr).toContain('docker-prep: ci: registry path: the registry serves all 4 outside packages');
    expect(r.stdout).toContain('command exited with 5');
  });

  it('up but one version missing: falls back to tarballs naming the version; CMD sees the rewritten state; restored after', async () => {
    // db 2.0.2 in the sibling repo: auth asks for ~2.0.2, the registry only has 2.0.1.
    const eco = appWithRegistry(reg.url, (e) => {
      const f = path.join(e.plat, 'packages', 'db', 'package.json');
      writeFileSync(f, readFileSync(f, 'utf8').replace('"version": "2.0.1"', '"version": "2.0.2"'));
    });
    const before = snapshotTree(eco.app);
    const ghOut = path.join(scratch, 'gh-output-missing');
    const r = await runCli(['ci', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: reg.token, GITHUB_OUTPUT: ghOut }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('docker-prep: ci: falling back to tarballs:');
    expect(r.stderr).toContain('@scope/db@~2.0.2 (it has 2.0.1)');
    expect(cmdReport(r.stdout)).toEqual({ mode: 'tarballs', rewritten: true, deps: true });
    expect(snapshotTree(eco.app)).toEqual(before);
    expect(readFileSync(ghOut, 'utf8')).toBe('mode=tarballs\nprobe=missing\n');
  });

  it('wrong token: falls back naming the auth problem; the token appears nowhere (text, --json, debug output)', async () => {
    const wrong = 'wrong-token-5d41402abc4b2a76b9719d911017c592';
    const eco = appWithRegistry(reg.url);
    const before = snapshotTree(eco.app);
    const text = await runCli(['ci', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: wrong, DOCKER_PREP_DEBUG: '1' }) });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/falling back to tarballs: .*refused access \(HTTP 40[13]\) .*the credential from \.npmrc:2 was refused/);
    expect(text.stderr).toContain('hint: the token is wrong, expired or lacks read access');
    expect(text.stderr).toContain('docker-prep: debug: GET '); // debug output was on
    expect(cmdReport(text.stdout).mode).toBe('tarballs');
    expect(allOutput(text)).not.toContain(wrong);

    const json = await runCli(['ci', '--json', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: wrong, DOCKER_PREP_DEBUG: '1' }) });
    expect(json.code, json.stderr).toBe(0);
    const doc = tarballJsonDoc(json.stdout);
    expect(doc).toMatchObject({ mode: 'tarballs', probe: { outcome: 'auth' } });
    expect(allOutput(json)).not.toContain(wrong);

    // The same through --token-file (a BuildKit secret): no token in any output either.
    const secret = path.join(scratch, 'npm_token');
    writeFileSync(secret, `${wrong}\n`);
    const viaFile = await runCli(['ci', '--json', '--token-file', secret, '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ DOCKER_PREP_DEBUG: '1' }) });
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect(tarballJsonDoc(viaFile.stdout).probe?.reason).toContain(`the credential from --token-file ${secret} was refused`);
    expect(allOutput(viaFile)).not.toContain(wrong);
    expect(snapshotTree(eco.app)).toEqual(before);
  });

  it('a port that accepts but never answers: falls back within the timeout', async () => {
    const silent = await startSilentServer();
    try {
      const eco = appWithRegistry(silent.url);
      const timeout = 1000;
      // Debug output marks the moment the probe starts (after node start-up and workspace discovery,
      // which a loaded machine can make slow); the decision line marks its end.
      const r = await runCli(['ci', '--json', '--timeout', String(timeout), '--', ...PROBE_CMD], {
        cwd: eco.app,
        env: jobEnv({ REG_TOKEN: reg.token, DOCKER_PREP_DEBUG: '1' }),
        marks: { probeStart: /docker-prep: debug: npmrc: /, decided: /docker-prep: ci: falling back/ },
      });
      expect(r.code, r.stderr).toBe(0);
      const doc = tarballJsonDoc(r.stdout);
      expect(doc.mode).toBe('tarballs');
      expect(doc.probe?.outcome).toBe('unreachable');
      expect(doc.probe?.reason).toContain(`no answer within ${timeout} ms`);
      expect(silent.connections).toBeGreaterThan(0);
      // Four packages in parallel share one deadline: the probe costs the timeout once.
      expect(doc.probe!.elapsedMs).toBeGreaterThanOrEqual(timeout);
      expect(doc.probe!.elapsedMs).toBeLessThan(timeout + 500);
      const { probeStart, decided } = r.marks;
      expect(probeStart).toBeDefined();
      expect(decided).toBeDefined();
      expect(decided! - probeStart!).toBeLessThan(timeout + 700);
    } finally {
      await silent.close();
    }
  });

  it('--mode forces a path: tarballs with the registry up, registry without probing', async () => {
    const eco = appWithRegistry(reg.url);
    const t = await runCli(['ci', '--json', '--mode', 'tarballs', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: reg.token }) });
    expect(t.code, t.stderr).toBe(0);
    expect(tarballJsonDoc(t.stdout)).toMatchObject({ mode: 'tarballs', requested: 'tarballs', probe: null, reason: '--mode tarballs' });
    expect(cmdReport(t.stdout + t.stderr)).toEqual({ mode: 'tarballs', rewritten: true, deps: true });

    const down = appWithRegistry('http://127.0.0.1:1/');
    const g = await runCli(['ci', '--json', '--mode', 'registry', '--', ...PROBE_CMD], { cwd: down.app, env: jobEnv() });
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ mode: 'registry', probe: null });
    expect(cmdReport(g.stderr).mode).toBe('registry');
  });

  it('config hygiene warnings name file and line; --dry-run only decides; bad --timeout and --mode are usage errors (exit 2)', async () => {
    const eco = appWithRegistry(reg.url);
    writeFileSync(path.join(eco.app, '.npmrc.docker'), `@scope:registry=http://localhost:${reg.port}/\n//localhost:${reg.port}/:_authToken=\${GITEA_NPM_TOKEN}\n`);
    const r = await runCli(['ci', '--mode', 'registry', '--', process.execPath, '-e', ''], { cwd: eco.app, env: jobEnv() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('docker-prep: WARN .npmrc.docker:1: "@scope:registry" points at localhost');
    expect(r.stderr).toContain('docker-prep: WARN .npmrc.docker:2: ${GITEA_NPM_TOKEN} is not set');

    // --dry-run decides and says so, writes nothing (not even GITHUB_OUTPUT) and runs nothing.
    const plain = appWithRegistry(reg.url);
    const before = snapshotTree(plain.app);
    const ghOut = path.join(scratch, 'gh-output-dry');
    const dry = await runCli(['ci', '--dry-run', '--json', '--', process.execPath, '-e', 'process.exit(9)'], { cwd: plain.app, env: jobEnv({ REG_TOKEN: reg.token, GITHUB_OUTPUT: ghOut }) });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ mode: 'registry', dryRun: true, exitCode: null, githubOutput: null, probe: { outcome: 'complete' } });
    expect(dry.stderr).toContain('docker-prep: ci: dry run: would take the registry path');
    expect(existsSync(ghOut)).toBe(false);
    expect(snapshotTree(plain.app)).toEqual(before);

    const bad = await runCli(['ci', '--timeout', 'soon', '--', 'true'], { cwd: eco.app, env: jobEnv() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--timeout soon');
    const badMode = await runCli(['ci', '--mode', 'maybe', '--', 'true'], { cwd: eco.app, env: jobEnv() });
    expect(badMode.code).toBe(2);
  });

  it('SIGTERM to docker-prep on the registry path reaches CMD; docker-prep exits 143 once CMD is gone', async () => {
    const eco = appWithRegistry(reg.url);
    const script = "process.on('SIGTERM',()=>{console.log('CMD-GOT-SIGTERM');process.exit(0)});console.log('READY');setInterval(()=>{},1000)";
    const child = spawn(process.execPath, [BIN, 'ci', '--', process.execPath, '-e', script], { cwd: eco.app, env: jobEnv({ REG_TOKEN: reg.token }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('READY') && !child.killed) child.kill('SIGTERM');
      });
      child.on('close', (c) => resolve(c));
    });
    expect(stderr).toContain('registry path');
    expect(stdout).toContain('CMD-GOT-SIGTERM');
    expect(code).toBe(143);
  });

  // Last: stops the shared registry.
  it('registry stopped: tarball path, CMD sees the rewritten state, tree restored; a failing CMD passes its code through', async () => {
    await reg.stop();
    const eco = appWithRegistry(reg.url);
    const before = snapshotTree(eco.app);
    const ghOut = path.join(scratch, 'gh-output-down');
    const r = await runCli(['ci', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: reg.token, GITHUB_OUTPUT: ghOut }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`falling back to tarballs: ${reg.url} is unreachable: connection refused (ECONNREFUSED)`);
    expect(cmdReport(r.stdout)).toEqual({ mode: 'tarballs', rewritten: true, deps: true });
    expect(snapshotTree(eco.app)).toEqual(before);
    expect(existsSync(path.join(eco.app, '.docker-deps'))).toBe(false);
    expect(readFileSync(ghOut, 'utf8')).toBe('mode=tarballs\nprobe=unreachable\n');

    const failing = await runCli(['ci', '--', ...PROBE_CMD], { cwd: eco.app, env: jobEnv({ REG_TOKEN: reg.token, CMD_EXIT: '7' }) });
    expect(failing.code).toBe(7);
    expect(cmdReport(failing.stdout).rewritten).toBe(true);
    expect(snapshotTree(eco.app)).toEqual(before);
    expect(allOutput(r) + allOutput(failing)).not.toContain(reg.token);
  });
});
