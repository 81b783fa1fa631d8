import { realpathSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { failWithProblems, type Problem } from '../errors.js';
import { tarballFileName } from '../pack/tarball-name.js';
import { DEP_FIELDS, type Closure, type ClosureEdge, type DepField, type Workspace, type WorkspaceProject } from '../types.js';
import { isPathInside } from '../workspace/is-path-inside.js';
import { WORKSPACE_FILE } from '../workspace/workspace-file-name.js';
import { findCycles } from './find-cycles.js';
import { parseSpecifier, resolveSpecifier } from './resolve-specifier.js';

export interface ClosureOptions {
  /** Absolute folders from --project; without them every inside project that needs an outside package is a target. */
  projects?: string[];
}

/** A Docker build stage installs every dependency kind of the project it builds. */
const TARGET_FIELDS: readonly DepField[] = DEP_FIELDS;
/** What installing a tarball pulls in: never its devDependencies; peers, since pnpm auto-installs them. */
const PACKED_FIELDS: readonly DepField[] = ['dependencies', 'optionalDependencies', 'peerDependencies'];

/** npm's rules for a package name, loosened to legacy upper case: the name becomes a file name in the output folder. */
const VALID_NAME = /^(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*\/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$/;

interface ResolvedEdge {
  field: DepField;
  depName: string;
  spec: string;
  project: WorkspaceProject;
  range: string;
  satisfied: boolean;
}

interface BrokenEdge {
  field: DepField;
  depName: string;
  spec: string;
  reason: 'unknown-catalog' | 'invalid-catalog-entry' | 'unknown-workspace-package';
  message: string;
}

/**
 * Which workspace packages the targets need, transitively, and who asks for each at which range.
 * Targets contribute all dependency kinds, packed packages what installing them pulls in. Every
 * workspace package reached by an edge is packed, a target included when another project needs it:
 * the image has no workspace to resolve it from. Problems (unsatisfied ranges, missing siblings,
 * missing catalog entries, unusable names or versions) are collected and thrown together.
 */
export function computeClosure(ws: Workspace, opts: ClosureOptions = {}): Closure {
  const problems: Problem[] = [];
  const edgeCache = new Map<WorkspaceProject, { ok: ResolvedEdge[]; broken: BrokenEdge[] }>();
  const edgesOf = (p: WorkspaceProject, fields: readonly DepField[]): { ok: ResolvedEdge[]; broken: BrokenEdge[] } => {
    let all = edgeCache.get(p);
    if (!all) {
      all = resolveAll(ws, p);
      edgeCache.set(p, all);
    }
    return { ok: all.ok.filter((e) => fields.includes(e.field)), broken: all.broken.filter((e) => fields.includes(e.field)) };
  };

  const targets = opts.projects ? selectProjects(ws, opts.projects, problems) : detectTargets(ws, edgesOf);
  if (problems.length > 0) failWithProblems(problems);

  const edges: ClosureEdge[] = [];
  const graph = new Map<string, Set<string>>();
  const reached = new Map<WorkspaceProject, { by: string; field: DepField }>();
  const queue: WorkspaceProject[] = [];

  const expand = (from: WorkspaceProject, asTarget: boolean): void => {
    const fromLabel = asTarget ? from.relDir : label(from);
    const who = describeRequester(from, asTarget);
    const { ok, broken } = edgesOf(from, asTarget ? TARGET_FIELDS : PACKED_FIELDS);
    for (const b of broken) problems.push(brokenEdgeProblem(ws, from, who, b));
    for (const e of ok) {
      const to = label(e.project);
      const edge: ClosureEdge = { from: fromLabel, to, field: e.field, specifier: e.spec, range: e.range };
      if (e.depName !== e.project.manifest.name) edge.alias = e.depName;
      if (asTarget) edge.fromTarget = true;
      edges.push(edge);
      addArc(graph, label(from), to);
      const version = e.project.manifest.version;
      // Without a valid version the range check says nothing; checkPackable reports the version itself.
      if (!e.satisfied && typeof version === 'string' && semver.valid(version) !== null) {
        problems.push({
          code: 'VERSION_UNSATISFIED',
          message: `${to}@${version} (${manifestShown(e.project)}) does not satisfy "${e.range}", requested by ${who} in ${e.field} as "${e.depName}": "${e.spec}"`,
          hint: `bump "version" of ${to} to one matching "${e.range}", or change the range in ${manifestShown(from)}${parseSpecifier(e.spec).type === 'catalog' ? ` or in the catalog of ${WORKSPACE_FILE}` : ''}`,
          path: manifestShown(from),
        });
      }
      if (!reached.has(e.project)) {
        reached.set(e.project, { by: who, field: e.field });
        queue.push(e.project);
      }
    }
  };

  for (const t of targets) expand(t, true);
  while (queue.length > 0) expand(queue.shift()!, false);

  const packages = [...reached.keys()].sort((a, b) => compare(label(a), label(b)) || compare(a.relDir, b.relDir));
  problems.push(...checkPackable(packages, reached));
  if (problems.length > 0) failWithProblems(problems);

  const cycles = findCycles(graph.keys(), (n) => graph.get(n) ?? []);
  return { targets, packages, edges, cycles };
}

/** Every dependency of `p` that names a workspace package (any field), plus the ones that cannot be resolved. */
function resolveAll(ws: Workspace, p: WorkspaceProject): { ok: ResolvedEdge[]; broken: BrokenEdge[] } {
  const ok: ResolvedEdge[] = [];
  const broken: BrokenEdge[] = [];
  for (const field of DEP_FIELDS) {
    const deps = p.manifest[field];
    if (!deps) continue;
    for (const [depName, spec] of Object.entries(deps)) {
      const r = resolveSpecifier(depName, spec, ws, p.dir);
      if (r.kind === 'external') continue;
      if (r.kind === 'error') broken.push({ field, depName, spec, reason: r.reason, message: r.message });
      else ok.push({ field, depName, spec, project: r.project, range: r.range, satisfied: r.satisfied });
    }
  }
  return { ok, broken };
}

type EdgesOf = (p: WorkspaceProject, fields: readonly DepField[]) => { ok: ResolvedEdge[]; broken: BrokenEdge[] };

/**
 * The inside projects that need an outside package, directly or through other workspace packages
 * (an inside library that itself uses a sibling is no help in an image without the workspace). A
 * `workspace:` dependency that names no project also makes a target: it usually is an outside
 * package the globs miss, and the error must be shown rather than "nothing to do".
 */
function detectTargets(ws: Workspace, edgesOf: EdgesOf): WorkspaceProject[] {
  const memo = new Map<WorkspaceProject, boolean>();
  const reachesOutside = (start: WorkspaceProject): boolean => {
    const cached = memo.get(start);
    if (cached !== undefined) return cached;
    const seen = new Set<WorkspaceProject>([start]);
    const stack = [start];
    let found = false;
    while (stack.length > 0 && !found) {
      const p = stack.pop()!;
      if (!p.inside) found = true;
      for (const e of edgesOf(p, PACKED_FIELDS).ok) {
        if (!seen.has(e.project)) {
          seen.add(e.project);
          stack.push(e.project);
        }
      }
    }
    memo.set(start, found);
    return found;
  };
  return ws.projects.filter((p) => {
    if (!p.inside) return false;
    const { ok, broken } = edgesOf(p, TARGET_FIELDS);
    return broken.some((b) => b.reason === 'unknown-workspace-package') || ok.some((e) => e.project !== p && reachesOutside(e.project));
  });
}

function selectProjects(ws: Workspace, dirs: string[], problems: Problem[]): WorkspaceProject[] {
  const out: WorkspaceProject[] = [];
  const hint = `pass the folder of a project listed by the "packages" globs of ${WORKSPACE_FILE} and lying inside the repo root ${ws.root}`;
  for (const dir of dirs) {
    let real: string;
    try {
      real = realpathSync(path.resolve(dir));
    } catch {
      problems.push({ code: 'PROJECT_NOT_FOUND', message: `--project ${dir}: the folder does not exist`, hint, path: dir });
      continue;
    }
    const project = ws.projects.find((p) => p.dir === real);
    if (!project) {
      const why = isPathInside(real, ws.root) ? `is not a project of the workspace (no "packages" glob of ${WORKSPACE_FILE} matches it)` : `lies outside the repo root ${ws.root}`;
      problems.push({ code: 'PROJECT_NOT_FOUND', message: `--project ${dir}: ${why}`, hint, path: dir });
    } else if (!project.inside) {
      problems.push({
        code: 'PROJECT_NOT_FOUND',
        message: `--project ${dir}: ${label(project)} lies outside the repo root ${ws.root}; only projects in the Docker context can be targets`,
        hint,
        path: dir,
      });
    } else if (!out.includes(project)) {
      out.push(project);
    }
  }
  return out.sort((a, b) => compare(a.relDir, b.relDir));
}

function brokenEdgeProblem(ws: Workspace, from: WorkspaceProject, who: string, b: BrokenEdge): Problem {
  const where = `${who} in ${b.field}: "${b.depName}": "${b.spec}"`;
  if (b.reason === 'unknown-workspace-package') {
    const parsed = parseSpecifier(b.spec);
    const what = parsed.type === 'workspace-path' ? `the folder ${parsed.path} is not a project of the workspace` : `no workspace project is named ${parsed.type === 'workspace' && parsed.name ? parsed.name : b.depName}`;
    return {
      code: 'WORKSPACE_PACKAGE_NOT_FOUND',
      message: `${where}, but ${what}`,
      hint: `add the package's folder to the "packages" globs of ${WORKSPACE_FILE} (check the "!" exclusions), or fix the dependency in ${manifestShown(from)}`,
      path: manifestShown(from),
    };
  }
  if (b.reason === 'invalid-catalog-entry') {
    return { code: 'CATALOG_ENTRY_INVALID', message: `${where}: ${b.message}`, hint: `give the catalog entry in ${WORKSPACE_FILE} a plain version range`, path: WORKSPACE_FILE };
  }
  const parsed = parseSpecifier(b.spec);
  const catalog = parsed.type === 'catalog' ? parsed.catalog : 'default';
  if (ws.catalogs[catalog] === undefined) {
    const what = catalog === 'default' ? `${WORKSPACE_FILE} defines no default catalog ("catalog:")` : `${WORKSPACE_FILE} defines no catalog named "${catalog}"`;
    return {
      code: 'CATALOG_NOT_FOUND',
      message: `${where}, but ${what}`,
      hint: catalog === 'default' ? `add a "catalog:" section with "${b.depName}" to ${WORKSPACE_FILE}` : `add "catalogs: { ${catalog}: { ... } }" to ${WORKSPACE_FILE}, or fix the catalog name`,
      path: manifestShown(from),
    };
  }
  return {
    code: 'CATALOG_ENTRY_NOT_FOUND',
    message: `${where}, but the ${catalog === 'default' ? 'default catalog' : `catalog "${catalog}"`} of ${WORKSPACE_FILE} has no entry for ${b.depName}`,
    hint: `add "${b.depName}" to that catalog in ${WORKSPACE_FILE}, or use a version range in ${manifestShown(from)}`,
    path: manifestShown(from),
  };
}

/** A packed package needs a usable name and version: both end up in a file name and in lockfiles. */
function checkPackable(packages: WorkspaceProject[], reached: Map<WorkspaceProject, { by: string; field: DepField }>): Problem[] {
  const problems: Problem[] = [];
  const fileNames = new Map<string, WorkspaceProject>();
  for (const p of packages) {
    const asker = reached.get(p)!;
    const file = manifestShown(p);
    const { name, version } = p.manifest;
    if (typeof name !== 'string' || name === '') {
      problems.push({ code: 'PACKAGE_NAME_MISSING', message: `${file} has no "name", but ${asker.by} depends on it (${asker.field})`, hint: `give the package a name in ${file}`, path: file });
      continue;
    }
    if (name.length > 214 || !VALID_NAME.test(name)) {
      problems.push({ code: 'PACKAGE_NAME_INVALID', message: `${file}: "${name}" is not a valid package name, and ${asker.by} depends on it`, hint: 'use a name of the form @scope/name made of letters, digits, "-", "_", "." and "~"', path: file });
      continue;
    }
    if (typeof version !== 'string' || version === '') {
      problems.push({ code: 'PACKAGE_VERSION_MISSING', message: `${name} (${file}) has no "version", but ${asker.by} depends on it (${asker.field})`, hint: `give ${name} a version in ${file}; a packed package needs one`, path: file });
      continue;
    }
    if (semver.valid(version) === null) {
      problems.push({ code: 'PACKAGE_VERSION_INVALID', message: `${name} (${file}) has version "${version}", which is not a valid semver version`, hint: `use a version like 1.2.3 in ${file}`, path: file });
      continue;
    }
    const fileName = tarballFileName(name, version);
    const other = fileNames.get(fileName);
    if (other) {
      problems.push({
        code: 'TARBALL_NAME_COLLISION',
        message: `${label(other)}@${other.manifest.version} and ${name}@${version} would both be packed as ${fileName}`,
        hint: 'rename one of the packages; tarball names must be unique in the output folder',
        path: file,
      });
    } else fileNames.set(fileName, p);
  }
  return problems;
}

function addArc(graph: Map<string, Set<string>>, from: string, to: string): void {
  let s = graph.get(from);
  if (!s) graph.set(from, (s = new Set()));
  s.add(to);
  if (!graph.has(to)) graph.set(to, new Set());
}

function label(p: WorkspaceProject): string {
  return typeof p.manifest.name === 'string' && p.manifest.name !== '' ? p.manifest.name : p.relDir === '' ? '(root)' : p.relDir;
}

function manifestShown(p: WorkspaceProject): string {
  const base = path.basename(p.manifestPath);
  return p.relDir === '' ? base : `${p.relDir}/${base}`;
}

function describeRequester(p: WorkspaceProject, asTarget: boolean): string {
  return `${asTarget ? 'target ' : ''}${label(p)} (${manifestShown(p)})`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
