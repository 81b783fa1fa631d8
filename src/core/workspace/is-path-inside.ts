import path from 'node:path';

/** Whether `child` is `parent` or lies below it (lexically: resolve symlinks first where that matters). */
export function isPathInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** `path.relative` with POSIX separators, as relDir and problem paths use them. */
export function posixRelative(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/');
}
