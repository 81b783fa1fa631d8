import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerPrepError } from '../../src/core/errors.js';
import { packPackages } from '../../src/core/pack/pack-packages.js';
import type { Workspace } from '../../src/core/types.js';
import { readTestWorkspace, readTgz, tempDir } from './pack-helpers.js';

/**
 * Two packages whose dist/ only exists after their prepack script ran; every script appends a line
 * to ../../order.log, so the order of stages and packages can be checked.
 */
function writeWorkspace(root: string, scripts: { lib?: Record<string, string>; app?: Record<string, string> } = {}): void {
  const log = (line: string): string => `echo "${line} $npm_lifecycle_event $npm_package_name" >> ../../order.log`;
  const build = (name: string): string => `mkdir -p dist && echo "export const n = '${name}';" > dist/index.js && ${log('built')}`;
  const pkg = (dir: string, manifest: object): void => {
    mkdirSync(path.join(root, 'packages', dir, 'src'), { recursive: true });
    writeFileSync(path.join(root, 'packages', dir, 'package.json'), JSON.stringify(manifest, null, 2));
    writeFileSync(path.join(root, 'packages', dir, 'src', 'index.js'), 'export {};\n');
  };
  writeFileSync(path.join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  writeFileSync(path.join(root, 'package.json'), '{"name":"root","private":true}\n');
  pkg('app', {
    name: '@t/app',
    version: '1.0.0',
    main: './dist/index.js',
    files: ['dist'],
    scripts: scripts.app ?? { prepack: build('app'), prepare: log('ran'), postpack: log('ran'), prepublishOnly: log('never') },
    dependencies: { '@t/lib': 'workspace:^' },
  });
  pkg('lib', {
    name: '@t/lib',
    version: '2.0.0',
    main: './dist/index.js',
    files: ['dist'],
    scripts: scripts.lib ?? { prepack: build('lib'), prepare: log('ran'), postpack: log('ran') },
  });
}

describe('lifecycle scripts', () => {
  let tmp: { dir: string; cleanup(): void };
  let cache: { dir: string; cleanup(): void };
  let ws: Workspace;
  const env = { ...process.env };
  const orderLog = (): string[] => readFileSync(path.join(tmp.dir, 'order.log'), 'utf8').trim().split('\n');

  beforeEach(() => {
    tmp = tempDir('dp-scripts-');
    cache = tempDir('dp-cache-scripts-');
  });
  afterEach(() => {
    tmp.cleanup();
    cache.cleanup();
  });

  it('runs none by default, so an unbuilt package is refused', async () => {
    writeWorkspace(tmp.dir);
    ws = await readTestWorkspace(tmp.dir);
    const err = await packPackages(ws.projects.filter((p) => p.relDir !== ''), ws, { cacheDir: cache.dir, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerPrepError);
    expect((err as DockerPrepError).problems.map((p) => p.code)).toEqual(['MISSING_ENTRY_POINT', 'MISSING_ENTRY_POINT']);
    expect(existsSync(path.join(tmp.dir, 'order.log'))).toBe(false);
  });

  it('with runScripts, runs prepack and prepare before listing files and postpack after, dependencies first', async () => {
    writeWorkspace(tmp.dir);
    ws = await readTestWorkspace(tmp.dir);
    const packed = await packPackages(ws.projects.filter((p) => p.relDir !== ''), ws, { cacheDir: cache.dir, env, runScripts: true });
    expect(packed.map((p) => p.name)).toEqual(['@t/app', '@t/lib']);
    expect(orderLog()).toEqual([
      'built prepack @t/lib',
      'ran prepare @t/lib',
      'built prepack @t/app',
      'ran prepare @t/app',
      'ran postpack @t/lib',
      'ran postpack @t/app',
    ]);
    const app = readTgz(readFileSync(packed[0]!.cachePath));
    expect(app.map((e) => e.name)).toEqual(['package/dist/index.js', 'package/package.json']);
    expect(app[0]!.data.toString()).toContain("'app'");
    expect(JSON.parse(app[1]!.data.toString()).scripts).toEqual({});
  });

  it('stops with the script output when a script fails', async () => {
    writeWorkspace(tmp.dir, { lib: { prepack: 'echo "tsc: cannot find module" >&2; exit 3' } });
    ws = await readTestWorkspace(tmp.dir);
    const err = await packPackages(ws.projects.filter((p) => p.relDir !== ''), ws, { cacheDir: cache.dir, env, runScripts: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerPrepError);
    const e = err as DockerPrepError;
    expect(e.code).toBe('LIFECYCLE_SCRIPT_FAILED');
    expect(e.message).toContain('@t/lib: the prepack script');
    expect(e.message).toContain('exited with code 3');
    expect(e.message).toContain('tsc: cannot find module');
    expect(e.hint).toContain('without --scripts');
    expect(existsSync(path.join(cache.dir, 'pack-v1'))).toBe(false);
  });
});
