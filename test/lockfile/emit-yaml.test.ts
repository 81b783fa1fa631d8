import path from 'node:path';
import { convertToLockfileFile, readWantedLockfile, type LockfileFile } from '@pnpm/lockfile.fs';
import { describe, expect, it } from 'vitest';
import { emitLockfileYaml, UnsupportedLockfileShape } from '../../src/core/lockfile/emit-lockfile-yaml.js';
import { lockfileToText, pnpmWriterText } from '../../src/core/lockfile/lockfile-text.js';
import { FIXTURES } from '../helpers/paths.js';

type Obj = Parameters<typeof emitLockfileYaml>[0];

/** Strings that push the scalar style rules: numbers, dates, booleans, indicators, punctuation. */
const TRICKY = [
  '1.0', '1', '0x1F', '0o17', '0b101', '1e5', '.5', '.inf', '-.INF', '.NaN', '1_000', '1_', '2001-01-01', '2001-1-1 10:00:00', '2001-01-01T10:00:00Z',
  'true', 'False', 'NULL', '~', 'null', '<<', 'yes', 'on', 'y', 'n',
  '@scope/x', '-x', '?x', ':x', 'x:', 'x: y', 'a:b', 'x #y', 'x#y', '#x', '!x', '&x', '*x', '|x', '>x', '=x', "'x", '"x', '%x', '`x', ',x', '[x', ']x', '{x', '}x',
  'x,y', 'x[y]', 'x{y}', "it's", 'a b', ' lead', 'trail ', 'é', 'naïve-pkg', '中文',
  '>=18 <20', '^1.2.3 || ^2.0.0', 'file:../.docker-deps/x-1.0.0.tgz(@scope/y@file:../y.tgz)', 'https://codeload.github.com/a/b/tar.gz/abc#sha', 'git+ssh://git@github.com/a/b.git#v1',
  'sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==', '',
];

function trickyLockfile(): Obj {
  const packages: Obj = {};
  const snapshots: Obj = {};
  TRICKY.forEach((s, i) => {
    const id = `p${i}@${i}.0.0`;
    packages[id] = {
      resolution: { integrity: `sha512-${i}`, tarball: s || 'x' },
      engines: { node: s || '*', npm: '>=7' },
      cpu: ['x64', s || 'arm'],
      os: ['!win32'],
      deprecated: s || 'gone',
      peerDependencies: { [`peer-${i}`]: s || '*', version: '1' },
      peerDependenciesMeta: { [`peer-${i}`]: { optional: true } },
      hasBin: true,
      bundledDependencies: i % 2 === 0 ? [s || 'b'] : true,
    };
    snapshots[`${id}(peer-${i}@1.0.0)`] = {
      dependencies: { [s || 'e']: '1.0.0', resolution: '2.0.0', a: s || 'z' },
      optionalDependencies: { z: '1.0.0' },
      transitivePeerDependencies: [s || 't', 'a'],
      optional: true,
    };
  });
  return {
    lockfileVersion: '9.0',
    settings: { autoInstallPeers: true, dedupePeers: true, excludeLinksFromLockfile: false, peersSuffixMaxLength: 100, injectWorkspacePackages: true },
    catalogs: { default: { b: { specifier: '^1.0', version: '1.0.0' }, a: { specifier: 'true', version: '2001-01-01' } } },
    overrides: { 'z@1': '2', 'a>b': '$b', '@s/x@<2': '-' },
    packageExtensionsChecksum: 'sha256-abc',
    pnpmfileChecksum: 'sha256-def',
    patchedDependencies: { 'z@1.0.0': { hash: 'abc', path: 'patches/z@1.0.0.patch' }, 'a@1': 'f00' },
    ignoredOptionalDependencies: ['fsevents', '1.0'],
    time: { 'p1@1.0.0': '2001-01-01T00:00:00.000Z', 'p0@0.0.0': 'x' },
    importers: {
      packages: { dependencies: { a: { specifier: '1.0', version: '1.0.0' } } },
      '.': { dependencies: { [TRICKY[20]!]: { specifier: 'catalog:', version: '1.0.0' } }, dependenciesMeta: { a: { injected: true } }, publishDirectory: 'dist' },
      'apps/x': {},
    },
    packages,
    snapshots,
  };
}

describe('the lockfile emitter writes exactly what pnpm writes', () => {
  it('for the fixture workspace lockfile', async () => {
    const lf = (await readWantedLockfile(path.join(FIXTURES, 'ecosystem', 'app'), { ignoreIncompatible: false }))!;
    const file = convertToLockfileFile(lf);
    expect(emitLockfileYaml(file as unknown as Obj)).toBe(await pnpmWriterText(file));
  });

  it('for strings on every edge of the plain/quoted rules, odd key names and every top-level field', async () => {
    const file = trickyLockfile();
    const ours = emitLockfileYaml(file);
    expect(ours).toBe(await pnpmWriterText(file as unknown as LockfileFile));
    // The quirks are really exercised: blank lines inside an importer named "packages", a
    // dependency named "resolution" sorted first, a float-looking version quoted.
    expect(ours).toContain("  packages:\n\n    dependencies:");
    expect(ours).toContain("      resolution: 2.0.0\n      '-x': 1.0.0");
    expect(ours).toContain("lockfileVersion: '9.0'");
  });

  it('falls back to pnpm\'s writer for shapes it does not cover (multi-line strings)', async () => {
    const file = trickyLockfile();
    (file.packages as Record<string, Record<string, unknown>>)['p0@0.0.0']!.deprecated = 'line one\nline two';
    expect(() => emitLockfileYaml(file)).toThrow(UnsupportedLockfileShape);
    expect(await lockfileToText(file as unknown as LockfileFile)).toBe(await pnpmWriterText(file as unknown as LockfileFile));
  });
});
