import path from 'node:path';

/**
 * Decides whether a string found in a manifest, workspace file or lockfile points into an output
 * folder. Everything is in "root space": POSIX paths relative to the repo root, which may start with
 * `../` for files of the git repository that lie outside the root.
 */
export interface OutMatcher {
  /** The output folders, root-relative POSIX, e.g. `.docker-deps`. */
  readonly outs: readonly string[];
  /** Substrings every reference must contain (each output folder's last segment). */
  readonly needles: readonly string[];
  /** Cheap pre-filter: whether `text` can reference an output folder at all. */
  mayReference(text: string): boolean;
  /** The output folder `value` points into, or null; `fileDir` is the root-relative folder of the file holding it. */
  match(value: string, fileDir: string): string | null;
}

/** `file:`, `link:` and `portal:` specifiers, also behind an alias or a lockfile key's `name@` (`@scope/a@file:../x.tgz`). */
const PROTOCOL = /^(?:\S*?@)?(?:file|link|portal):(.+)$/;
const ARCHIVE = /\.(?:tgz|tar\.gz|tar)$/i;

export function createOutMatcher(root: string, outs: readonly string[]): OutMatcher {
  const rootPosix = toPosix(root);
  const normalized = [...new Set(outs.map((o) => normalizeOut(rootPosix, o)))];
  const needles = [...new Set(normalized.map((o) => o.split('/').filter((s) => s !== '..' && s !== '.').pop() ?? o))].filter((n) => n !== '');
  return {
    outs: normalized,
    needles,
    mayReference: (text) => needles.some((n) => text.includes(n)),
    match(value, fileDir) {
      if (/\s/.test(value)) return null; // script lines and prose, not specifiers
      const proto = PROTOCOL.exec(value);
      let p = proto ? proto[1]! : value;
      if (!proto && !ARCHIVE.test(p) && !p.includes('/')) return null;
      p = p.replace(/\\/g, '/');
      if (p.startsWith('//')) p = p.replace(/^\/+/, '/'); // file:///abs/path
      const resolved = p.startsWith('/') || /^[A-Za-z]:\//.test(p) ? path.posix.relative(rootPosix, p) : path.posix.normalize(path.posix.join(fileDir || '.', p));
      for (const out of normalized) if (resolved === out || resolved.startsWith(out + '/')) return out;
      return null;
    },
  };
}

/** An `--out` value as a root-relative POSIX path without a trailing slash. */
export function normalizeOut(rootPosix: string, out: string): string {
  const o = toPosix(out);
  const rel = o.startsWith('/') ? path.posix.relative(rootPosix, o) : path.posix.normalize(o);
  return rel.replace(/\/+$/, '').replace(/^\.\//, '') || '.';
}

export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Whether a root-relative path lies inside the folder `dir` (root-relative too). */
export function isInside(rel: string, dir: string): boolean {
  return rel === dir || rel.startsWith(dir + '/');
}
