import fs, { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import type { Problem } from '../errors.js';
import type { InputLog } from '../plan/input-log.js';
import { isPathInside } from './is-path-inside.js';
import { WORKSPACE_FILE } from './workspace-file-name.js';

/** The manifest names pnpm looks for in a project folder, in the order it prefers them. */
export const MANIFEST_NAMES = ['package.json', 'package.json5', 'package.yaml'] as const;

/** Folders pnpm never treats as workspace projects (installed copies, not sources). */
const IGNORED_DIRS = ['node_modules', 'bower_components'];

export interface GlobMatch {
  /** Absolute path of the matched manifest, through whatever symlinks the glob followed. */
  manifestPath: string;
  /** The match relative to the root as the glob saw it (POSIX), e.g. `../common_plat/packages/db/package.json`. */
  globPath: string;
}

const HINT = `fix the "packages" globs in ${WORKSPACE_FILE}: list the project folders (e.g. ../common_plat/packages/*), relative to the repo root`;

/**
 * Expands pnpm-workspace.yaml `packages` globs the way pnpm does (@pnpm/fs.find-packages): each glob
 * names project folders, `/package.{json,json5,yaml}` is appended, `!` globs exclude, the root
 * project is always included, node_modules and bower_components are ignored. pnpm's ignore list does
 * not apply to `../` globs (fast-glob matches ignore patterns relative to cwd), so the ignored folders
 * are filtered again here by path segment.
 *
 * Globs that could only be mistakes or tricks are refused before anything is scanned: absolute globs
 * (the Docker context must not depend on one machine's layout), globs that name node_modules, and
 * recursive globs rooted above the repo root (they would scan, and match, the repo itself).
 */
export async function expandPackageGlobs(root: string, globs: string[], inputs?: InputLog): Promise<{ matches: GlobMatch[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const add = (code: string, glob: string, why: string): void => {
    problems.push({ code, message: `${WORKSPACE_FILE}: package glob "${glob}" ${why}`, hint: HINT, path: WORKSPACE_FILE });
  };

  const patterns: string[] = [];
  for (const glob of globs) {
    const negated = glob.startsWith('!');
    const body = negated ? glob.slice(1) : glob;
    if (path.posix.isAbsolute(body) || path.win32.isAbsolute(body)) {
      add('WORKSPACE_GLOB_ABSOLUTE', glob, 'is absolute; workspace globs must be relative to the repo root');
      continue;
    }
    const segments = body.split('/');
    if (!negated && segments.some((s) => IGNORED_DIRS.includes(s))) {
      add('WORKSPACE_GLOB_NODE_MODULES', glob, 'reaches into node_modules; installed copies are not workspace projects');
      continue;
    }
    if (!negated) {
      const base = staticBase(segments);
      const rest = segments.slice(base.length);
      const baseDir = path.resolve(root, ...base);
      if (rest.includes('**') && baseDir !== root && isPathInside(root, baseDir)) {
        add('WORKSPACE_GLOB_ANCESTOR', glob, `scans ${baseDir} recursively, an ancestor of the repo root, so it matches the repo itself`);
        continue;
      }
    }
    for (const name of MANIFEST_NAMES) patterns.push(`${glob.replace(/\/+$/, '')}/${asDynamic(name)}`);
  }
  if (problems.length > 0) return { matches: [], problems };

  const options = {
    cwd: root,
    ignore: IGNORED_DIRS.map((d) => `**/${d}/**`),
    // Not onlyFiles: that would drop a dangling package.json symlink silently; it must be reported.
    onlyFiles: false,
    followSymbolicLinks: true,
    // A folder the user cannot read is skipped, as pnpm does; a manifest that cannot be read is reported later.
    suppressErrors: true,
    unique: true,
    ...(inputs ? { fs: { readdir: recordingReaddir(root, inputs) } } : {}),
  };
  const rootPatterns = MANIFEST_NAMES.map(asDynamic);
  const [found, rootFound] = await Promise.all([patterns.some((p) => !p.startsWith('!')) ? fg(patterns, options) : Promise.resolve([]), fg(rootPatterns, options)]);

  const seen = new Set<string>();
  const matches: GlobMatch[] = [];
  for (const rel of [...rootFound, ...found]) {
    const globPath = path.posix.normalize(rel);
    if (seen.has(globPath)) continue;
    seen.add(globPath);
    if (globPath.split('/').some((s) => IGNORED_DIRS.includes(s))) continue;
    matches.push({ manifestPath: path.resolve(root, globPath), globPath });
  }
  // A folder that happens to be called package.json is no manifest (pnpm globs files only).
  const isDir = await Promise.all(matches.map((m) => fsp.stat(m.manifestPath).then((st) => st.isDirectory(), () => false)));
  return { matches: matches.filter((_, i) => !isDir[i]), problems };
}

/**
 * fast-glob's readdir, recording every folder listing the expansion saw: the matches are a function
 * of those listings (and of the globs), which is what a plan snapshot must be able to check.
 */
function recordingReaddir(root: string, inputs: InputLog): typeof fs.readdir {
  const readdir = (dir: fs.PathLike, options: unknown, callback: (err: NodeJS.ErrnoException | null, entries: Dirent[]) => void): void => {
    fs.readdir(dir, options as { withFileTypes: true }, (err, entries) => {
      if (err === null) inputs.dir(path.resolve(root, String(dir)), entries);
      else inputs.untrusted(`could not list ${String(dir)}`);
      callback(err, entries);
    });
  };
  return readdir as unknown as typeof fs.readdir;
}

/**
 * `[p]ackage.json` matches exactly what `package.json` matches, but fast-glob then lists the folder
 * instead of stat()ing the literal path, and a stat() drops dangling symlinks without a trace.
 */
function asDynamic(name: string): string {
  return `[${name[0]}]${name.slice(1)}`;
}

/** The leading segments of a glob that contain no glob syntax. */
function staticBase(segments: string[]): string[] {
  const base: string[] = [];
  for (const s of segments) {
    if (fg.isDynamicPattern(s)) break;
    base.push(s);
  }
  // The last segment names the project folder itself, not a folder to scan.
  return base.length === segments.length ? base.slice(0, -1) : base;
}
