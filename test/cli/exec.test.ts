import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { BIN } from '../helpers/paths.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

let eco: Ecosystem | undefined;
afterEach(() => eco?.cleanup());

const cacheHome = path.join(os.tmpdir(), `dp-test-cache-${process.pid}`);

describe('exec -- CMD', () => {
  it('runs CMD on the rewritten state with DOCKER_PREP_MODE=tarballs, passes its exit code through, and restores', () => {
    eco = makeEcosystem();
    const before = snapshotTree(eco.base);
    const script = "const m=require('./backend/package.json');console.log(process.env.DOCKER_PREP_MODE, m.dependencies['@scope/auth']);process.exit(7)";
    const r = runCli(['exec', '--', process.execPath, '-e', script], { cwd: eco.app });
    expect(r.stdout).toContain('tarballs file:../.docker-deps/scope-auth-0.3.0.tgz');
    expect(r.status).toBe(7);
    expect(snapshotTree(eco.base)).toEqual(before);
  });

  it('restores after a failing pack without running CMD', () => {
    eco = makeEcosystem();
    const before = snapshotTree(eco.base);
    const marker = path.join(eco.base, 'ran');
    const r = runCli(['exec', '--project', 'nope', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], { cwd: eco.app });
    expect(r.status).toBe(2);
    expect(existsSync(marker)).toBe(false);
    expect(snapshotTree(eco.base)).toEqual(before);
  });

  it('says how to call it without a command', () => {
    eco = makeEcosystem();
    const r = runCli(['exec'], { cwd: eco.app });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ERROR \[USAGE\]/);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`forwards ${signal} to CMD, waits for it, restores, exits ${code}`, async () => {
      eco = makeEcosystem();
      const before = snapshotTree(eco.base);
      const started = path.join(eco.base, 'started');
      const got = path.join(eco.base, 'got-signal');
      // CMD traps the signal, records it, and exits on its own a moment later: docker-prep must wait for it.
      const script = `const fs=require('fs');process.on(${JSON.stringify(signal)},()=>{fs.writeFileSync(${JSON.stringify(got)},'${signal}');setTimeout(()=>process.exit(0),300)});fs.writeFileSync(${JSON.stringify(started)},'');setInterval(()=>{},1000)`;
      const child = spawn(process.execPath, [BIN, 'exec', '--', process.execPath, '-e', script], { cwd: eco.app, env: { ...process.env, XDG_CACHE_HOME: cacheHome }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      for (let i = 0; i < 600 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(started)).toBe(true);
      // While CMD runs, the tree is in the packed state.
      expect(readFileSync(path.join(eco.app, 'backend', 'package.json'), 'utf8')).toContain('file:../.docker-deps/');
      child.kill(signal);
      const exit = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(exit, stderr).toBe(code);
      expect(readFileSync(got, 'utf8')).toBe(signal);
      const after = snapshotTree(eco.base);
      delete after['started'];
      delete after['got-signal'];
      expect(after).toEqual(before);
    });
  }
});
