import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import fg from 'fast-glob';
import { readProjectManifest } from '@pnpm/read-project-manifest';
import YAML from 'yaml';
import type { Catalogs, Manifest, Workspace, WorkspaceProject } from '../../src/core/types.js';
import { DEP_FIELDS } from '../../src/core/types.js';

/**
 * A Workspace read straight from pnpm-workspace.yaml, independent of src/core/workspace so the packer
 * tests do not move when discovery changes: globs (with `!` negations) via fast-glob, manifests via
 * @pnpm/read-project-manifest, like pnpm.
 */
export async function readTestWorkspace(rootDir: string): Promise<Workspace> {
  const root = realpathSync(rootDir);
  const workspaceFile = path.join(root, 'pnpm-workspace.yaml');
  const doc = (YAML.parse(readFileSync(workspaceFile, 'utf8')) ?? {}) as { packages?: string[]; catalog?: Record<string, string>; catalogs?: Catalogs };
  const packageGlobs = doc.packages ?? [];
  const catalogs: Catalogs = { ...(doc.catalogs ?? {}) };
  if (doc.catalog) catalogs.default = { ...doc.catalog, ...(catalogs.default ?? {}) };
  const patterns = packageGlobs.map((g) => (g.startsWith('!') ? `!${g.slice(1)}/package.json` : `${g}/package.json`));
  const found = await fg([...patterns, 'package.json'], { cwd: root, ignore: ['**/node_modules/**'] });
  const dirs = [...new Set(found.map((f) => realpathSync(path.join(root, path.dirname(f)))))].sort();
  const projects: WorkspaceProject[] = [];
  for (const dir of dirs) {
    const { manifest, fileName } = await readProjectManifest(dir);
    const relDir = path.relative(root, dir).split(path.sep).join('/');
    projects.push({ dir, relDir, manifestPath: path.join(dir, fileName), manifest: manifest as Manifest, inside: !relDir.startsWith('..') });
  }
  const byName = new Map<string, WorkspaceProject>();
  for (const p of projects) if (p.manifest.name) byName.set(p.manifest.name, p);
  return { root, workspaceFile, packageGlobs, catalogs, projects, byName };
}

/** The projects of a workspace whose names start with `prefix` (e.g. `@scope/`). */
export function projectsNamed(ws: Workspace, prefix: string, except: string[] = []): WorkspaceProject[] {
  return ws.projects.filter((p) => p.manifest.name?.startsWith(prefix) && !except.includes(p.manifest.name));
}

/**
 * What `pnpm install` would link for the workspace dependencies of each project: `pnpm pack` reads
 * `node_modules/<dep>/package.json` to turn `workspace:*|^|~` into versions. Symlinks are enough, so
 * the tests need no registry and no store.
 */
export function linkWorkspaceDeps(ws: Workspace): void {
  for (const project of ws.projects) {
    for (const field of DEP_FIELDS) {
      for (const [depName, spec] of Object.entries(project.manifest[field] ?? {})) {
        if (!spec.startsWith('workspace:')) continue;
        const body = spec.slice('workspace:'.length);
        let target: string | undefined;
        if (body.startsWith('./') || body.startsWith('../')) target = path.resolve(project.dir, body);
        else {
          const at = body.lastIndexOf('@');
          target = ws.byName.get(at > 0 ? body.slice(0, at) : depName)?.dir;
        }
        if (!target) continue;
        const link = path.join(project.dir, 'node_modules', depName);
        mkdirSync(path.dirname(link), { recursive: true });
        try {
          symlinkSync(target, link, 'dir');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
    }
  }
}

export interface RawTarEntry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  uname: string;
  gname: string;
  magic: string;
  data: Buffer;
}

/**
 * Reads a .tgz by hand (gunzip, then 512-byte ustar headers), not with tar-stream, so the header
 * checks do not trust the library that wrote them. Handles the ustar prefix field; refuses pax/GNU
 * extensions, which the packer must not need for ordinary names.
 */
export function readTgz(tgz: Buffer): RawTarEntry[] {
  const tar = gunzipSync(tgz);
  const entries: RawTarEntry[] = [];
  let off = 0;
  const str = (b: Buffer, from: number, len: number): string => {
    const s = b.subarray(from, from + len);
    const nul = s.indexOf(0);
    return s.subarray(0, nul === -1 ? len : nul).toString('utf8');
  };
  const oct = (b: Buffer, from: number, len: number): number => parseInt(str(b, from, len).trim() || '0', 8);
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const name = str(h, 0, 100);
    const prefix = str(h, 345, 155);
    const size = oct(h, 124, 12);
    const typeflag = String.fromCharCode(h[156]!);
    if (typeflag !== '0') throw new Error(`unexpected tar entry type ${typeflag} for ${name}`);
    entries.push({
      name: prefix ? `${prefix}/${name}` : name,
      mode: oct(h, 100, 8),
      uid: oct(h, 108, 8),
      gid: oct(h, 116, 8),
      size,
      mtime: oct(h, 136, 12),
      typeflag,
      uname: str(h, 265, 32),
      gname: str(h, 297, 32),
      magic: h.subarray(257, 265).toString('latin1'),
      data: Buffer.from(tar.subarray(off + 512, off + 512 + size)),
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every regular file below `dir` (relative, POSIX), skipping node_modules. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}
