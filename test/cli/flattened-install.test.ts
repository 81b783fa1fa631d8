import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeEcosystem } from '../helpers/ecosystem.js';
import { NODE22, runPnpm, type PnpmMajor } from '../helpers/pnpm.js';

const store = mkdtempSync(path.join(os.tmpdir(), 'dp-store-'));
afterAll(() => rmSync(store, { recursive: true, force: true }));

const versions: Record<PnpmMajor, string> = { 9: 'pnpm@9.15.9', 10: 'pnpm@10.34.9', 11: 'pnpm@11.28.11' };

describe.each([9, 10, 11] as const)('a flattened copy installs with pnpm %i and no scope registry', (major) => {
  it('installs from .docker-deps alone and the packed code loads', () => {
    const eco = makeEcosystem();
    try {
      const rootManifest = path.join(eco.app, 'package.json');
      writeFileSync(rootManifest, readFileSync(rootManifest, 'utf8').replace('pnpm@10.34.9', versions[major]));
      const pack = runCli(['pack', '--project', 'backend'], { cwd: eco.app });
      expect(pack.stderr).toBe('');
      expect(pack.status).toBe(0);

      // What the Dockerfile sees: the target folder and the output folder, nothing else.
      const flat = mkdtempSync(path.join(os.tmpdir(), 'dp-flat-'));
      cpSync(path.join(eco.app, 'backend'), path.join(flat, 'backend'), { recursive: true });
      cpSync(path.join(eco.app, '.docker-deps'), path.join(flat, '.docker-deps'), { recursive: true });
      const install = runPnpm(major, ['install', '--config.@scope:registry=http://127.0.0.1:9/', `--store-dir=${store}`, '--config.confirmModulesPurge=false', '--config.fetch-retries=0'], {
        cwd: path.join(flat, 'backend'),
        env: { CI: 'true' },
      });
      expect(install.status, install.stdout + install.stderr).toBe(0);

      const node = major === 11 ? NODE22 : process.execPath;
      const run = spawnSync(node, ['src/server.js'], { cwd: path.join(flat, 'backend'), encoding: 'utf8' });
      expect(run.stderr).toBe('');
      // publishConfig.main of @scope/config points at dist/, which says "production".
      expect(run.stdout.trim()).toBe('[2s] login alice; [2s] db connected production');
      const bin = path.join(flat, 'backend', 'node_modules', '@scope', 'auth', 'bin', 'auth-token.js');
      expect(statSync(bin).mode & 0o777).toBe(0o755);
      expect(existsSync(path.join(flat, 'backend', 'node_modules', '.bin', 'auth-token'))).toBe(true);
      rmSync(flat, { recursive: true, force: true });
    } finally {
      eco.cleanup();
    }
  });
});
