import path from 'node:path';
import { resolveSpecifier } from '../closure/resolve-specifier.js';
import type { Problem } from '../errors.js';
import type { Manifest, Workspace, WorkspaceProject } from '../types.js';

/** The lifecycle scripts `pnpm pack`/`publish` drop from the published manifest (they only make sense in the source repo). */
const PUBLISH_LIFECYCLE_SCRIPTS = new Set(['prepublishOnly', 'prepack', 'prepare', 'postpack', 'publish', 'postpublish']);

/** The `publishConfig` keys pnpm 10 copies over the top-level fields (and removes from publishConfig). */
const PUBLISH_CONFIG_OVERRIDES = new Set([
  'bin',
  'engines',
  'type',
  'imports',
  'main',
  'module',
  'typings',
  'types',
  'exports',
  'browser',
  'esnext',
  'es2015',
  'unpkg',
  'umd:main',
  'os',
  'cpu',
  'libc',
  'typesVersions',
]);

const CONVERTED_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/**
 * The manifest `pnpm pack` (pnpm 10) would write into the tarball: `workspace:` and `catalog:`
 * specifiers replaced by what a registry understands, `jsr:` turned into its npm alias, `pnpm`,
 * `packageManager` and the publish lifecycle scripts removed, `publishConfig` overrides applied.
 *
 * Key order (the tarball must be byte-reproducible, pnpm 10's is not): top-level keys come in the
 * order pnpm builds them, which is deterministic: the source order without `pnpm`/`packageManager`,
 * `scripts` moved to the end, a `publishConfig` override keeps the position of the field it replaces
 * and is appended when the field was absent. Inside every dependency map the keys keep the source
 * manifest's order; pnpm 10 writes them in the order its asynchronous conversions complete, which is
 * where its non-reproducibility comes from.
 *
 * Problems (unknown workspace package, missing or invalid catalog entry, bad `jsr:` name) are
 * returned as data; the specifier is then left as written.
 */
export function exportManifest(project: WorkspaceProject, ws: Workspace): { manifest: Manifest; problems: Problem[] } {
  const source = structuredClone(project.manifest);
  const problems: Problem[] = [];
  const shownPath = toPosix(path.relative(ws.root, project.manifestPath));
  const who = source.name ?? shownPath;

  const out: Manifest = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'pnpm' || key === 'scripts' || key === 'packageManager') continue;
    out[key] = value;
  }
  if (source.scripts != null) {
    const scripts: Record<string, string> = {};
    for (const [name, body] of Object.entries(source.scripts)) if (!PUBLISH_LIFECYCLE_SCRIPTS.has(name)) scripts[name] = body;
    out.scripts = scripts;
  }

  const convert = (depName: string, spec: string, peer: boolean): string => {
    let exported = spec;
    const peerOperator = peer ? /^workspace:(>=|>|<=|<)$/.exec(spec)?.[1] : undefined;
    if (peerOperator !== undefined) {
      // Only peers accept a bare comparison operator: pnpm appends the workspace version to it.
      const project = ws.byName.get(depName);
      if (project) return `${peerOperator}${project.manifest.version ?? '0.0.0'}`;
    }
    if (spec.startsWith('workspace:') || spec.startsWith('catalog:')) {
      const res = resolveSpecifier(depName, spec, ws, project.dir);
      if (res.kind === 'error') {
        problems.push(specifierProblem(res.reason, `${who} (${shownPath}): ${res.message}`, shownPath));
        return spec;
      }
      exported = res.exported;
    }
    if (exported.startsWith('jsr:')) {
      const npm = jsrToNpmSpecifier(depName, exported);
      if (npm === null) {
        problems.push({
          code: 'INVALID_JSR_SPECIFIER',
          message: `${who} (${shownPath}): "${depName}": "${spec}" does not name a scoped JSR package (@scope/name)`,
          hint: 'write JSR dependencies as "jsr:@scope/name@<range>", as pnpm requires',
          path: shownPath,
        });
        return spec;
      }
      exported = npm;
    }
    return exported;
  };

  for (const field of CONVERTED_FIELDS) {
    const deps = source[field];
    if (deps == null) continue;
    const converted: Record<string, string> = {};
    for (const [depName, spec] of Object.entries(deps)) converted[depName] = convert(depName, spec, false);
    out[field] = converted;
  }
  if (source.peerDependencies != null) {
    const converted: Record<string, string> = {};
    for (const [depName, spec] of Object.entries(source.peerDependencies)) converted[depName] = convert(depName, spec, true);
    out.peerDependencies = converted;
  }

  const publishConfig = out.publishConfig;
  if (publishConfig != null && typeof publishConfig === 'object') {
    for (const key of Object.keys(publishConfig)) {
      if (!PUBLISH_CONFIG_OVERRIDES.has(key)) continue;
      out[key] = publishConfig[key];
      delete publishConfig[key];
    }
    if (Object.keys(publishConfig).length === 0) delete out.publishConfig;
  }

  return { manifest: out, problems };
}

function specifierProblem(reason: 'unknown-catalog' | 'invalid-catalog-entry' | 'unknown-workspace-package', message: string, shownPath: string): Problem {
  switch (reason) {
    case 'unknown-catalog':
      return { code: 'UNKNOWN_CATALOG_ENTRY', message, hint: 'add the entry to the catalog in pnpm-workspace.yaml, or change the specifier', path: shownPath };
    case 'invalid-catalog-entry':
      return { code: 'INVALID_CATALOG_ENTRY', message, hint: 'give the catalog entry a plain version range in pnpm-workspace.yaml', path: shownPath };
    case 'unknown-workspace-package':
      return {
        code: 'UNKNOWN_WORKSPACE_PACKAGE',
        message,
        hint: 'add the package to the "packages" globs of pnpm-workspace.yaml, or fix the specifier',
        path: shownPath,
      };
  }
}

/** `jsr:@scope/name@range` -> `npm:@jsr/scope__name@range`, as pnpm publishes it; null when no scoped name can be found. */
function jsrToNpmSpecifier(depName: string, spec: string): string | null {
  const body = spec.slice('jsr:'.length);
  let jsrName: string;
  let selector: string | undefined;
  if (body.startsWith('@')) {
    const at = body.lastIndexOf('@');
    jsrName = at === 0 ? body : body.slice(0, at);
    selector = at === 0 ? undefined : body.slice(at + 1);
  } else {
    if (body.includes('@')) return null;
    jsrName = depName;
    selector = body;
  }
  const slash = jsrName.indexOf('/');
  if (!jsrName.startsWith('@') || slash === -1) return null;
  const npmName = `@jsr/${jsrName.slice(1, slash)}__${jsrName.slice(slash + 1)}`;
  return selector ? `npm:${npmName}@${selector}` : `npm:${npmName}`;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
