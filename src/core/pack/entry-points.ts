import path from 'node:path';
import type { Manifest } from '../types.js';

export interface EntryPoint {
  /** The manifest field, with the path into `exports` where it came from, e.g. `exports["."].import`. */
  field: string;
  /** The target as written in the manifest. */
  target: string;
}

export interface MissingEntryPoint extends EntryPoint {
  /** The package-relative POSIX path that was looked for (the target normalized), or null when it leaves the package. */
  path: string | null;
}

/**
 * The entry points of a (published) manifest that are absent from the package's file list. A consumer
 * of the tarball would fail on each of them: `main`/`module`/`types`/`typings` are resolved the way
 * Node and TypeScript resolve them (extensions and `index` files tried), `bin` targets must exist
 * exactly, and every target of `exports` (through conditions, subpaths and fallback arrays) must exist;
 * a `*` pattern must match at least one file, a folder mapping (`./dir/`) at least one file below it.
 */
export function findMissingEntryPoints(manifest: Manifest, files: ReadonlySet<string>): MissingEntryPoint[] {
  const missing: MissingEntryPoint[] = [];
  const check = (entry: EntryPoint, candidates: (p: string) => string[]): void => {
    const normalized = normalizeTarget(entry.target);
    if (normalized === null) {
      missing.push({ ...entry, path: null });
      return;
    }
    if (!candidates(normalized).some((c) => files.has(c))) missing.push({ ...entry, path: normalized });
  };

  const inDir = (p: string, file: string): string => (p === '' ? file : `${p}/${file}`);
  const asMain = (p: string): string[] => [p, `${p}.js`, `${p}.json`, `${p}.node`, inDir(p, 'index.js'), inDir(p, 'index.json'), inDir(p, 'index.node')];
  const asModule = (p: string): string[] => [...asMain(p), `${p}.mjs`, inDir(p, 'index.mjs')];
  const asTypes = (p: string): string[] => [p, `${p}.d.ts`, inDir(p, 'index.d.ts'), p.replace(/\.(m|c)?js$/, '.d.$1ts')];

  for (const field of ['main', 'module'] as const) {
    const target = manifest[field];
    if (typeof target === 'string' && target !== '') check({ field, target }, field === 'main' ? asMain : asModule);
  }
  for (const field of ['types', 'typings'] as const) {
    const target = manifest[field];
    if (typeof target === 'string' && target !== '') check({ field, target }, asTypes);
  }
  for (const [name, target] of binEntries(manifest)) check({ field: `bin.${name}`, target }, (p) => [p]);

  for (const entry of exportTargets(manifest.exports)) {
    const normalized = normalizeTarget(entry.target);
    if (normalized === null) {
      missing.push({ ...entry, path: null });
      continue;
    }
    let found: boolean;
    if (normalized.includes('*')) {
      const re = patternRegExp(normalized);
      found = [...files].some((f) => re.test(f));
    } else if (entry.target.endsWith('/')) {
      found = [...files].some((f) => f.startsWith(`${normalized}/`));
    } else {
      found = files.has(normalized);
    }
    if (!found) missing.push({ ...entry, path: normalized });
  }
  return missing;
}

/**
 * The bin commands pnpm would link for a manifest, as [name, target]: a string `bin` is named after
 * the package, commands with unusable names are skipped as pnpm skips them. `directories.bin` is not
 * an entry point (it lists whatever is there).
 */
export function binEntries(manifest: Manifest): [string, string][] {
  const bin = manifest.bin;
  if (bin == null) return [];
  const pairs: [string, unknown][] = typeof bin === 'string' ? [[manifest.name ?? '', bin]] : Object.entries(bin);
  const out: [string, string][] = [];
  for (const [command, target] of pairs) {
    if (typeof target !== 'string') continue;
    const name = command.startsWith('@') ? command.slice(command.indexOf('/') + 1) : command;
    if (name === '' || name === '.' || name === '..') continue;
    if (name !== encodeURIComponent(name) && name !== '$') continue;
    out.push([name, target]);
  }
  return out;
}

/** `./dist/a.js`, `dist/a.js`, `/dist/a.js` -> `dist/a.js`; null when the target leaves the package. */
export function normalizeTarget(target: string): string | null {
  const p = path.posix.normalize(target.replace(/\\/g, '/').replace(/^\/+/, '')).replace(/\/+$/, '');
  if (p === '..' || p.startsWith('../')) return null;
  return p === '.' ? '' : p;
}

function* exportTargets(exports: unknown, where = 'exports'): Generator<EntryPoint> {
  if (typeof exports === 'string') {
    yield { field: where, target: exports };
  } else if (Array.isArray(exports)) {
    for (let i = 0; i < exports.length; i++) yield* exportTargets(exports[i], `${where}[${i}]`);
  } else if (exports !== null && typeof exports === 'object') {
    for (const [key, value] of Object.entries(exports)) yield* exportTargets(value, `${where}[${JSON.stringify(key)}]`);
  }
}

/** A Node subpath pattern: each `*` stands for any string, `/` included. */
function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.+');
  return new RegExp(`^${body}$`);
}
