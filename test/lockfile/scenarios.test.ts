import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { flattenLockfile, type FlattenInput } from '../../src/core/lockfile/flatten-lockfile.js';
import type { Manifest } from '../../src/core/types.js';
import type { Ecosystem } from '../helpers/ecosystem.js';
import type { PnpmMajor } from '../helpers/pnpm.js';
import {
  dockerPrep,
  ecosystemFor,
  expectOk,
  flattenInPlace,
  flattenInputFromTree,
  installedPackages,
  lockfileDoc,
  MAJORS,
  pnpm,
  readJson,
  SCOPE_DEAD,
  writeJson,
} from './helpers.js';

const PATCH = `diff --git a/index.js b/index.js
index 7229750..3c33f8e 100644
--- a/index.js
+++ b/index.js
@@ -1,3 +1,4 @@
+// patched for docker-prep
 /**
  * Helpers.
  */
`;

/**
 * The target of the fixture grown to everything the flattened lockfile must carry: catalogs
 * (`ms: catalog:`, `semver: catalog:tools`), its own override, a patched dependency (configured at
 * the root), a peer dependency on a packed package (and auth's peer on config), an alias of a
 * registry package and an alias of a workspace package.
 */
function scenario(major: PnpmMajor): Ecosystem & { cacheHome: string } {
  return ecosystemFor(major, (eco) => {
    const backend = path.join(eco.app, 'backend', 'package.json');
    const m = readJson(backend);
    m.dependencies = { ...m.dependencies, 'my-ms': 'npm:ms@^2.1.3', slog: 'workspace:@scope/logger@^1.0.0' };
    m.peerDependencies = { '@scope/db': 'workspace:^' };
    const own = { semver: '7.8.6' };
    if (major >= 11) writeFileSync(path.join(eco.app, 'backend', 'pnpm-workspace.yaml'), stringifyYaml({ overrides: own }));
    else m.pnpm = { overrides: own };
    writeJson(backend, m);

    mkdirSync(path.join(eco.app, 'patches'));
    writeFileSync(path.join(eco.app, 'patches', 'ms@2.1.3.patch'), PATCH);
    if (major >= 11) {
      const ws = path.join(eco.app, 'pnpm-workspace.yaml');
      writeFileSync(ws, readFileSync(ws, 'utf8') + 'patchedDependencies:\n  ms@2.1.3: patches/ms@2.1.3.patch\n');
    } else {
      const root = path.join(eco.app, 'package.json');
      const r = readJson(root);
      r.pnpm = { patchedDependencies: { 'ms@2.1.3': 'patches/ms@2.1.3.patch' } };
      writeJson(root, r);
    }
  });
}

/** What the rewrite must add for a patched dependency: the copied patch, named where pnpm reads it. */
function configurePatches(targetDir: string, major: number, patched: Record<string, string>): void {
  if (major >= 11) {
    const file = path.join(targetDir, 'pnpm-workspace.yaml');
    const doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    doc.patchedDependencies = patched;
    writeFileSync(file, stringifyYaml(doc));
  } else {
    const file = path.join(targetDir, 'package.json');
    const m = readJson(file);
    m.pnpm = { ...m.pnpm, patchedDependencies: patched };
    writeJson(file, m);
  }
}

async function writeFlattened(input: FlattenInput): Promise<{ text: string; problems: unknown[] }> {
  const result = await flattenLockfile(input);
  if (result.problems.length === 0) {
    writeFileSync(path.join(input.target.dir, 'pnpm-lock.yaml'), result.lockfileText);
    for (const w of result.extraWrites) {
      mkdirSync(path.dirname(w.path), { recursive: true });
      writeFileSync(w.path, w.contents);
    }
  }
  return { text: result.lockfileText, problems: result.problems };
}

describe.each(MAJORS)('a target with catalogs, own overrides, a patch, peers and aliases, pnpm %i', (major) => {
  let eco: ReturnType<typeof scenario>;
  let original: Manifest;
  let input: FlattenInput;
  let text: string;
  let wsInstalled: Map<string, string>;

  beforeAll(async () => {
    eco = scenario(major);
    expectOk(pnpm(major, ['install', '--no-frozen-lockfile'], eco.app), 'workspace install');
    wsInstalled = installedPackages(eco.app);
    original = readJson(path.join(eco.app, 'backend', 'package.json'));
    expectOk(dockerPrep(['pack'], eco.app, eco.cacheHome), 'docker-prep pack');
    const first = await flattenLockfile(flattenInputFromTree({ root: eco.app, targetRel: 'backend', original, major }));
    configurePatches(path.join(eco.app, 'backend'), major, first.patchedDependencies);
    input = flattenInputFromTree({ root: eco.app, targetRel: 'backend', original, major });
    const written = await writeFlattened(input);
    expect(written.problems).toEqual([]);
    text = written.text;
  });
  afterAll(() => eco?.cleanup());

  it('records what pnpm checks: resolved catalogs, overrides, the copied patch, peers and aliases', () => {
    const doc = parseYaml(text) as {
      catalogs?: unknown;
      overrides: Record<string, string>;
      patchedDependencies: Record<string, unknown>;
      importers: Record<string, { dependencies: Record<string, { specifier: string; version: string }>; devDependencies: Record<string, { specifier: string; version: string }> }>;
      snapshots: Record<string, unknown>;
    };
    expect(doc.catalogs).toBeUndefined();
    expect(doc.overrides).toEqual(input.overrides);
    expect(doc.overrides.semver).toBe('7.8.6');
    expect(Object.keys(doc.patchedDependencies)).toEqual(['ms@2.1.3']);
    const deps = doc.importers['.']!.dependencies;
    expect(deps.ms!.specifier).toBe('^2.1.3');
    expect(deps.ms!.version).toMatch(/^2\.1\.3\(patch_hash=/);
    expect(deps['my-ms']!.version).toMatch(/^ms@2\.1\.3\(patch_hash=/);
    expect(deps.slog!.version).toBe('@scope/logger@file:../.docker-deps/scope-logger-1.2.0.tgz');
    // The target's peer on a packed package is auto-installed, pointed at the tarball by the override.
    expect(deps['@scope/db']!.version).toBe('file:../.docker-deps/scope-db-2.0.1.tgz');
    expect(deps['@scope/auth']!.version).toBe('file:../.docker-deps/scope-auth-0.3.0.tgz(@scope/config@file:../.docker-deps/scope-config-1.0.0.tgz)');
    expect(doc.importers['.']!.devDependencies.semver!.specifier).toBe('7.8.6');
    const copied = path.join(eco.app, '.docker-deps', 'patches', 'ms@2.1.3.patch');
    expect(readFileSync(copied, 'utf8')).toBe(PATCH);
  });

  it('installs frozen from the target folder and the output folder alone, registry unreachable, patch applied', () => {
    const flat = flattenInPlace(eco, 'backend');
    try {
      expectOk(pnpm(major, ['install', '--frozen-lockfile', SCOPE_DEAD], flat.dir), 'frozen install');
      const installed = installedPackages(flat.dir);
      const external = [...installed.keys()].filter((k) => !k.includes('@file:'));
      expect(external.length).toBeGreaterThanOrEqual(2);
      for (const key of external) expect(installed.get(key), key).toBe(wsInstalled.get(key));
      const msIndex = readFileSync(path.join(flat.dir, 'node_modules', 'ms', 'index.js'), 'utf8');
      expect(msIndex.startsWith('// patched for docker-prep')).toBe(true);
      const before = lockfileDoc(path.join(flat.dir, 'pnpm-lock.yaml'));
      expectOk(pnpm(major, ['install', '--lockfile-only', SCOPE_DEAD], flat.dir), 'lockfile-only');
      expect(lockfileDoc(path.join(flat.dir, 'pnpm-lock.yaml'))).toEqual(before);
      expectOk(pnpm(major, ['install', '--lockfile-only', '--fix-lockfile', SCOPE_DEAD], flat.dir), 'fix-lockfile');
      expect(lockfileDoc(path.join(flat.dir, 'pnpm-lock.yaml'))).toEqual(before);
    } finally {
      flat.undo();
    }
  });

  it('is deterministic: the same input, in any order of the packed list, gives the same bytes', async () => {
    const again = await flattenLockfile({ ...input, packed: [...input.packed].reverse() });
    expect(again.lockfileText).toBe(text);
  });
});

/**
 * Registry packages with peers inside packed packages: in the workspace, logger's ajv-keywords finds
 * its peer ajv among logger's devDependencies; flattened, logger's devDependencies are gone, so the
 * peer comes from wherever pnpm finds it now (db's ajv, or an auto-installed one). The suffixes of
 * every package on the way change; versions must not.
 */
describe.each(MAJORS)('registry peers inside packed packages, pnpm %i', (major) => {
  let eco: ReturnType<typeof ecosystemFor>;
  const setup = (): ReturnType<typeof ecosystemFor> => ecosystemFor(major, (e) => {
    const logger = path.join(e.plat, 'packages', 'logger', 'package.json');
    const l = readJson(logger);
    l.dependencies = { ...l.dependencies, 'ajv-keywords': '5.1.0' };
    l.devDependencies = { ajv: '8.12.0' };
    writeJson(logger, l);
    const db = path.join(e.plat, 'packages', 'db', 'package.json');
    const d = readJson(db);
    d.dependencies = { ...d.dependencies, ajv: '8.12.0', 'ajv-keywords': '5.1.0' };
    writeJson(db, d);
  });
  beforeAll(() => {
    eco = setup();
  });
  afterAll(() => eco?.cleanup());

  it('installs frozen and pnpm re-derives the same lockfile', () => {
    expectOk(pnpm(major, ['install', '--no-frozen-lockfile'], eco.app), 'workspace install');
    const wsInstalled = installedPackages(eco.app);
    expectOk(dockerPrep(['pack', '--lockfile'], eco.app, eco.cacheHome), 'docker-prep pack --lockfile');
    const text = readFileSync(path.join(eco.app, 'backend', 'pnpm-lock.yaml'), 'utf8');
    expect(text).toContain('ajv-keywords@5.1.0(ajv@8.12.0)');
    const flat = flattenInPlace(eco, 'backend');
    try {
      expectOk(pnpm(major, ['install', '--frozen-lockfile', SCOPE_DEAD], flat.dir), 'frozen install');
      const installed = installedPackages(flat.dir);
      for (const key of [...installed.keys()].filter((k) => !k.includes('@file:'))) expect(installed.get(key), key).toBe(wsInstalled.get(key));
      const file = path.join(flat.dir, 'pnpm-lock.yaml');
      const before = lockfileDoc(file);
      expectOk(pnpm(major, ['install', '--lockfile-only', '--fix-lockfile', SCOPE_DEAD], flat.dir), 'fix-lockfile');
      expect(lockfileDoc(file)).toEqual(before);
    } finally {
      flat.undo();
    }
  });
});
