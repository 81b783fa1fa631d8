import { chmodSync, cpSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTarball, gzipFixed } from '../../src/core/pack/build-tarball.js';
import { packPackages } from '../../src/core/pack/pack-packages.js';
import type { PackedPackage, Workspace } from '../../src/core/types.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { filesBelow, projectsNamed, readTestWorkspace, readTgz, sha256, tempDir } from './pack-helpers.js';

const shas = (packed: PackedPackage[]): Record<string, string> => Object.fromEntries(packed.map((p) => [p.name, p.sha256]));

describe('byte-reproducible tarballs', () => {
  let eco: Ecosystem;
  let ws: Workspace;
  const caches = [tempDir('dp-cache-a-'), tempDir('dp-cache-b-'), tempDir('dp-cache-c-'), tempDir('dp-cache-d-')];
  let first: PackedPackage[];

  beforeAll(async () => {
    eco = makeEcosystem();
    ws = await readTestWorkspace(eco.app);
    first = await packPackages(projectsNamed(ws, '@scope/'), ws, { cacheDir: caches[0]!.dir });
  });
  afterAll(() => {
    eco?.cleanup();
    for (const c of caches) c.cleanup();
  });

  it('packs every outside package, sorted by name, with hashes that match the bytes', () => {
    expect(first.map((p) => p.name)).toEqual(['@scope/auth', '@scope/config', '@scope/db', '@scope/logger']);
    for (const p of first) {
      const bytes = readFileSync(p.cachePath);
      expect(sha256(bytes)).toBe(p.sha256);
      expect(bytes.length).toBe(p.size);
      expect(p.integrity).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/);
      expect(p.unpackedSize).toBe(readTgz(bytes).reduce((s, e) => s + e.size, 0));
    }
  });

  it('gives the same bytes when packed again, from the cache and into a cold cache', async () => {
    const again = await packPackages(projectsNamed(ws, '@scope/'), ws, { cacheDir: caches[0]!.dir });
    expect(shas(again)).toEqual(shas(first));
    const cold = await packPackages(projectsNamed(ws, '@scope/'), ws, { cacheDir: caches[1]!.dir, concurrency: 1 });
    expect(cold.every((p) => !p.fromCache)).toBe(true);
    expect(shas(cold)).toEqual(shas(first));
    for (const p of cold) expect(readFileSync(p.cachePath).equals(readFileSync(first.find((f) => f.name === p.name)!.cachePath))).toBe(true);
  });

  it('gives the same bytes after every source file is touched, with a warm and with a cold cache', async () => {
    const later = new Date(Date.now() + 3_600_000);
    for (const rel of filesBelow(eco.plat)) utimesSync(path.join(eco.plat, rel), later, later);
    const cold = await packPackages(projectsNamed(ws, '@scope/'), ws, { cacheDir: caches[2]!.dir });
    expect(shas(cold)).toEqual(shas(first));
    const warm = await packPackages(projectsNamed(ws, '@scope/'), ws, { cacheDir: caches[0]!.dir });
    expect(shas(warm)).toEqual(shas(first));
    expect(warm.every((p) => p.fromCache)).toBe(true);
  });

  it('does not depend on where the packages live or on the order they are given in', async () => {
    const elsewhere = tempDir('dp-eco-moved-');
    try {
      cpSync(eco.base, elsewhere.dir, { recursive: true });
      const moved = await readTestWorkspace(path.join(elsewhere.dir, 'app'));
      const packed = await packPackages(projectsNamed(moved, '@scope/').reverse(), moved, { cacheDir: caches[3]!.dir, concurrency: 3 });
      expect(packed.map((p) => p.name)).toEqual(first.map((p) => p.name));
      expect(shas(packed)).toEqual(shas(first));
    } finally {
      elsewhere.cleanup();
    }
  });

  it('changes the bytes when content changes (the test above would pass for a constant)', async () => {
    const file = path.join(eco.plat, 'packages', 'logger', 'dist', 'index.js');
    const before = readFileSync(file);
    try {
      writeFileSync(file, Buffer.concat([before, Buffer.from('// changed\n')]));
      const packed = await packPackages(projectsNamed(ws, '@scope/'), ws, { cacheDir: caches[1]!.dir });
      expect(shas(packed)['@scope/logger']).not.toBe(shas(first)['@scope/logger']);
      expect(shas(packed)['@scope/db']).toBe(shas(first)['@scope/db']);
    } finally {
      writeFileSync(file, before);
    }
  });
});

describe('tarball format', () => {
  let eco: Ecosystem;
  let auth: PackedPackage;
  let bytes: Buffer;
  const cache = tempDir('dp-cache-fmt-');

  beforeAll(async () => {
    eco = makeEcosystem();
    // The bin must be 0755 because it is a bin, not because of the bit on disk.
    chmodSync(path.join(eco.plat, 'packages', 'auth', 'bin', 'auth-token.js'), 0o644);
    chmodSync(path.join(eco.plat, 'packages', 'auth', 'dist', 'index.js'), 0o600);
    const ws = await readTestWorkspace(eco.app);
    [auth] = await packPackages([ws.byName.get('@scope/auth')!], ws, { cacheDir: cache.dir });
    bytes = readFileSync(auth!.cachePath);
  });
  afterAll(() => {
    eco?.cleanup();
    cache.cleanup();
  });

  it('starts with a fixed gzip header: no mtime, no name, XFL 0, OS 3', () => {
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
    expect(() => gunzipSync(bytes)).not.toThrow(); // CRC32 and size trailer are right
  });

  it('holds package/<path> file entries only, sorted, with fixed owner, time and modes', () => {
    const entries = readTgz(bytes);
    const names = entries.map((e) => e.name);
    expect(names).toEqual(['package/bin/auth-token.js', 'package/dist/index.d.ts', 'package/dist/index.js', 'package/package.json']);
    expect(names).toEqual([...names].sort());
    for (const e of entries) {
      expect(e.typeflag).toBe('0');
      expect(e.uid).toBe(0);
      expect(e.gid).toBe(0);
      expect(e.uname).toBe('');
      expect(e.gname).toBe('');
      expect(e.mtime).toBe(499162500); // 1985-10-26T08:15:00Z
      expect(e.magic).toBe('ustar\u000000');
    }
    expect(Object.fromEntries(entries.map((e) => [e.name, e.mode.toString(8)]))).toEqual({
      'package/bin/auth-token.js': '755',
      'package/dist/index.d.ts': '644',
      'package/dist/index.js': '644',
      'package/package.json': '644',
    });
    expect(auth.files.map((f) => [f.path, f.mode.toString(8)])).toEqual(entries.map((e) => [e.name.slice(8), e.mode.toString(8)]));
  });

  it('builds the same bytes whatever order entries come in, and encodes long paths', async () => {
    const long = `${'deep/'.repeat(30)}file.js`;
    const entries = [
      { path: 'b.js', mode: 0o644, data: Buffer.from('b') },
      { path: long, mode: 0o644, data: Buffer.from('long') },
      { path: 'a/z.js', mode: 0o755, data: Buffer.from('z') },
      { path: 'a.js', mode: 0o644, data: Buffer.alloc(0) },
    ];
    const one = await buildTarball(entries);
    const two = await buildTarball([...entries].reverse());
    expect(one.equals(two)).toBe(true);
    expect(readTgz(one).map((e) => e.name)).toEqual(['package/a.js', 'package/a/z.js', 'package/b.js', `package/${long}`]);
    expect(readTgz(one).find((e) => e.name === `package/${long}`)!.data.toString()).toBe('long');
  });

  it('gzips any data with the fixed header and a correct trailer', async () => {
    const data = Buffer.from('x'.repeat(100_000) + 'y');
    const gz = await gzipFixed(data);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect(gz.readUInt32LE(gz.length - 4)).toBe(data.length);
    expect((await gzipFixed(data)).equals(gz)).toBe(true);
  });
});
