import { realpathSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import type { Catalogs, Workspace, WorkspaceProject } from '../types.js';

/**
 * Every specifier form pnpm accepts in a workspace, as data. Only the forms that can name a workspace
 * package matter to docker-prep; the rest (`file:`, `link:`, git, URLs, tags) pass through untouched.
 */
export type ParsedSpecifier =
  /** `workspace:*|^|~|<range>` or the alias `workspace:<name>@<range>`. */
  | { type: 'workspace'; name: string | null; range: string }
  /** `workspace:../path/to/pkg`. */
  | { type: 'workspace-path'; path: string }
  /** `catalog:` (catalog `default`) or `catalog:<name>`. */
  | { type: 'catalog'; catalog: string }
  /** `npm:<name>@<range>`. */
  | { type: 'npm-alias'; name: string; range: string }
  /** A semver range or version (`^1.2.0`, `1.x`, `*`, ``). */
  | { type: 'range'; range: string }
  | { type: 'other'; raw: string };

export function parseSpecifier(spec: string): ParsedSpecifier {
  if (spec.startsWith('workspace:')) {
    const body = spec.slice('workspace:'.length);
    if (body.startsWith('.') || body.startsWith('/')) return { type: 'workspace-path', path: body };
    const at = body.lastIndexOf('@');
    // `@scope/name@range` or `name@range`; a leading `@` alone is a scope, not a separator.
    if (at > 0) return { type: 'workspace', name: body.slice(0, at), range: body.slice(at + 1) || '*' };
    return { type: 'workspace', name: null, range: body === '' ? '*' : body };
  }
  if (spec.startsWith('catalog:')) return { type: 'catalog', catalog: spec.slice('catalog:'.length).trim() || 'default' };
  if (spec.startsWith('npm:')) {
    const body = spec.slice('npm:'.length);
    const at = body.lastIndexOf('@');
    if (at > 0) return { type: 'npm-alias', name: body.slice(0, at), range: body.slice(at + 1) || '*' };
    return { type: 'npm-alias', name: body, range: '*' };
  }
  if (spec === '' || semver.validRange(spec, { loose: true }) !== null) return { type: 'range', range: spec === '' ? '*' : spec };
  return { type: 'other', raw: spec };
}

export function catalogRange(catalogs: Catalogs, catalog: string, depName: string): string | undefined {
  return catalogs[catalog]?.[depName];
}

export type Resolution =
  /** The dependency is a workspace package: `exported` is the specifier `pnpm pack` would publish. */
  | { kind: 'workspace'; project: WorkspaceProject; range: string; exported: string; satisfied: boolean }
  /** Not a workspace package; `exported` has catalogs resolved, everything else as written. */
  | { kind: 'external'; exported: string }
  | { kind: 'error'; reason: 'unknown-catalog' | 'invalid-catalog-entry' | 'unknown-workspace-package'; message: string };

/**
 * Resolves one dependency entry the way pnpm does in a workspace and the way `pnpm pack` rewrites it
 * on publish. `requesterDir` anchors `workspace:../path` forms.
 */
export function resolveSpecifier(depName: string, spec: string, ws: Pick<Workspace, 'byName' | 'catalogs' | 'projects'>, requesterDir: string): Resolution {
  const parsed = parseSpecifier(spec);
  switch (parsed.type) {
    case 'workspace': {
      const realName = parsed.name ?? depName;
      const project = ws.byName.get(realName);
      if (!project) {
        return { kind: 'error', reason: 'unknown-workspace-package', message: `"${depName}": "${spec}" names ${realName}, which is not a project of the workspace` };
      }
      const version = project.manifest.version ?? '0.0.0';
      const range = publishedRange(parsed.range, version);
      const satisfied = parsed.range === '*' || parsed.range === '^' || parsed.range === '~' || satisfies(version, parsed.range);
      // As pnpm publishes it: `name@*|^|~` becomes the (prefixed) version, under `npm:` when the alias
      // differs; `name@<range>` is always published as `npm:name@<range>`, even when name is the key.
      const isToken = parsed.range === '*' || parsed.range === '^' || parsed.range === '~';
      const exported = parsed.name !== null && (parsed.name !== depName || !isToken) ? `npm:${realName}@${range}` : range;
      return { kind: 'workspace', project, range, exported, satisfied };
    }
    case 'workspace-path': {
      const dir = path.resolve(requesterDir, parsed.path);
      // Project dirs are real paths; the written path may go through a symlink.
      const project = ws.projects.find((p) => p.dir === dir) ?? ws.projects.find((p) => p.dir === realpathOrSelf(dir));
      if (!project) {
        return { kind: 'error', reason: 'unknown-workspace-package', message: `"${depName}": "${spec}" points at ${dir}, which is not a project of the workspace` };
      }
      const version = project.manifest.version ?? '0.0.0';
      const exported = project.manifest.name !== depName ? `npm:${project.manifest.name}@${version}` : version;
      return { kind: 'workspace', project, range: version, exported, satisfied: true };
    }
    case 'catalog': {
      const range = catalogRange(ws.catalogs, parsed.catalog, depName);
      if (range === undefined) {
        const where = parsed.catalog === 'default' ? 'the default catalog (`catalog:`)' : `catalog "${parsed.catalog}"`;
        return { kind: 'error', reason: 'unknown-catalog', message: `"${depName}": "${spec}" but ${where} has no entry for ${depName}` };
      }
      // pnpm refuses these as catalog values; refusing here also ends `catalog:` entries that name a
      // catalog again, which would otherwise recurse forever.
      const protocol = /^(catalog|workspace|link|file):/.exec(range)?.[1];
      if (protocol !== undefined) {
        const where = parsed.catalog === 'default' ? 'the default catalog' : `catalog "${parsed.catalog}"`;
        return { kind: 'error', reason: 'invalid-catalog-entry', message: `"${depName}": "${spec}" but the entry "${range}" in ${where} uses the ${protocol}: protocol, which pnpm does not allow in a catalog` };
      }
      // A catalog entry is itself a specifier; it may name a workspace package (rare but legal).
      const inner = resolveSpecifier(depName, range, ws, requesterDir);
      return inner.kind === 'error' ? inner : inner.kind === 'workspace' ? inner : { kind: 'external', exported: range };
    }
    case 'npm-alias': {
      const project = ws.byName.get(parsed.name);
      if (!project) return { kind: 'external', exported: spec };
      const version = project.manifest.version ?? '0.0.0';
      return { kind: 'workspace', project, range: parsed.range, exported: spec, satisfied: satisfies(version, parsed.range) };
    }
    case 'range': {
      // A plain range naming a workspace package: in the image it could only come from a registry.
      const project = ws.byName.get(depName);
      if (!project) return { kind: 'external', exported: spec };
      const version = project.manifest.version ?? '0.0.0';
      return { kind: 'workspace', project, range: parsed.range, exported: spec, satisfied: satisfies(version, parsed.range) };
    }
    case 'other':
      return { kind: 'external', exported: spec };
  }
}

/** `workspace:*` publishes the exact version, `^`/`~` prefix it, anything else is kept as written. */
function publishedRange(range: string, version: string): string {
  if (range === '*') return version;
  if (range === '^' || range === '~') return `${range}${version}`;
  return range;
}

function satisfies(version: string, range: string): boolean {
  return semver.satisfies(version, range, { includePrerelease: true, loose: true });
}

function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
