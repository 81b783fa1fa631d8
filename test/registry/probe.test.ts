import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeClosure } from '../../src/core/closure/compute-closure.js';
import { neededPackages, type NeededPackage } from '../../src/core/registry/needed-packages.js';
import { probeRegistry } from '../../src/core/registry/probe-registry.js';
import { readRegistryConfig, type RegistryConfig } from '../../src/core/registry/read-registry-config.js';
import { loadWorkspace } from '../../src/core/workspace/load-workspace.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { freePort, publishPackages, startVerdaccio, type VerdaccioServer } from '../helpers/verdaccio.js';
import { startSelfSignedServer, startSilentServer } from './servers.js';

let reg: VerdaccioServer;
let eco: Ecosystem;
let needed: NeededPackage[];
let dir: string;

beforeAll(async () => {
  eco = makeEcosystem();
  dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-probe-')));
  [reg] = await Promise.all([startVerdaccio()]);
  await publishPackages(reg, eco.plat);
  const ws = await loadWorkspace(eco.app);
  needed = neededPackages(ws, computeClosure(ws));
});

afterAll(async () => {
  await reg?.dispose();
  eco?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A config as read from an `.npmrc` holding `lines`, with `env` for `${VAR}`. */
async function config(lines: string[], env: Record<string, string> = {}): Promise<RegistryConfig> {
  const root = mkdtempSync(path.join(dir, 'root-'));
  writeFileSync(path.join(root, '.npmrc'), lines.join('\n') + '\n');
  return readRegistryConfig({ root, env, homeDir: path.join(dir, 'nohome'), scopes: ['@scope'] });
}

const scoped = (url: string, token = '${REG_TOKEN}'): string[] => [`@scope:registry=${url}`, `//${new URL(url).host}/:_authToken=${token}`];

describe('probeRegistry against a real verdaccio', () => {
  it('complete: every range the fixture asks for is published', async () => {
    const cfg = await config(scoped(reg.url), { REG_TOKEN: reg.token });
    const res = await probeRegistry(needed, cfg, { timeoutMs: 5000 });
    expect(res.outcome).toBe('complete');
    expect(res.packages.map((p) => [p.name, p.status, p.auth])).toEqual([
      ['@scope/auth', 'ok', '.npmrc:2'],
      ['@scope/config', 'ok', '.npmrc:2'],
      ['@scope/db', 'ok', '.npmrc:2'],
      ['@scope/logger', 'ok', '.npmrc:2'],
    ]);
    expect(res.packages.find((p) => p.name === '@scope/db')!.available).toEqual(['2.0.1']);
  });

  it('missing: names each unsatisfied name@range and what the registry has instead; a 404 package too', async () => {
    const cfg = await config(scoped(reg.url), { REG_TOKEN: reg.token });
    const want: NeededPackage[] = [
      ...needed.filter((n) => n.name !== '@scope/db'),
      { name: '@scope/db', ranges: ['~2.0.1', '~2.0.2'], requestedBy: ['@scope/auth'] },
      { name: '@scope/nope', ranges: ['^1.0.0'], requestedBy: ['backend'] },
    ];
    const res = await probeRegistry(want, cfg, { timeoutMs: 5000 });
    expect(res.outcome).toBe('missing');
    const db = res.packages.find((p) => p.name === '@scope/db')!;
    expect(db).toMatchObject({ status: 'missing', missing: ['@scope/db@~2.0.2'], available: ['2.0.1'] });
    expect(res.packages.find((p) => p.name === '@scope/nope')).toMatchObject({ status: 'missing', httpStatus: 404, missing: ['@scope/nope@^1.0.0'] });
    expect(res.reason).toContain('@scope/db@~2.0.2 (it has 2.0.1)');
    expect(res.reason).toContain('@scope/nope@^1.0.0');
  });

  it('auth: a wrong token is refused (401) and named by where it came from, never by value', async () => {
    const wrong = 'wrong-token-7f3a9c0e5b1d';
    const cfg = await config(scoped(reg.url), { REG_TOKEN: wrong });
    const res = await probeRegistry(needed, cfg, { timeoutMs: 5000 });
    expect(res.outcome).toBe('auth');
    expect(res.reason).toMatch(/refused access \(HTTP 40[13]\)/);
    expect(res.reason).toContain('the credential from .npmrc:2 was refused');
    expect(JSON.stringify(res)).not.toContain(wrong);
  });

  it('auth: no token at all says that none was sent', async () => {
    const cfg = await config([`@scope:registry=${reg.url}`]);
    const res = await probeRegistry(needed, cfg, { timeoutMs: 5000 });
    expect(res.outcome).toBe('auth');
    expect(res.reason).toContain('no credential was sent');
    expect(res.hint).toContain('_authToken');
  });
});

describe('probeRegistry: unreachable, and which way', () => {
  it('connection refused (nothing listens on the port), quickly', async () => {
    const port = await freePort();
    const res = await probeRegistry(needed, await config(scoped(`http://127.0.0.1:${port}/`), { REG_TOKEN: 'x-token' }), { timeoutMs: 5000 });
    expect(res.outcome).toBe('unreachable');
    expect(res.packages.every((p) => p.unreachable === 'refused')).toBe(true);
    expect(res.reason).toContain('connection refused (ECONNREFUSED)');
    expect(res.elapsedMs).toBeLessThan(2000);
  });

  it('a port that accepts and never answers: timeout, within the one shared deadline', async () => {
    const silent = await startSilentServer();
    try {
      const timeoutMs = 700;
      const t0 = Date.now();
      const res = await probeRegistry(needed, await config(scoped(silent.url), { REG_TOKEN: 'x-token' }), { timeoutMs });
      const took = Date.now() - t0;
      expect(res.outcome).toBe('unreachable');
      expect(res.packages.every((p) => p.unreachable === 'timeout')).toBe(true);
      expect(res.reason).toContain('no answer within 700 ms');
      expect(silent.connections).toBeGreaterThan(0);
      // Four packages in parallel share the deadline: the probe costs the timeout once, not per package.
      expect(took).toBeGreaterThanOrEqual(timeoutMs - 20);
      expect(took).toBeLessThan(timeoutMs + 500);
    } finally {
      await silent.close();
    }
  });

  it('DNS: a host name that does not resolve', async () => {
    const res = await probeRegistry(needed, await config(['@scope:registry=http://registry.docker-prep.invalid/']), { timeoutMs: 5000 });
    expect(res.outcome).toBe('unreachable');
    expect(res.packages[0]!.unreachable).toBe('dns');
    expect(res.reason).toContain('DNS');
  });

  it('TLS: an untrusted certificate; strict-ssl=false then reaches it', async () => {
    const tls = await startSelfSignedServer();
    try {
      const strict = await probeRegistry(needed, await config([`@scope:registry=${tls.url}`]), { timeoutMs: 5000 });
      expect(strict.outcome).toBe('unreachable');
      expect(strict.packages[0]!.unreachable).toBe('tls');
      const lax = await probeRegistry(needed, await config([`@scope:registry=${tls.url}`, 'strict-ssl=false']), { timeoutMs: 5000 });
      // The stub serves an empty packument: reachable, and so every range is missing.
      expect(lax.outcome).toBe('missing');
    } finally {
      await tls.close();
    }
  });

  it('HTTP: a registry that answers 503 is unreachable with the status', async () => {
    const srv = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"maintenance"}');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/`;
      const res = await probeRegistry(needed, await config([`@scope:registry=${url}`]), { timeoutMs: 5000 });
      expect(res.outcome).toBe('unreachable');
      expect(res.packages[0]).toMatchObject({ unreachable: 'http', httpStatus: 503 });
      expect(res.reason).toContain('HTTP 503: maintenance');
    } finally {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  it('config: a registry line whose host variable is unset is not requested at all', async () => {
    const res = await probeRegistry(needed, await config(['@scope:registry=https://${GITEA_NPM_HOST}/api/packages/o/npm/']), { timeoutMs: 5000 });
    expect(res.outcome).toBe('unreachable');
    expect(res.packages[0]).toMatchObject({ unreachable: 'config' });
    expect(res.reason).toContain('${GITEA_NPM_HOST}');
    expect(res.elapsedMs).toBeLessThan(500);
  });

  it('nothing needed: complete without a request', async () => {
    const res = await probeRegistry([], await config(['@scope:registry=http://127.0.0.1:1/']), { timeoutMs: 5000 });
    expect(res).toMatchObject({ outcome: 'complete', packages: [] });
  });
});
