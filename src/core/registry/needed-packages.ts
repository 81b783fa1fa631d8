import { resolveSpecifier } from '../closure/resolve-specifier.js';
import type { Closure, Workspace, WorkspaceProject } from '../types.js';

/** One outside package the build would fetch from the registry, with every range asked of it. */
export interface NeededPackage {
  name: string;
  /** Published ranges (as `pnpm pack` writes them), deduplicated, sorted. */
  ranges: string[];
  /** Who asks: target relDirs and package names. */
  requestedBy: string[];
}

/**
 * The registry's side of the closure: for every package the closure packs (outside the repo, or an
 * inside project another target needs: an image has no workspace to resolve either from), the ranges the installed manifests
 * will ask for once published (`workspace:~` -> `~2.0.1`, `workspace:*` -> `2.0.1`, aliases to their
 * real name). devDependencies of outside packages are not installed from a registry, so they do not
 * count; a target's own devDependencies do (the build installs them).
 */
export function neededPackages(ws: Pick<Workspace, 'byName' | 'catalogs' | 'projects'>, closure: Pick<Closure, 'targets' | 'packages' | 'edges'>): NeededPackage[] {
  const outside = new Map<string, WorkspaceProject>();
  for (const p of closure.packages) if (p.manifest.name) outside.set(p.manifest.name, p);
  const targetByRel = new Map(closure.targets.map((t) => [t.relDir, t]));
  const ranges = new Map<string, { ranges: Set<string>; by: Set<string> }>();
  const add = (name: string, range: string, by: string): void => {
    const slot = ranges.get(name) ?? { ranges: new Set<string>(), by: new Set<string>() };
    slot.ranges.add(range);
    slot.by.add(by);
    ranges.set(name, slot);
  };

  for (const edge of closure.edges) {
    const target = edge.fromTarget === false ? undefined : targetByRel.get(edge.from);
    if (!target && edge.field === 'devDependencies') continue;
    let name = edge.to;
    let range = edge.range;
    if (range === undefined) {
      const requester = target ?? ws.byName.get(edge.from);
      const res = resolveSpecifier(edge.alias ?? edge.to, edge.specifier, ws, requester?.dir ?? '');
      if (res.kind !== 'workspace' || res.project.manifest.name === undefined) continue;
      name = res.project.manifest.name;
      range = res.range;
    }
    if (!outside.has(name)) continue;
    add(name, range, edge.from);
  }
  return [...ranges.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, s]) => ({ name, ranges: [...s.ranges].sort(), requestedBy: [...s.by].sort() }));
}
