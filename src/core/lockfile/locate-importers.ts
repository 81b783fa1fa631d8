import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { LockfileObject, ProjectSnapshot } from '@pnpm/lockfile.fs';
import type { Manifest } from '../types.js';

const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'devDependencies'] as const;

export function importerRefs(importer: ProjectSnapshot, fields: readonly ('dependencies' | 'optionalDependencies' | 'devDependencies')[] = DEP_FIELDS): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fields) for (const [alias, ref] of Object.entries(importer[f] ?? {})) out.set(alias, ref);
  return out;
}

export function linkTargetId(fromImporterId: string, ref: string): string {
  return path.posix.normalize(path.posix.join(fromImporterId === '.' ? '' : fromImporterId, ref.slice('link:'.length))) || '.';
}

/**
 * Finds the workspace importer (lockfile project id, relative to the root) of each packed package:
 * first by following `link:` references from the target, then, for packages only reached another way
 * (a peer, an alias), by reading the manifests of the remaining importers.
 */
export async function locateImporters(
  lockfile: LockfileObject,
  root: string,
  targetId: string,
  packedNames: Set<string>,
): Promise<{ byName: Map<string, string>; manifests: Map<string, Manifest> }> {
  const byName = new Map<string, string>();
  const manifests = new Map<string, Manifest>();
  const readName = async (id: string): Promise<string | undefined> => {
    if (manifests.has(id)) return manifests.get(id)!.name;
    const m = await readManifest(path.join(root, id));
    if (m) manifests.set(id, m);
    return m?.name;
  };
  const queue = [targetId];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const id = queue.shift()!;
    const importer = lockfile.importers[id as keyof typeof lockfile.importers];
    if (!importer) continue;
    for (const ref of importerRefs(importer).values()) {
      if (!ref.startsWith('link:')) continue;
      const linked = linkTargetId(id, ref);
      if (seen.has(linked)) continue;
      seen.add(linked);
      const name = await readName(linked);
      if (name && packedNames.has(name) && !byName.has(name)) {
        byName.set(name, linked);
        queue.push(linked);
      }
    }
  }
  if (byName.size < packedNames.size) {
    for (const id of Object.keys(lockfile.importers).sort()) {
      if (seen.has(id)) continue;
      const name = await readName(id);
      if (name && packedNames.has(name) && !byName.has(name)) byName.set(name, id);
    }
  }
  return { byName, manifests };
}

export async function readManifest(dir: string): Promise<Manifest | null> {
  try {
    return JSON.parse((await fsp.readFile(path.join(dir, 'package.json'), 'utf8')).replace(/^\ufeff/, '')) as Manifest;
  } catch {
    return null;
  }
}
