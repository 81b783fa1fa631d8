import { promises as fsp, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Manifest } from '../types.js';

export interface ListedFile {
  /** Path inside the package, POSIX, without `package/`. */
  path: string;
  /** Absolute path of the bytes on disk. */
  source: string;
}

const MANIFEST_FILE_NAMES = new Set(['package.json', 'package.json5', 'package.yaml']);

/**
 * The files `pnpm pack` (pnpm 10) puts into the tarball of the package in `dir`, chosen by
 * `@pnpm/fs.packlist` (npm-packlist 5: `files`, .npmignore/.gitignore, always-included and
 * always-excluded names) from the PUBLISHED manifest, as pnpm does, so `publishConfig` overrides of
 * `main`/`bin` count. Like pnpm, when the package ships no license file of its own, the LICENSE files
 * of its workspace folder (`findWorkspaceDir`) are added. Sorted by path in code-unit order (never
 * locale order: it must be the same everywhere).
 */
export async function listPackageFiles(dir: string, manifest: Manifest, workspaceDir: string | null): Promise<ListedFile[]> {
  // Loaded on first use: a warm run answers from the listing snapshot and never needs npm-packlist.
  // A CommonJS package is taken through `default` (its module.exports): that is the one export both
  // Node's loader and the bundle's lazily loaded chunk give it.
  const { packlist } = (await import('@pnpm/fs.packlist')).default;
  const listed = await packlist(dir, { packageJsonCache: { [path.join(dir, 'package.json')]: structuredClone(manifest) } });
  const byPath = new Map<string, ListedFile>();
  for (const raw of listed) {
    const rel = raw.split(path.sep).join('/');
    // A package.json5/yaml manifest is shipped as package.json (its content is the published manifest).
    const shipped = MANIFEST_FILE_NAMES.has(rel) ? 'package.json' : rel;
    if (!byPath.has(shipped)) byPath.set(shipped, { path: shipped, source: path.join(dir, raw) });
  }
  if (!byPath.has('package.json')) byPath.set('package.json', { path: 'package.json', source: path.join(dir, 'package.json') });

  if (workspaceDir !== null && workspaceDir !== dir && ![...byPath.keys()].some((f) => /LICEN[CS]E(?:\..+)?/i.test(f))) {
    for (const name of await workspaceLicenses(workspaceDir)) {
      if (!byPath.has(name)) byPath.set(name, { path: name, source: path.join(workspaceDir, name) });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `LICEN{S,C}E{,.*}` at the top of the workspace, files only (the glob pnpm uses). */
async function workspaceLicenses(workspaceDir: string): Promise<string[]> {
  const names = (await fsp.readdir(workspaceDir, { withFileTypes: true }))
    .filter((e) => e.isFile() && /^LICEN[SC]E(?:\..*)?$/.test(e.name))
    .map((e) => e.name);
  return names.sort();
}

// Set by the bundler (scripts/bundle.mjs) to the version it bundled; absent when run from dist/ or src/.
declare const __DOCKER_PREP_PACKLIST_VERSION__: string | undefined;

let cachedPacklistVersion: string | undefined = typeof __DOCKER_PREP_PACKLIST_VERSION__ === 'string' ? __DOCKER_PREP_PACKLIST_VERSION__ : undefined;

/** The @pnpm/fs.packlist version in use: its rules decide file lists, so cached lists are keyed by it. */
export function packlistVersion(): string {
  if (cachedPacklistVersion === undefined) {
    const entry = createRequire(import.meta.url).resolve('@pnpm/fs.packlist');
    const manifest = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version?: string };
    cachedPacklistVersion = manifest.version ?? 'unknown';
  }
  return cachedPacklistVersion;
}
