import { createHash } from 'node:crypto';
import { readFileSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { resolveSpecifier } from '../closure/resolve-specifier.js';
import { DockerPrepError, failWithProblems, ioError, type Problem } from '../errors.js';
import { DEP_FIELDS, type Manifest, type PackedFile, type PackedPackage, type Workspace, type WorkspaceProject } from '../types.js';
import { buildTarball, GZIP_LEVEL, type TarEntry } from './build-tarball.js';
import { binEntries, findMissingEntryPoints, normalizeTarget, type MissingEntryPoint } from './entry-points.js';
import { exportManifest } from './export-manifest.js';
import { findWorkspaceDir } from '../fs/find-workspace-dir.js';
import { pathExists } from '../fs/path-exists.js';
import type { InputLog } from '../plan/input-log.js';
import { listPackageFiles, packlistVersion, type ListedFile } from './list-package-files.js';
import { isRacy, listingInputsUnchanged, signature, statListingInputs, type ListingSnapshot } from './listing-snapshot.js';
import { mapLimit } from './map-limit.js';
import { PackCache, type CachedTarball } from './pack-cache.js';
import { AFTER_PACK_SCRIPTS, BEFORE_PACK_SCRIPTS, runLifecycleScript } from './run-lifecycle-script.js';
import { findSecretFiles } from './secret-files.js';
import { tarballFileName } from './tarball-name.js';

export interface PackPackagesOptions {
  /** Absolute; e.g. $XDG_CACHE_HOME/docker-prep (outside the repo). */
  cacheDir: string;
  /** --allow-secrets: pack files that look like credentials instead of refusing. */
  allowSecrets?: boolean;
  /** --scripts: run prepack, prepare, postpack like `pnpm pack`; default off. */
  runScripts?: boolean;
  /** How many packages are listed/packed at once; default 8 (the work is mostly I/O). */
  concurrency?: number;
  /** Stops starting new work when aborted; then throws signal.reason. */
  signal?: AbortSignal;
  onProgress?: (e: { done: number; total: number; name: string }) => void;
  /** Environment for lifecycle scripts (the core never reads process.env). */
  env?: NodeJS.ProcessEnv;
  /** Records what each tarball was made from (stats taken before reading), for a plan snapshot. */
  inputs?: InputLog;
}

/**
 * Identifies everything about the tarball format that is not in the inputs: bump it whenever the
 * layout, the header fields or the compression change, so no cached tarball of the old format is reused.
 */
const FORMAT = `docker-prep-pack/1 gzip-level=${GZIP_LEVEL}`;
const DEFAULT_CONCURRENCY = 8;

/** One file of a package as listed and stat-ed before any content is read. */
interface ListedEntry extends PackedFile {
  /** Absolute path of the bytes, or null for package.json (written from the published manifest). */
  source: string | null;
}

interface Prepared {
  project: WorkspaceProject;
  name: string;
  version: string;
  manifest: Manifest;
  manifestJson: Buffer;
  entries: ListedEntry[];
  /** Hash of the file stats and the manifest; null when a file changed too recently to trust its stat. */
  fingerprint: string | null;
  /** A file-list snapshot to record once writing is allowed (null when the list came from the cache or cannot be trusted). */
  listing: { key: string; snapshot: ListingSnapshot } | null;
}

/**
 * Packs workspace packages the way `pnpm pack --config.ignore-scripts=true` does (same files, same
 * published manifest), but byte-reproducibly and in-process, into the content cache under
 * `opts.cacheDir`. Nothing is written into the repo. Results are sorted by name.
 *
 * 1. With `runScripts`, each package's prepack and prepare scripts run first (dependencies first,
 *    one at a time), as `pnpm pack` runs them before it lists files. By default no script runs: the
 *    tarballs then depend only on the files on disk (hermetic, and no build runs on every pack).
 * 2. Every package is listed (from a cached listing while the stats it depends on are unchanged,
 *    else by npm-packlist) and checked; all problems of all packages (entry points missing from the
 *    tarball, files that look like secrets, unresolvable specifiers) are thrown together before
 *    anything is written to the cache.
 * 3. Each package is looked up in the cache, by a stat fingerprint (no content read) and then by a
 *    content hash, and packed only when both miss. postpack scripts run last.
 */
export async function packPackages(projects: WorkspaceProject[], ws: Workspace, opts: PackPackagesOptions): Promise<PackedPackage[]> {
  if (!path.isAbsolute(opts.cacheDir)) {
    throw new DockerPrepError('CACHE_DIR_NOT_ABSOLUTE', `the pack cache folder must be an absolute path, got "${opts.cacheDir}"`, {
      kind: 'usage',
      hint: 'set XDG_CACHE_HOME to an absolute path, or leave it unset',
    });
  }
  const { signal } = opts;
  signal?.throwIfAborted();
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const sorted = [...projects].sort((a, b) => compare(a.manifest.name ?? a.relDir, b.manifest.name ?? b.relDir));
  const scriptOrder = opts.runScripts ? dependenciesFirst(sorted, ws) : [];
  if (opts.runScripts) opts.inputs?.untrusted('lifecycle scripts may change any file');
  const env = opts.env ?? {};

  for (const project of scriptOrder) {
    for (const stage of BEFORE_PACK_SCRIPTS) {
      signal?.throwIfAborted();
      await runLifecycleScript(project.dir, project.manifest, stage, { env, signal });
    }
  }

  const problemsByPackage: Problem[][] = sorted.map(() => []);
  const cache = new PackCache(opts.cacheDir);
  const prepared = await mapLimit(sorted, concurrency, (project, i) => preparePackage(project, ws, cache, opts, problemsByPackage[i]!), signal);
  const problems = problemsByPackage.flat();
  if (problems.length > 0) failWithProblems(problems);

  let done = 0;
  const packed = await mapLimit(
    prepared,
    concurrency,
    async (p) => {
      const result = await producePackage(p, cache);
      opts.onProgress?.({ done: ++done, total: prepared.length, name: p.name });
      return result;
    },
    signal,
  );

  for (const project of scriptOrder) {
    for (const stage of AFTER_PACK_SCRIPTS) {
      signal?.throwIfAborted();
      await runLifecycleScript(project.dir, project.manifest, stage, { env, signal });
    }
  }
  return packed;
}

async function preparePackage(project: WorkspaceProject, ws: Workspace, cache: PackCache, opts: PackPackagesOptions, problems: Problem[]): Promise<Prepared> {
  const source = await publishSource(project);
  if (source !== project) opts.inputs?.untrusted('publishConfig.directory');
  const shownDir = toPosix(path.relative(ws.root, source.dir)) || '.';
  const exported = exportManifest(source, ws);
  problems.push(...exported.problems);
  const manifest = exported.manifest;
  const name = typeof manifest.name === 'string' ? manifest.name : '';
  const version = typeof manifest.version === 'string' ? manifest.version : '';
  if (name === '' || version === '') {
    problems.push({
      code: 'PACKAGE_NOT_PUBLISHABLE',
      message: `${shownDir}/package.json has no ${name === '' ? '"name"' : '"version"'}, so it cannot be packed`,
      hint: 'give the package a name and a version, as pnpm pack requires',
      path: `${shownDir}/package.json`,
    });
  }
  // pnpm writes the manifest as JSON.stringify(manifest, null, 2), no final newline; so do we.
  const manifestJson = Buffer.from(JSON.stringify(manifest, null, 2));

  const listingKey = sha256Hex(`${FORMAT}\npacklist=${packlistVersion()}\n${source.dir}\n`, manifestJson);
  let listed: ListedFile[];
  let listing: Prepared['listing'] = null;
  const known = cache.listing(listingKey);
  if (known !== null && listingInputsUnchanged(known.watched)) {
    listed = known.files;
    for (const [p, sig] of known.watched) opts.inputs?.stat(p, sig);
  } else {
    try {
      const workspaceDir = await findWorkspaceDir(source.dir);
      const watched = statListingInputs(source.dir, workspaceDir, manifest, Date.now());
      listed = await listPackageFiles(source.dir, manifest, workspaceDir);
      if (watched !== null) listing = { key: listingKey, snapshot: { files: listed, watched } };
      if (watched === null) opts.inputs?.untrusted(`the file list of ${shownDir} cannot be snapshot`);
      else for (const [p, sig] of watched) opts.inputs?.stat(p, sig);
    } catch (err) {
      throw ioError(err, 'list the files of', source.dir);
    }
  }
  const executables = executableTargets(manifest);
  // Synchronous on purpose, here and for the reads below: packages hold thousands of small files, and
  // a thread-pool round trip per stat or read costs more than the system call (3x on a warm run).
  const stats = listed.map((f): BigIntStats | null => {
    if (f.path === 'package.json') return null;
    try {
      return statSync(f.source, { bigint: true });
    } catch (err) {
      throw ioError(err, 'read', f.source);
    }
  });
  const entries: ListedEntry[] = listed.map((f, i) => {
    const st = stats[i];
    if (!st) return { path: f.path, source: null, size: manifestJson.length, mode: 0o644 };
    const executable = executables.files.has(f.path) || executables.dirs.some((d) => f.path.startsWith(d)) || (st.mode & 0o111n) !== 0n;
    return { path: f.path, source: f.source, size: Number(st.size), mode: executable ? 0o755 : 0o644 };
  });

  const fileSet = new Set(entries.map((e) => e.path));
  for (const miss of findMissingEntryPoints(manifest, fileSet)) {
    problems.push(await missingEntryPointProblem(miss, name || shownDir, source.dir, ws.root));
  }
  if (!opts.allowSecrets) {
    for (const secret of findSecretFiles(fileSet)) {
      const shown = toPosix(path.relative(ws.root, path.join(source.dir, secret)));
      problems.push({
        code: 'SECRET_FILE',
        message: `${name || shownDir}: ${secret} looks like a secret (.env*, *.pem, id_rsa*, .npmrc) and would be packed`,
        hint: `keep it out of the package ("files" or .npmignore in ${shownDir}), or pass --allow-secrets if it is meant to ship`,
        path: shown,
      });
    }
  }

  const fingerprint = fingerprintOf(manifestJson, entries, stats);
  const { inputs } = opts;
  if (inputs) {
    if (fingerprint === null) inputs.untrusted(`a file of ${shownDir} changed too recently to trust its stat`);
    stats.forEach((st, i) => {
      if (st) inputs.stat(listed[i]!.source, signature(st));
    });
  }
  return { project, name, version, manifest, manifestJson, entries, fingerprint, listing };
}

/** With `publishConfig.directory`, pnpm packs that sub-folder, with the manifest found there. */
async function publishSource(project: WorkspaceProject): Promise<WorkspaceProject> {
  const sub = project.manifest.publishConfig?.directory;
  if (typeof sub !== 'string' || sub === '') return project;
  const dir = path.join(project.dir, sub);
  try {
    const { readProjectManifest } = (await import('@pnpm/read-project-manifest')).default; // rare: not loaded unless needed
    const { manifest, fileName } = await readProjectManifest(dir);
    return { ...project, dir, manifestPath: path.join(dir, fileName), manifest: manifest as Manifest };
  } catch (err) {
    throw new DockerPrepError('PUBLISH_DIRECTORY_UNREADABLE', `${project.manifest.name ?? project.relDir}: publishConfig.directory "${sub}" has no readable manifest`, {
      kind: 'config',
      hint: 'build the package first so its publish directory holds a package.json, or remove publishConfig.directory',
      cause: err,
    });
  }
}

/**
 * Files that get mode 0755: bin targets, every file under `directories.bin` (both as pnpm links them)
 * and `publishConfig.executableFiles`. Files executable on disk get it too (pnpm 10 would write
 * 0644 for them; keeping the bit is what a user who made a script executable expects).
 */
function executableTargets(manifest: Manifest): { files: Set<string>; dirs: string[] } {
  const files = new Set<string>();
  const dirs: string[] = [];
  for (const [, target] of binEntries(manifest)) {
    const p = normalizeTarget(target);
    if (p) files.add(p);
  }
  const directories = manifest.directories as { bin?: unknown } | undefined;
  if (manifest.bin == null && typeof directories?.bin === 'string') {
    const p = normalizeTarget(directories.bin);
    if (p) dirs.push(`${p}/`);
  }
  const executableFiles = manifest.publishConfig?.executableFiles;
  if (Array.isArray(executableFiles)) {
    for (const f of executableFiles) {
      const p = typeof f === 'string' ? normalizeTarget(f) : null;
      if (p) files.add(p);
    }
  }
  return { files, dirs };
}

async function missingEntryPointProblem(miss: MissingEntryPoint, name: string, dir: string, root: string): Promise<Problem> {
  if (miss.path === null) {
    return {
      code: 'MISSING_ENTRY_POINT',
      message: `${name}: ${miss.field} "${miss.target}" points outside the package, so it cannot be in the tarball`,
      hint: `point ${miss.field} at a file inside the package`,
      path: toPosix(path.relative(root, path.join(dir, 'package.json'))),
    };
  }
  const abs = path.join(dir, miss.path);
  const shown = toPosix(path.relative(root, abs));
  const onDisk = !miss.path.includes('*') && (await pathExists(abs));
  return onDisk
    ? {
        code: 'MISSING_ENTRY_POINT',
        message: `${name}: ${miss.field} "${miss.target}" is left out of the tarball: ${shown} exists, but "files" or .npmignore exclude it`,
        hint: `add ${miss.path} to "files" in ${toPosix(path.relative(root, path.join(dir, 'package.json')))} (or stop ignoring it)`,
        path: shown,
      }
    : {
        code: 'MISSING_ENTRY_POINT',
        message: `${name}: ${miss.field} "${miss.target}" is missing: no ${miss.path.includes('*') ? 'file matches ' : ''}${shown}`,
        hint: `build the package first, e.g. \`pnpm --filter ${name} build\``,
        path: shown,
      };
}

/**
 * The warm-path key: the manifest and, for each file, its path and stat (size, mtime, ctime, inode,
 * device, mode). A `touch` changes it, and the content hash then finds the same tarball. A file whose
 * ctime is within the file system's timestamp granularity of now could still change without changing
 * its stat ("racy" in git's terms); then no fingerprint is recorded and the next run hashes contents.
 */
function fingerprintOf(manifestJson: Buffer, entries: ListedEntry[], stats: (BigIntStats | null)[]): string | null {
  const now = Date.now();
  const hash = createHash('sha256').update(`${FORMAT}\n`).update(manifestJson).update('\n');
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const st = stats[i];
    if (!st) {
      hash.update(`${e.path}\0-\n`);
      continue;
    }
    if (isRacy(st, now)) return null;
    hash.update(`${e.path}\0${e.source}\0${signature(st)}\0${e.mode}\n`);
  }
  return hash.digest('hex');
}

async function producePackage(p: Prepared, cache: PackCache): Promise<PackedPackage> {
  if (p.listing !== null) await cache.recordListing(p.listing.key, p.listing.snapshot);
  if (p.fingerprint !== null) {
    const hit = cache.byFingerprint(p.fingerprint);
    if (hit) return result(p, cache, hit, true);
  }

  const tarEntries: TarEntry[] = p.entries.map((e): TarEntry => {
    if (e.source === null) return { path: e.path, mode: e.mode, data: p.manifestJson };
    try {
      return { path: e.path, mode: e.mode, data: readFileSync(e.source) };
    } catch (err) {
      throw ioError(err, 'read', e.source);
    }
  });
  // The content key covers exactly what buildTarball turns into bytes, plus the format.
  const keyHash = createHash('sha256').update(`${FORMAT}\n`);
  for (const e of tarEntries) {
    keyHash.update(`${e.path}\0${e.mode}\0${e.data.length}\0`).update(e.data);
  }
  const key = keyHash.digest('hex');
  // Sizes as read, not as stat-ed: a file may have changed in between, the tarball holds what was read.
  const sized: Prepared = { ...p, entries: p.entries.map((e, i) => ({ ...e, size: tarEntries[i]!.data.length })) };

  let meta = cache.byContent(key);
  const fromCache = meta !== null;
  if (meta === null) {
    const tarball = await buildTarball(tarEntries);
    meta = {
      sha256: createHash('sha256').update(tarball).digest('hex'),
      integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
      size: tarball.length,
    };
    await cache.store(key, tarball, meta);
  }
  if (p.fingerprint !== null) await cache.recordFingerprint(p.fingerprint, key, meta);
  return result(sized, cache, meta, fromCache);
}

function result(p: Prepared, cache: PackCache, meta: CachedTarball, fromCache: boolean): PackedPackage {
  const files: PackedFile[] = p.entries.map((e) => ({ path: e.path, size: e.size, mode: e.mode }));
  return {
    name: p.name,
    version: p.version,
    fileName: tarballFileName(p.name, p.version),
    cachePath: cache.tarballPath(meta.sha256),
    sha256: meta.sha256,
    integrity: meta.integrity,
    size: meta.size,
    unpackedSize: files.reduce((sum, f) => sum + f.size, 0),
    files,
    manifest: p.manifest,
    fromCache,
  };
}

/**
 * The order lifecycle scripts run in: a package after the workspace packages it depends on (any
 * dependency field, since a build may need its devDependencies built), ties and cycles broken by name.
 */
function dependenciesFirst(projects: WorkspaceProject[], ws: Workspace): WorkspaceProject[] {
  const inSet = new Set(projects);
  const order: WorkspaceProject[] = [];
  const state = new Map<WorkspaceProject, 'visiting' | 'done'>();
  const visit = (project: WorkspaceProject): void => {
    if (state.has(project)) return;
    state.set(project, 'visiting');
    const deps = new Set<WorkspaceProject>();
    for (const field of DEP_FIELDS) {
      for (const [depName, spec] of Object.entries(project.manifest[field] ?? {})) {
        const res = resolveSpecifier(depName, spec, ws, project.dir);
        if (res.kind === 'workspace' && inSet.has(res.project) && res.project !== project) deps.add(res.project);
      }
    }
    for (const dep of [...deps].sort((a, b) => compare(a.manifest.name ?? '', b.manifest.name ?? ''))) visit(dep);
    state.set(project, 'done');
    order.push(project);
  };
  for (const project of projects) visit(project);
  return order;
}

function sha256Hex(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
