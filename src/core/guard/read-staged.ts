import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readBlobs, type GitClient } from './git-client.js';

/** git's object id of a blob: sha1 (or sha256 in a sha256 repository) of `blob <size>\0<bytes>`. */
export function gitBlobId(bytes: Buffer, hexLength: number): string {
  const hash = createHash(hexLength === 64 ? 'sha256' : 'sha1');
  hash.update(`blob ${bytes.length}\0`);
  hash.update(bytes);
  return hash.digest('hex');
}

/**
 * The staged bytes of each file (`rootPath` relative to `root`, `oid` its staged blob id).
 *
 * When the file in the working tree hashes to the staged blob id it IS the staged blob, byte for
 * byte, and is taken from the disk: usually every file of a commit, with no git process at all. The
 * rest (partly staged files, files changed since `git add`, files under clean filters) are read from
 * the index in one `git cat-file --batch`.
 */
export async function readStaged<T extends { rootPath: string; oid: string }>(git: GitClient, root: string, files: T[]): Promise<Map<T, Buffer>> {
  const out = new Map<T, Buffer>();
  // Synchronous on purpose: hundreds of small reads finish sooner in one go than through the
  // thread pool, and nothing else is waiting on this process meanwhile.
  for (const f of files) {
    try {
      const bytes = readFileSync(path.join(root, f.rootPath));
      if (gitBlobId(bytes, f.oid.length) === f.oid) out.set(f, bytes);
    } catch {
      // not a readable file on disk: read from the index below
    }
  }
  const rest = files.filter((f) => !out.has(f));
  if (rest.length > 0) {
    const blobs = await readBlobs(git, rest.map((f) => f.oid));
    for (const f of rest) {
      const bytes = blobs.get(f.oid);
      if (bytes !== undefined) out.set(f, bytes);
    }
  }
  return out;
}
