import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { git, makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

let eco: Ecosystem | undefined;
afterEach(() => eco?.cleanup());

const read = (file: string): string => readFileSync(file, 'utf8');

describe('pack and restore on the fixture ecosystem', () => {
  it('packs the closure, rewrites the targets in their own formatting, and restores byte-for-byte with a clean git status', () => {
    eco = makeEcosystem({ git: true });
    const before = snapshotTree(eco.base);
    const pack = runCli(['pack', '--json'], { cwd: eco.app });
    expect(pack.stderr).toBe('');
    expect(pack.status).toBe(0);
    const report = JSON.parse(pack.stdout);
    expect(report.ok).toBe(true);
    expect(report.packages.map((p: { name: string }) => p.name)).toEqual(['@scope/auth', '@scope/config', '@scope/db', '@scope/logger']);
    expect(report.targets.map((t: { project: string }) => t.project).sort()).toEqual(['backend', 'web']);
    for (const p of report.packages) expect(existsSync(path.join(eco.app, '.docker-deps', p.fileName))).toBe(true);

    const backend = read(path.join(eco.app, 'backend', 'package.json'));
    // CRLF kept, no bare LF, key order kept, catalog resolved, siblings point at tarballs.
    expect(backend.split('\r\n').join('')).not.toContain('\n');
    const m = JSON.parse(backend);
    expect(Object.keys(m)).toEqual(['name', 'version', 'private', 'type', 'scripts', 'dependencies', 'devDependencies', 'pnpm']);
    expect(m.dependencies).toEqual({ '@scope/auth': 'file:../.docker-deps/scope-auth-0.3.0.tgz', ms: '^2.1.3' });
    expect(m.devDependencies).toEqual({ '@scope/config': 'file:../.docker-deps/scope-config-1.0.0.tgz', semver: '^7.6.0' });
    expect(m.pnpm.overrides).toEqual({
      '@scope/auth': 'file:../.docker-deps/scope-auth-0.3.0.tgz',
      '@scope/config': 'file:../.docker-deps/scope-config-1.0.0.tgz',
      '@scope/db': 'file:../.docker-deps/scope-db-2.0.1.tgz',
      '@scope/logger': 'file:../.docker-deps/scope-logger-1.2.0.tgz',
      // @scope/auth depends on `scope-log: workspace:@scope/logger@^1.0.0`; pnpm matches overrides on the key.
      'scope-log': 'file:../.docker-deps/scope-logger-1.2.0.tgz',
    });
    const web = read(path.join(eco.app, 'web', 'package.json'));
    expect(web).toContain('\n\t"dependencies": {\n\t\t"@scope/logger": "file:../.docker-deps/scope-logger-1.2.0.tgz"\n\t}');

    const restore = runCli(['restore'], { cwd: eco.app });
    expect(restore.stderr).toBe('');
    expect(restore.status).toBe(0);
    expect(snapshotTree(eco.base)).toEqual(before);
    expect(git(eco.app, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(git(eco.plat, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('restore is a no-op (exit 0) when nothing is active', () => {
    eco = makeEcosystem();
    const before = snapshotTree(eco.base);
    for (const args of [['restore'], ['--restore']]) {
      const r = runCli(args, { cwd: eco.app });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(snapshotTree(eco.base)).toEqual(before);
  });

  it('--dry-run prints the plan with diffs and writes nothing at all', () => {
    eco = makeEcosystem();
    const before = snapshotTree(eco.base);
    const r = runCli(['--dry-run'], { cwd: eco.app });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/would pack 4 package\(s\)/);
    expect(r.stdout).toContain('@scope/db@2.0.1');
    expect(r.stdout).toContain('+\t\t"@scope/logger": "file:../.docker-deps/scope-logger-1.2.0.tgz"');
    expect(r.stdout).toContain('-\t\t"@scope/logger": "workspace:^"');
    expect(snapshotTree(eco.base)).toEqual(before);
    const j = runCli(['pack', '--dry-run', '--json'], { cwd: eco.app });
    const plan = JSON.parse(j.stdout);
    expect(plan.dryRun).toBe(true);
    expect(plan.diffs.map((d: { path: string }) => d.path).sort()).toEqual(['backend/package.json', 'web/package.json']);
    expect(plan.packages.every((p: { files: number; size: number }) => p.files > 0 && p.size > 0)).toBe(true);
    expect(snapshotTree(eco.base)).toEqual(before);
  });

  it('refuses a second pack with exit 4; --force re-packs keeping the ORIGINAL backups', () => {
    eco = makeEcosystem({ git: true });
    const before = snapshotTree(eco.base);
    expect(runCli(['pack'], { cwd: eco.app }).status).toBe(0);
    const again = runCli(['pack'], { cwd: eco.app });
    expect(again.status).toBe(4);
    expect(again.stderr).toMatch(/ERROR \[PACK_ACTIVE\]/);
    expect(again.stderr).toMatch(/hint: .*restore/);
    const forced = runCli(['pack', '--force'], { cwd: eco.app });
    expect(forced.status).toBe(0);
    expect(runCli(['restore'], { cwd: eco.app }).status).toBe(0);
    // Had --force backed up the rewritten manifests, restore would bring back `file:` specifiers.
    expect(snapshotTree(eco.base)).toEqual(before);
  });

  it('writes the overrides into a pnpm-workspace.yaml for pnpm 11 and removes it on restore', () => {
    eco = makeEcosystem();
    const rootManifest = path.join(eco.app, 'package.json');
    writeFileSync(rootManifest, read(rootManifest).replace('pnpm@10.34.9', 'pnpm@11.28.11'));
    const before = snapshotTree(eco.base);
    expect(runCli(['pack', '--project', 'backend'], { cwd: eco.app }).status).toBe(0);
    const yamlPath = path.join(eco.app, 'backend', 'pnpm-workspace.yaml');
    const yaml = read(yamlPath);
    expect(yaml).toContain('overrides:');
    expect(yaml).toContain('"@scope/db": file:../.docker-deps/scope-db-2.0.1.tgz');
    const m = JSON.parse(read(path.join(eco.app, 'backend', 'package.json')));
    expect(m.pnpm).toBeUndefined();
    expect(existsSync(path.join(eco.app, 'web', 'package.json'))).toBe(true);
    expect(read(path.join(eco.app, 'web', 'package.json'))).toContain('workspace:^');
    expect(runCli(['restore'], { cwd: eco.app }).status).toBe(0);
    expect(existsSync(yamlPath)).toBe(false);
    expect(snapshotTree(eco.base)).toEqual(before);
  });

  it('merges with the user’s own overrides and the workspace root’s, never dropping them', () => {
    eco = makeEcosystem();
    const backendPath = path.join(eco.app, 'backend', 'package.json');
    const original = read(backendPath);
    writeFileSync(backendPath, original.replace('"devDependencies"', '"pnpm": {\r\n    "overrides": {\r\n      "semver": "7.6.0"\r\n    }\r\n  },\r\n  "devDependencies"'));
    const ws = path.join(eco.app, 'pnpm-workspace.yaml');
    writeFileSync(ws, read(ws) + 'overrides:\n  ms: 2.1.2\n');
    expect(runCli(['pack', '--project', 'backend'], { cwd: eco.app }).status).toBe(0);
    const m = JSON.parse(read(backendPath));
    expect(m.pnpm.overrides.semver).toBe('7.6.0');
    expect(m.pnpm.overrides.ms).toBe('2.1.2');
    expect(m.pnpm.overrides['@scope/logger']).toBe('file:../.docker-deps/scope-logger-1.2.0.tgz');
    expect(runCli(['restore'], { cwd: eco.app }).status).toBe(0);
  });
});
