import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError, failWithProblems, type Problem } from '../errors.js';
import type { InputLog } from '../plan/input-log.js';
import type { Workspace, WorkspaceProject } from '../types.js';
import { expandPackageGlobs, MANIFEST_NAMES, type GlobMatch } from './expand-package-globs.js';
import { findWorkspaceFile } from './find-workspace-file.js';
import { isPathInside, posixRelative } from './is-path-inside.js';
import { readManifestChecked } from './read-manifest-checked.js';
import { readWorkspaceFile, WORKSPACE_FILE } from './read-workspace-file.js';

/** Manifests read at once: enough to hide latency, few enough to stay far from EMFILE. */
const READ_CONCURRENCY = 16;

/**
 * Discovers the pnpm workspace that `startDir` belongs to: the nearest pnpm-workspace.yaml upward
 * marks the repo root (the Docker context), its globs name the projects, inside or outside the root.
 * Every problem in the workspace file and in every manifest is collected and reported at once
 * (a `config` DockerPrepError, exit 2), so a user fixes them in one round.
 */
export async function loadWorkspace(startDir: string, inputs?: InputLog): Promise<Workspace> {
  let start: string;
  try {
    start = await fsp.realpath(path.resolve(startDir));
  } catch {
    throw new DockerPrepError('CWD_NOT_FOUND', `the folder ${startDir} does not exist`, {
      kind: 'usage',
      hint: 'pass an existing folder with --cwd, or run docker-prep from the app repo root',
    });
  }

  const found = await findWorkspaceFile(start);
  const root = await fsp.realpath(path.dirname(found));
  const workspaceFile = path.join(root, WORKSPACE_FILE);

  const wsFile = await readWorkspaceFile(workspaceFile, undefined, inputs);
  if (!wsFile.ok) failWithProblems(wsFile.problems);
  const { packageGlobs, catalogs } = wsFile.value;

  const globbed = await expandPackageGlobs(root, packageGlobs, inputs);
  if (globbed.problems.length > 0) failWithProblems(globbed.problems);

  const problems: Problem[] = [];
  const candidates = await pickProjectFolders(root, globbed.matches, problems, inputs);

  const read = await mapLimit(candidates, READ_CONCURRENCY, async (c) => ({ c, result: await readManifestChecked(c.manifestPath, c.shownPath, inputs) }));
  const projects: WorkspaceProject[] = [];
  for (const { c, result } of read) {
    if (!result.ok) {
      problems.push(...result.problems);
      continue;
    }
    projects.push({ dir: c.dir, relDir: c.relDir, manifestPath: c.manifestPath, manifest: result.manifest, inside: c.inside });
  }
  projects.sort((a, b) => (a.relDir < b.relDir ? -1 : a.relDir > b.relDir ? 1 : 0));

  const byName = new Map<string, WorkspaceProject>();
  for (const p of projects) {
    const name = p.manifest.name;
    if (typeof name !== 'string' || name === '') continue;
    const other = byName.get(name);
    if (other) {
      problems.push({
        code: 'DUPLICATE_PACKAGE_NAME',
        message: `two workspace projects are named ${name}: ${shownManifest(other)} and ${shownManifest(p)}`,
        hint: `rename one of them, or exclude one from the "packages" globs of ${WORKSPACE_FILE} with a "!" glob`,
        path: shownManifest(p),
      });
      continue;
    }
    byName.set(name, p);
  }

  if (problems.length > 0) failWithProblems(problems);
  return { root, workspaceFile, packageGlobs, catalogs, projects, byName };
}

interface Candidate {
  dir: string;
  relDir: string;
  manifestPath: string;
  shownPath: string;
  inside: boolean;
}

/**
 * Turns glob matches into one candidate per real folder. pnpm dedupes by path only; here two globs
 * (or a symlink) reaching one folder give one project, and a folder with several manifest kinds uses
 * the one pnpm prefers. A match that resolves to the repo root or above it is refused: packing the
 * app repo into its own Docker context is never what was meant.
 */
async function pickProjectFolders(root: string, matches: GlobMatch[], problems: Problem[], inputs?: InputLog): Promise<Candidate[]> {
  const byDir = new Map<string, Candidate & { rank: number }>();
  const resolved = await mapLimit(matches, READ_CONCURRENCY, async (m) => {
    try {
      const dir = await fsp.realpath(path.dirname(m.manifestPath));
      inputs?.realpath(path.dirname(m.manifestPath), dir);
      return { m, dir };
    } catch {
      inputs?.untrusted(`${m.manifestPath} vanished while planning`);
      return { m, dir: null };
    }
  });
  for (const { m, dir } of resolved) {
    if (dir === null) continue; // vanished between glob and realpath, as pnpm ignores ENOENT
    const globDir = path.posix.dirname(m.globPath);
    if (globDir !== '.' && isPathInside(root, dir)) {
      const what = dir === root ? 'the repo root itself' : `${dir}, an ancestor of the repo root`;
      problems.push({
        code: 'WORKSPACE_GLOB_ANCESTOR',
        message: `${WORKSPACE_FILE}: the package globs match ${globDir} which is ${what}; the repo cannot be its own dependency`,
        hint: `narrow the "packages" globs of ${WORKSPACE_FILE} (or remove the symlink ${globDir}) so that they match only project folders`,
        path: WORKSPACE_FILE,
      });
      continue;
    }
    const inside = isPathInside(dir, root);
    const relDir = posixRelative(root, dir);
    const name = path.posix.basename(m.globPath);
    const rank = MANIFEST_NAMES.indexOf(name as (typeof MANIFEST_NAMES)[number]);
    const prev = byDir.get(dir);
    if (prev && prev.rank <= rank) continue;
    const manifestPath = path.join(dir, name);
    byDir.set(dir, { dir, relDir, manifestPath, shownPath: relDir === '' ? name : `${relDir}/${name}`, inside, rank });
  }
  return [...byDir.values()].map(({ rank: _rank, ...c }) => c);
}

function shownManifest(p: WorkspaceProject): string {
  const name = path.basename(p.manifestPath);
  return p.relDir === '' ? name : `${p.relDir}/${name}`;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
