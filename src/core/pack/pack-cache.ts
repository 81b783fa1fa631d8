import { randomUUID } from 'node:crypto';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ioError } from '../errors.js';
import type { ListedFile } from './list-package-files.js';
import type { ListingSnapshot } from './listing-snapshot.js';

/** What the cache knows about one tarball; the tarball itself lives at `tarballPath(sha256)`. */
export interface CachedTarball {
  sha256: string;
  integrity: string;
  size: number;
}

/**
 * The pack content cache under `<cacheDir>/pack-v1/`:
 * - `tarballs/<sha256>.tgz`: tarballs, named by their own hash, so a file never changes once written;
 * - `contents/<content key>.json`: content key (hash of everything that goes into a tarball) -> tarball;
 * - `fingerprints/<fingerprint>.json`: stat fingerprint of a package's files -> content key and tarball,
 *   the warm path that reads no file contents;
 * - `listings/<listing key>.json`: a package's file list with the stats it depends on (ListingSnapshot),
 *   so the warm path does not run npm-packlist either.
 * Every write is temp file + rename, so a concurrent run sees a whole file or none; two runs writing
 * the same entry write the same thing. Nothing is ever rewritten in place, so no locking is needed.
 * Lookups are synchronous: small files, cheaper without a thread-pool round trip.
 */
export class PackCache {
  readonly root: string;
  private readonly madeDirs = new Map<string, Promise<unknown>>();

  constructor(cacheDir: string) {
    this.root = path.join(cacheDir, 'pack-v1');
  }

  tarballPath(sha256: string): string {
    return path.join(this.root, 'tarballs', `${sha256}.tgz`);
  }

  byFingerprint(fingerprint: string): (CachedTarball & { key: string }) | null {
    const entry = this.readJson(path.join(this.root, 'fingerprints', `${fingerprint}.json`));
    if (entry === null || typeof entry.key !== 'string' || !isCachedTarball(entry)) return null;
    return this.tarballIsWhole(entry) ? { key: entry.key, sha256: entry.sha256, integrity: entry.integrity, size: entry.size } : null;
  }

  byContent(key: string): CachedTarball | null {
    const entry = this.readJson(path.join(this.root, 'contents', `${key}.json`));
    if (entry === null || !isCachedTarball(entry)) return null;
    return this.tarballIsWhole(entry) ? { sha256: entry.sha256, integrity: entry.integrity, size: entry.size } : null;
  }

  /** Stores a new tarball and its content key; the tarball is on disk (and synced) before anything points at it. */
  async store(key: string, tarball: Buffer, meta: CachedTarball): Promise<void> {
    await this.writeAtomic(this.tarballPath(meta.sha256), tarball, true);
    await this.writeAtomic(path.join(this.root, 'contents', `${key}.json`), Buffer.from(JSON.stringify(meta)), false);
  }

  async recordFingerprint(fingerprint: string, key: string, meta: CachedTarball): Promise<void> {
    await this.writeAtomic(path.join(this.root, 'fingerprints', `${fingerprint}.json`), Buffer.from(JSON.stringify({ key, ...meta })), false);
  }

  listing(key: string): ListingSnapshot | null {
    const entry = this.readJson(path.join(this.root, 'listings', `${key}.json`));
    if (entry === null || !Array.isArray(entry.files) || !Array.isArray(entry.watched)) return null;
    const files = entry.files as unknown[];
    const watched = entry.watched as unknown[];
    const fileOk = (f: unknown): f is ListedFile =>
      f !== null && typeof f === 'object' && typeof (f as ListedFile).path === 'string' && typeof (f as ListedFile).source === 'string';
    const pairOk = (w: unknown): w is [string, string] => Array.isArray(w) && w.length === 2 && typeof w[0] === 'string' && typeof w[1] === 'string';
    if (!files.every(fileOk) || !watched.every(pairOk)) return null;
    return { files, watched };
  }

  async recordListing(key: string, snapshot: ListingSnapshot): Promise<void> {
    await this.writeAtomic(path.join(this.root, 'listings', `${key}.json`), Buffer.from(JSON.stringify(snapshot)), false);
  }

  /** A truncated or missing tarball (a crash, a user cleaning up) is a miss, never a result. */
  private tarballIsWhole(meta: CachedTarball): boolean {
    try {
      const st = statSync(this.tarballPath(meta.sha256));
      return st.isFile() && st.size === meta.size;
    } catch {
      return false;
    }
  }

  private readJson(file: string): Record<string, unknown> | null {
    try {
      const value: unknown = JSON.parse(readFileSync(file, 'utf8')); // small; sync is cheaper than a thread-pool trip
      return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null;
    } catch {
      return null; // absent, unreadable or torn by something else: treat as a miss and re-pack
    }
  }

  private async writeAtomic(file: string, data: Buffer, sync: boolean): Promise<void> {
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      const dir = path.dirname(file);
      let made = this.madeDirs.get(dir);
      if (made === undefined) this.madeDirs.set(dir, (made = fsp.mkdir(dir, { recursive: true })));
      await made;
      const handle = await fsp.open(tmp, 'w', 0o644);
      try {
        await handle.writeFile(data);
        if (sync) await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw ioError(err, 'write the pack cache file', file);
    }
  }
}

function isCachedTarball(v: Record<string, unknown>): v is Record<string, unknown> & CachedTarball {
  return typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256) && typeof v.integrity === 'string' && typeof v.size === 'number';
}
