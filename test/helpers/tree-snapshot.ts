import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** path -> "mode sha256" (or "link target" / "dir mode"), for byte-for-byte tree comparisons. */
export function snapshotTree(root: string, opts: { ignore?: (rel: string) => boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const ignore = opts.ignore ?? ((rel: string) => rel === '.git' || rel.startsWith('.git/') || rel.split('/').includes('node_modules'));
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (ignore(rel)) continue;
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(abs);
      } else out[rel] = `${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
    }
  };
  walk(root);
  return out;
}
