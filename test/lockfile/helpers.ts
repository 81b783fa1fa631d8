import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import type { FlattenInput } from '../../src/core/lockfile/flatten-lockfile.js';
import type { Manifest, PackedPackage } from '../../src/core/types.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { BIN, PROJECT_ROOT } from '../helpers/paths.js';
import { runPnpm, type PnpmMajor } from '../helpers/pnpm.js';

export const MAJORS: PnpmMajor[] = [9, 10, 11];
export const DEAD_REGISTRY = 'http://127.0.0.1:9/';
export const SCOPE_DEAD = `--config.@scope:registry=${DEAD_REGISTRY}`;

/** One pnpm store per major, shared by every test run on this machine: installs of the fixtures stay fast. */
export const STORE_ROOT = path.join(os.tmpdir(), 'docker-prep-test-pnpm-store');

export function pnpmVersion(major: PnpmMajor): string {
  return (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules', `pnpm${major}`, 'package.json'), 'utf8')) as { version: string }).version;
}

export function pnpmEnv(major: PnpmMajor): NodeJS.ProcessEnv {
  const store = path.join(STORE_ROOT, String(major));
  return {
    npm_config_store_dir: store,
    pnpm_config_store_dir: store,
    npm_config_update_notifier: 'false',
    pnpm_config_update_notifier: 'false',
    pnpm_config_pm_on_fail: 'ignore',
    npm_config_manage_package_manager_versions: 'false',
    // The workspace install must be allowed to update the fixture's lockfile for another major.
    CI: '',
  };
}

export function pnpm(major: PnpmMajor, args: string[], cwd: string): SpawnSyncReturns<string> {
  return runPnpm(major, args, { cwd, env: pnpmEnv(major), timeoutMs: 180_000 });
}

export function expectOk(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function dockerPrep(args: string[], cwd: string, cacheHome: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, XDG_CACHE_HOME: cacheHome, NO_COLOR: '1', ...env },
  });
}

export function readJson<T = Manifest>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8').replace(/^\ufeff/, '')) as T;
}

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** The fixture ecosystem pinned to one pnpm major through `packageManager` (what docker-prep detects). */
export function ecosystemFor(major: PnpmMajor, mutate?: (eco: Ecosystem) => void): Ecosystem & { cacheHome: string } {
  const eco = makeEcosystem();
  for (const repo of [eco.app, eco.plat]) {
    const file = path.join(repo, 'package.json');
    const m = readJson(file);
    m.packageManager = `pnpm@${pnpmVersion(major)}`;
    writeJson(file, m);
  }
  mutate?.(eco);
  const cacheHome = path.join(eco.base, 'xdg-cache');
  mkdirSync(cacheHome, { recursive: true });
  return { ...eco, cacheHome };
}

/** pnpm's current lockfile after an install: what it actually put into node_modules. */
export function installedPackages(dir: string): Map<string, string> {
  const file = path.join(dir, 'node_modules', '.pnpm', 'lock.yaml');
  const doc = parseYaml(readFileSync(file, 'utf8')) as { packages?: Record<string, { resolution?: { integrity?: string } }> };
  const out = new Map<string, string>();
  for (const [key, info] of Object.entries(doc.packages ?? {})) out.set(key, info.resolution?.integrity ?? '');
  return out;
}

/**
 * Replaces the repo with a flattened copy at the SAME absolute path, holding only the target folder
 * (without node_modules) and the output folder, like the image. The full repo and the sibling repo
 * move aside; `undo()` puts everything back. Same path, because pnpm 9 records absolute paths of
 * overridden peers and `--lockfile-only` must be comparable.
 */
export function flattenInPlace(eco: Ecosystem, targetRel: string, outRel = '.docker-deps'): { dir: string; undo: () => void } {
  const full = `${eco.app}.full`;
  const plat = `${eco.plat}.away`;
  renameSync(eco.app, full);
  renameSync(eco.plat, plat);
  mkdirSync(eco.app);
  cpSync(path.join(full, targetRel), path.join(eco.app, targetRel), { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
  cpSync(path.join(full, outRel), path.join(eco.app, outRel), { recursive: true });
  return {
    dir: path.join(eco.app, targetRel),
    undo: () => {
      rmSync(eco.app, { recursive: true, force: true });
      renameSync(full, eco.app);
      renameSync(plat, eco.plat);
    },
  };
}

/** Reads `package/package.json` out of a .tgz (gzip + ustar), for building PackedPackage records. */
export function manifestInTarball(file: string): Manifest {
  const tar = gunzipSync(readFileSync(file));
  let off = 0;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    const full = prefix ? `${prefix}/${name}` : name;
    if (full === 'package/package.json') return JSON.parse(tar.subarray(off + 512, off + 512 + size).toString('utf8')) as Manifest;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no package/package.json in ${file}`);
}

export function packedFromDir(outDir: string): PackedPackage[] {
  return readdirSync(outDir)
    .filter((f) => f.endsWith('.tgz'))
    .sort()
    .map((fileName) => {
      const file = path.join(outDir, fileName);
      const bytes = readFileSync(file);
      const manifest = manifestInTarball(file);
      return {
        name: manifest.name!,
        version: manifest.version!,
        fileName,
        cachePath: file,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
        size: bytes.length,
        unpackedSize: 0,
        files: [],
        manifest,
        fromCache: false,
      };
    });
}

/** The overrides the rewritten config of a target holds, where its pnpm major reads them. */
export function configuredOverrides(targetDir: string, major: number): Record<string, string> {
  if (major >= 11) {
    const file = path.join(targetDir, 'pnpm-workspace.yaml');
    if (!existsSync(file)) return {};
    return ((parseYaml(readFileSync(file, 'utf8')) as { overrides?: Record<string, string> } | null)?.overrides ?? {});
  }
  return readJson(path.join(targetDir, 'package.json')).pnpm?.overrides ?? {};
}

/**
 * The flatten input for an ACTIVE pack, rebuilt from the tree: the rewritten manifest and config on
 * disk, the tarballs in the output folder, and the original manifest the caller kept.
 */
export function flattenInputFromTree(opts: { root: string; targetRel: string; original: Manifest; major: number; outRel?: string }): FlattenInput {
  const outDir = path.join(opts.root, opts.outRel ?? '.docker-deps');
  const dir = path.join(opts.root, opts.targetRel);
  return {
    root: opts.root,
    target: { dir, relDir: opts.targetRel, manifestPath: path.join(dir, 'package.json'), manifest: opts.original, inside: true },
    targetManifest: readJson(path.join(dir, 'package.json')),
    overrides: configuredOverrides(dir, opts.major),
    packed: packedFromDir(outDir),
    tarballSpecifier: (p) => `file:${path.relative(dir, path.join(outDir, p.fileName)).split(path.sep).join('/')}`,
    pnpmMajor: opts.major,
    outDir,
  };
}

export function lockfileDoc(file: string): unknown {
  return parseYaml(readFileSync(file, 'utf8'));
}
