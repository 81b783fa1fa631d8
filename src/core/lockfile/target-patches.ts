import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as dp from '@pnpm/dependency-path';
import type { LockfileObject } from '@pnpm/lockfile.fs';
import type { Problem } from '../errors.js';
import type { PlannedWrite } from '../types.js';
import type { ConfigSource } from './image-config.js';
import { RUN_INSTALL } from './read-workspace-lockfile.js';

/** One patch the flattened target needs, copied into the output folder. */
export interface TargetPatch {
  /** The `patchedDependencies` key, e.g. `ms@2.1.3`. */
  key: string;
  source: string;
  dest: string;
  /** The path the target's config must name (relative to the target folder, POSIX). */
  configPath: string;
  /** The hash as the target's pnpm major records it. */
  hash: string;
  contents: Buffer;
}

/** pnpm 9 hashes patches with base32(md5), pnpm 10+ with hex sha256; both over LF-normalized text. */
export function patchHash(contents: Buffer, major: number): string {
  const text = contents.toString('utf8').split('\r\n').join('\n');
  if (major >= 10) return createHash('sha256').update(text).digest('hex');
  return base32(createHash('md5').update(text).digest());
}

function base32(buf: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** `@types/node@1.0.0` -> `@types__node@1.0.0.patch`: one flat folder, no collisions. */
export function patchFileName(key: string): string {
  return `${key.replace(/\//g, '__')}.patch`;
}

function wsPatchEntry(value: unknown): { hash: string; path?: string } | null {
  if (typeof value === 'string') return { hash: value };
  if (value && typeof value === 'object' && typeof (value as { hash?: unknown }).hash === 'string') {
    const v = value as { hash: string; path?: string };
    return { hash: v.hash, path: typeof v.path === 'string' ? v.path : undefined };
  }
  return null;
}

/** The patch hashes that appear in a set of dep paths (`name@1.0.0(patch_hash=...)`). */
export function patchHashesOf(depPaths: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const depPath of depPaths) {
    const parsed = dp.parse(depPath);
    if (parsed.patchHash && parsed.name) out.set(parsed.patchHash.slice('(patch_hash='.length, -1), parsed.name);
  }
  return out;
}

/**
 * Picks the workspace's patches that the flattened graph uses, checks they are unchanged since the
 * last install, and plans their copy into `<outDir>/patches/`. pnpm fails an install on a configured
 * patch that matches nothing, so only used ones are carried.
 */
export async function planPatches(opts: {
  root: string;
  targetDir: string;
  outDir: string;
  pnpmMajor: number;
  lockfile: LockfileObject;
  rootConfig: ConfigSource;
  /** patch hash -> package name, from the dep paths the flattened graph uses. */
  used: Map<string, string>;
}): Promise<{ patches: TargetPatch[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const patches: TargetPatch[] = [];
  const entries = Object.entries((opts.lockfile.patchedDependencies ?? {}) as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const covered = new Set<string>();
  for (const [key, raw] of entries) {
    const entry = wsPatchEntry(raw);
    if (!entry || !opts.used.has(entry.hash)) continue;
    const name = opts.used.get(entry.hash)!;
    if (!(key === name || key.startsWith(`${name}@`))) continue;
    covered.add(entry.hash);
    const rel = entry.path ?? opts.rootConfig.patchedDependencies?.[key];
    if (rel === undefined) {
      problems.push({
        code: 'LOCKFILE_PATCH_NOT_FOUND',
        message: `the workspace lockfile patches ${key}, but no patch file for it is configured at the repo root`,
        hint: RUN_INSTALL(opts.root),
      });
      continue;
    }
    const source = path.resolve(opts.root, rel);
    let contents: Buffer;
    try {
      contents = await fsp.readFile(source);
    } catch {
      problems.push({ code: 'LOCKFILE_PATCH_NOT_FOUND', message: `the patch file ${rel} for ${key} does not exist`, hint: RUN_INSTALL(opts.root), path: rel });
      continue;
    }
    const hash = patchHash(contents, opts.pnpmMajor);
    if (hash !== entry.hash) {
      const otherMajorHash = patchHash(contents, opts.pnpmMajor >= 10 ? 9 : 10);
      problems.push(
        otherMajorHash === entry.hash
          ? {
              code: 'LOCKFILE_PNPM_MAJOR_MISMATCH',
              message: `the workspace lockfile was written by another pnpm major than the target's (pnpm ${opts.pnpmMajor}): the hash of patch ${key} differs`,
              hint: 'install the workspace with the pnpm major named in packageManager, then run docker-prep again',
            }
          : {
              code: 'LOCKFILE_OUTDATED',
              message: `the patch ${rel} for ${key} changed since the workspace lockfile was written`,
              hint: RUN_INSTALL(opts.root),
              path: rel,
            },
      );
      continue;
    }
    const dest = path.join(opts.outDir, 'patches', patchFileName(key));
    patches.push({ key, source, dest, configPath: path.relative(opts.targetDir, dest).split(path.sep).join('/'), hash, contents });
  }
  for (const [hash, name] of opts.used) {
    if (!covered.has(hash)) {
      problems.push({
        code: 'LOCKFILE_OUTDATED',
        message: `${name} is patched in the workspace lockfile (patch_hash=${hash}), but no patchedDependencies entry matches that hash`,
        hint: RUN_INSTALL(opts.root),
      });
    }
  }
  return { patches, problems };
}

export function patchWrites(patches: TargetPatch[]): PlannedWrite[] {
  return patches.map((p) => ({ path: p.dest, contents: p.contents, mode: 0o644, role: 'patch' as const }));
}

/** The `patchedDependencies` entries the lockfile records for the target's pnpm major. */
export function lockfilePatchedDependencies(patches: TargetPatch[], major: number): Record<string, unknown> | undefined {
  if (patches.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const p of patches) out[p.key] = major >= 11 ? p.hash : { hash: p.hash, path: p.configPath };
  return out;
}
