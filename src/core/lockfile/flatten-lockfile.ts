import path from 'node:path';
import * as dp from '@pnpm/dependency-path';
import type { LockfileFile, PackageSnapshot } from '@pnpm/lockfile.fs';
import semver from 'semver';
import { DockerPrepError, type Problem } from '../errors.js';
import type { Manifest, PackedPackage, PlannedWrite, WorkspaceProject } from '../types.js';
import { applyOverrides, findOverride, parseOverrides, replaceVersionReferences, type DepsManifest, type ParsedOverride } from './apply-overrides.js';
import { effectiveSettings, jsonEqual, readImageConfig, readRootConfig, type LockfileSettingsValues } from './image-config.js';
import { lockfileToText } from './lockfile-text.js';
import { importerRefs, locateImporters, readManifest } from './locate-importers.js';
import { readWorkspaceLockfile, RUN_INSTALL } from './read-workspace-lockfile.js';
import { resolvePeers, type GraphNode, type ResolvedSnapshot } from './resolve-peers.js';
import { lockfilePatchedDependencies, patchHashesOf, patchWrites, planPatches, type TargetPatch } from './target-patches.js';

export interface FlattenInput {
  /** Repo root (holds the workspace pnpm-lock.yaml). */
  root: string;
  /** The target project, e.g. relDir 'backend'; `target.manifest` is the manifest before the rewrite. */
  target: WorkspaceProject;
  /** The REWRITTEN target manifest (file: specs, catalogs resolved). */
  targetManifest: Manifest;
  /** Exactly the overrides the rewritten config contains (user's + ours). */
  overrides: Record<string, string>;
  /** The whole closure (manifest = as in the tarball, integrity = sha512 of our bytes). */
  packed: PackedPackage[];
  /** 'file:../.docker-deps/scope-db-2.0.1.tgz', relative to the target. */
  tarballSpecifier: (pkg: PackedPackage) => string;
  /** 9, 10, 11, 12. */
  pnpmMajor: number;
  /** Absolute output folder (patch files the target needs are copied there). */
  outDir: string;
}

export interface FlattenResult {
  lockfileText: string;
  /** Copied patch files, role 'patch'. */
  extraWrites: PlannedWrite[];
  problems: Problem[];
  /** The `patchedDependencies` the target's config must hold (key -> path relative to the target). */
  patchedDependencies: Record<string, string>;
  /** Where the time went, in ms (read the workspace lockfile, build the graph, peers, write YAML). */
  timingsMs: { read: number; graph: number; peers: number; write: number };
}

type DepField = 'dependencies' | 'devDependencies' | 'optionalDependencies';

const INFO_FIELDS = ['bundledDependencies', 'cpu', 'deprecated', 'engines', 'hasBin', 'libc', 'name', 'os', 'peerDependencies', 'peerDependenciesMeta', 'resolution', 'version'] as const;

/**
 * Derives the pnpm-lock.yaml of one target folder, installed alone in the image, from the workspace
 * lockfile: every external package keeps the version and integrity the workspace resolved, packed
 * siblings become `file:` tarball entries with our integrity, and only peer suffixes are recomputed
 * (they depend on where a package sits, and the packed siblings sit somewhere new). Nothing touches
 * a registry. What cannot be carried over becomes a Problem; the caller stops on any.
 */
export async function flattenLockfile(input: FlattenInput): Promise<FlattenResult> {
  const { root, target, pnpmMajor: major } = input;
  const problems: Problem[] = [];
  const clock = stopwatch();
  const label = target.relDir || '.';
  const targetId = target.relDir || '.';
  const { lockfile: wsl } = await readWorkspaceLockfile(root);
  const wsImporter = wsl.importers[targetId as keyof typeof wsl.importers];
  if (!wsImporter) {
    throw new DockerPrepError('LOCKFILE_OUTDATED', `the workspace lockfile has no entry for ${label}`, { hint: RUN_INSTALL(root) });
  }

  const imageConfig = await readImageConfig(target.dir, input.targetManifest, major);
  const settings = effectiveSettings(imageConfig);
  const wsSettings = effectiveSettings({ settings: (wsl.settings ?? {}) as Partial<LockfileSettingsValues> });
  const rootConfig = await readRootConfig(root);
  const tRead = clock();

  // --- overrides -------------------------------------------------------------------------------
  const wsOverrides = wsl.overrides ?? {};
  const refs = replaceVersionReferences(input.overrides, input.targetManifest);
  for (const key of refs.unresolved) {
    problems.push({ code: 'LOCKFILE_OVERRIDE_UNRESOLVED', message: `${label}: the override ${key}: ${input.overrides[key]} names a dependency the target does not have`, hint: 'use a version in the override, or add the dependency to the target' });
  }
  const flatOverrides = refs.overrides;
  for (const [key, value] of Object.entries(flatOverrides)) {
    if (value.startsWith('catalog:')) {
      problems.push({ code: 'LOCKFILE_OVERRIDE_CATALOG', message: `${label}: the override ${key}: ${value} uses a catalog, and the image has no workspace file to resolve it`, hint: 'resolve the catalog in the override (write the range)' });
    }
  }
  const flat = parseOverrides(flatOverrides, target.dir);
  const wsParsed = parseOverrides(wsOverrides, root);
  for (const sel of [...flat.invalid, ...wsParsed.invalid]) {
    problems.push({ code: 'LOCKFILE_OVERRIDE_INVALID', message: `cannot parse the override selector "${sel}"`, hint: 'fix the selector in the overrides' });
  }
  const tarballs = new Map<string, PackedPackage>();
  const specOf = new Map<string, string>();
  for (const p of input.packed) {
    const spec = input.tarballSpecifier(p);
    specOf.set(p.name, spec);
    tarballs.set(path.resolve(target.dir, spec.slice('file:'.length)), p);
  }
  const packedOfSpec = (spec: string, dir: string): PackedPackage | undefined =>
    spec.startsWith('file:') ? tarballs.get(path.resolve(dir, spec.slice('file:'.length))) : undefined;
  const isOurs = (o: ParsedOverride): boolean => o.local?.protocol === 'file:' && tarballs.has(path.resolve(o.local.absolutePath));
  for (const [key, value] of Object.entries(wsOverrides)) {
    if (flatOverrides[key] === undefined) {
      problems.push({
        code: 'LOCKFILE_OVERRIDE_DROPPED',
        message: `${label}: the workspace was resolved with the override ${key}: ${value}, which the target's config does not carry`,
        hint: 'carry the root overrides into the target (docker-prep pack does) or run `pnpm install` after removing it',
      });
    }
  }
  const overridden = new Set(flat.parsed.map((o) => o.target.name));
  // Overrides the workspace never resolved with: each edge they touch must already satisfy them.
  const newOverrides = new Set(flat.parsed.filter((o) => !isOurs(o) && wsOverrides[o.selector] !== o.newSpec));

  const checkOverride = (o: ParsedOverride | undefined, where: string, child: { name: string; version: string }): void => {
    if (!o || !newOverrides.has(o)) return;
    if (overrideSatisfied(o.newSpec, child)) return;
    problems.push({
      code: 'LOCKFILE_OVERRIDE_NOT_RESOLVED',
      message: `${label}: the override ${o.selector}: ${o.newSpec} changes ${where}, but the workspace lockfile resolved ${child.name}@${child.version}`,
      hint: `add the same override at the repo root, then ${RUN_INSTALL(root)}`,
    });
  };

  // --- freshness of the workspace lockfile -----------------------------------------------------
  const expected = importerSpecifiers(applyOverrides(target.manifest, wsParsed.parsed, major, target.dir), wsSettings.autoInstallPeers);
  const targetDiff = diffSpecifiers(wsImporter.specifiers ?? {}, expected);
  if (targetDiff.length > 0) {
    throw new DockerPrepError('LOCKFILE_OUTDATED', `the workspace lockfile is out of date for ${label}: ${targetDiff.join('; ')}`, { hint: RUN_INSTALL(root) });
  }
  const packedNames = new Set(input.packed.map((p) => p.name));
  const located = await locateImporters(wsl, root, targetId, packedNames);
  const catalogs = wsl.catalogs ?? {};
  const catalogSpec = (spec: string | undefined, alias: string): string | undefined => {
    if (spec === undefined || !spec.startsWith('catalog:')) return spec;
    const name = spec.slice('catalog:'.length).trim() || 'default';
    return catalogs[name]?.[alias]?.specifier;
  };
  const outdated: string[] = [];
  for (const p of input.packed) {
    const id = located.byName.get(p.name);
    if (!id) continue; // reported when the graph reaches the package
    const imp = wsl.importers[id as keyof typeof wsl.importers]!;
    const source = located.manifests.get(id) ?? (await readManifest(path.join(root, id)));
    if (!source) continue;
    const diff = diffSpecifiers(imp.specifiers ?? {}, importerSpecifiers(applyOverrides(source, wsParsed.parsed, major, path.join(root, id)), wsSettings.autoInstallPeers));
    if (diff.length > 0) outdated.push(`${p.name} (${id}): ${diff.join('; ')}`);
    for (const [alias, spec] of Object.entries(imp.specifiers ?? {})) {
      if (!spec.startsWith('catalog:')) continue;
      const want = p.manifest.dependencies?.[alias] ?? p.manifest.optionalDependencies?.[alias] ?? p.manifest.peerDependencies?.[alias];
      const had = catalogSpec(spec, alias);
      if (want !== undefined && had !== want) outdated.push(`${p.name}: ${alias} is ${want} in the catalog now, the lockfile resolved ${had ?? 'nothing'}`);
    }
  }
  if (outdated.length > 0) {
    throw new DockerPrepError('LOCKFILE_OUTDATED', `the workspace lockfile is out of date:\n  - ${outdated.join('\n  - ')}`, { hint: RUN_INSTALL(root) });
  }

  // --- what the image's configuration must match ---------------------------------------------
  if (wsl.pnpmfileChecksum) {
    problems.push({
      code: 'LOCKFILE_PNPMFILE',
      message: `the workspace lockfile was resolved with a .pnpmfile (pnpmfileChecksum ${wsl.pnpmfileChecksum}); the image installs ${label} without it, so pnpm would reject the lockfile`,
      hint: 'move what the pnpmfile does into overrides or packageExtensions, or build without --lockfile',
    });
  }
  let packageExtensionsChecksum: string | undefined;
  if (wsl.packageExtensionsChecksum || imageConfig.packageExtensions) {
    if (wsl.packageExtensionsChecksum && jsonEqual(imageConfig.packageExtensions ?? null, rootConfig.packageExtensions ?? null)) {
      packageExtensionsChecksum = wsl.packageExtensionsChecksum;
    } else {
      problems.push({
        code: 'LOCKFILE_PACKAGE_EXTENSIONS',
        message: `the packageExtensions the image sees for ${label} differ from those the workspace was resolved with`,
        hint: major >= 11 ? `copy the root packageExtensions into ${label}/pnpm-workspace.yaml, then run docker-prep again` : `copy the root packageExtensions into ${label}/package.json#pnpm, then run docker-prep again`,
      });
    }
  }
  const wsIgnored = wsl.ignoredOptionalDependencies ?? [];
  const imageIgnored = imageConfig.ignoredOptionalDependencies ?? [];
  if (!jsonEqual([...wsIgnored].sort(), [...imageIgnored].sort())) {
    problems.push({
      code: 'LOCKFILE_IGNORED_OPTIONAL',
      message: `ignoredOptionalDependencies of the workspace (${wsIgnored.join(', ') || 'none'}) differ from what the image sees for ${label} (${imageIgnored.join(', ') || 'none'})`,
      hint: `configure the same ignoredOptionalDependencies for ${label}, then run docker-prep again`,
    });
  }

  // --- the graph -------------------------------------------------------------------------------
  const nodes = new Map<string, GraphNode>();
  const infos = new Map<string, Record<string, unknown>>();
  const reportedLinks = new Set<string>();

  const externalNode = (depPath: string, via: string): GraphNode | null => {
    const key = `ws:${depPath}`;
    const existing = nodes.get(key);
    if (existing) return existing;
    const snap = wsl.packages?.[depPath as keyof typeof wsl.packages] as PackageSnapshot | undefined;
    if (!snap) {
      problems.push({ code: 'LOCKFILE_BROKEN', message: `the workspace lockfile has no entry for ${depPath} (needed by ${via})`, hint: RUN_INSTALL(root) });
      return null;
    }
    const parsed = dp.parse(depPath);
    const name = parsed.name ?? snap.name ?? depPath;
    const version = parsed.version ?? snap.version ?? parsed.nonSemverVersion ?? '';
    const res = snap.resolution as { type?: string; tarball?: string; directory?: string };
    if (res.type === 'directory' || (typeof res.tarball === 'string' && res.tarball.startsWith('file:'))) {
      problems.push({
        code: 'LOCKFILE_LOCAL_DEPENDENCY',
        message: `${via} depends on ${name} from a local ${res.type === 'directory' ? 'folder' : 'tarball'} (${res.directory ?? res.tarball}), which is not in the image`,
        hint: 'publish it, or make it a workspace package so docker-prep packs it',
      });
    }
    const peers = peersFromSnapshot(snap);
    const node: GraphNode = { key, pkgId: dp.getPkgIdWithPatchHash(depPath as never), name, version, children: new Map(), optionalChildren: new Set(), peers };
    nodes.set(key, node);
    if (!infos.has(node.pkgId)) infos.set(node.pkgId, pickInfo(snap));
    const optionalDeps = snap.optionalDependencies ?? {};
    const allDeps = snap.optionalDependencies ? { ...snap.dependencies, ...optionalDeps } : (snap.dependencies ?? {});
    for (const alias in allDeps) {
      const ref = allDeps[alias]!;
      const optional = alias in optionalDeps;
      if (ref.startsWith('link:')) {
        linkProblem(`${name}@${version}`, alias, ref);
        continue;
      }
      const childPath = dp.refToRelative(ref, alias);
      if (childPath === null) continue;
      const o = overridden.has(alias) ? findOverride(flat.parsed, { name, version }, alias, dp.parse(childPath).version ?? '*') : undefined;
      let child: GraphNode | null;
      if (o && isOurs(o)) child = packedNode(tarballs.get(path.resolve(o.local!.absolutePath))!, `${name}@${version}`);
      else {
        child = externalNode(childPath, `${name}@${version}`);
        if (child) checkOverride(o, `${alias} of ${name}@${version}`, child);
      }
      if (!child) continue;
      if (peers[alias]) {
        (node.fallbackPeers ??= new Map()).set(alias, child);
        continue;
      }
      node.children.set(alias, child);
      if (optional) node.optionalChildren.add(alias);
    }
    return node;
  };

  const linkProblem = (who: string, alias: string, ref: string): void => {
    const k = `${who}>${alias}`;
    if (reportedLinks.has(k)) return;
    reportedLinks.add(k);
    problems.push({
      code: 'LOCKFILE_LINK_NOT_PORTABLE',
      message: `${who} links ${alias} to a workspace folder (${ref}) that is not packed, and the image holds only ${label} and the output folder`,
      hint: 'make the dependency an outside workspace package (docker-prep packs those) or a published one',
    });
  };

  const packedNode = (p: PackedPackage, via: string): GraphNode => {
    const key = `packed:${p.name}`;
    const existing = nodes.get(key);
    if (existing) return existing;
    const spec = specOf.get(p.name)!;
    let m = applyOverrides(p.manifest as DepsManifest & Manifest, flat.parsed, major, undefined);
    // pnpm's resolver drops dependencies that are also peers when it auto-installs peers.
    if (m.peerDependencies && m.dependencies && settings.autoInstallPeers) {
      const deps = { ...m.dependencies };
      for (const peer of Object.keys(m.peerDependencies)) delete deps[peer];
      m = { ...m, dependencies: deps };
    }
    const peers = peersWithoutOwn(m);
    const node: GraphNode = { key, pkgId: `${p.name}@${spec}`, name: p.name, version: p.version, children: new Map(), optionalChildren: new Set(), peers };
    nodes.set(key, node);
    infos.set(node.pkgId, packedInfo(p, m, peers, spec));
    const id = located.byName.get(p.name);
    const imp = id === undefined ? undefined : wsl.importers[id as keyof typeof wsl.importers];
    if (!imp) {
      problems.push({ code: 'LOCKFILE_OUTDATED', message: `${p.name} (needed by ${via}) is not a project of the workspace lockfile`, hint: RUN_INSTALL(root) });
      return node;
    }
    const wsRefs = importerRefs(imp, ['dependencies', 'optionalDependencies']);
    const bundled = bundledSet(m);
    const optionalNames = new Set(Object.keys(m.optionalDependencies ?? {}));
    for (const [alias, depSpec] of Object.entries({ ...m.optionalDependencies, ...m.dependencies })) {
      if (bundled.has(alias)) continue;
      const q = packedOfSpec(depSpec, target.dir);
      let child: GraphNode | null = null;
      if (q) child = packedNode(q, p.name);
      else {
        const ref = wsRefs.get(alias);
        if (ref === undefined) {
          problems.push({ code: 'LOCKFILE_OUTDATED', message: `the workspace lockfile has no resolution of ${alias} for ${p.name}`, hint: RUN_INSTALL(root) });
          continue;
        }
        if (ref.startsWith('link:')) {
          problems.push({
            code: 'LOCKFILE_SIBLING_NOT_REDIRECTED',
            message: `${p.name} depends on ${alias} (${depSpec}), a workspace sibling, but no override points ${alias} at its tarball: the image would fetch it from a registry`,
            hint: `add an override "${alias}" pointing at the sibling's tarball to ${label}'s config`,
          });
          continue;
        }
        const childPath = dp.refToRelative(ref, alias);
        if (childPath === null) continue;
        child = externalNode(childPath, p.name);
        const original = p.manifest.dependencies?.[alias] ?? p.manifest.optionalDependencies?.[alias] ?? '';
        if (child) checkOverride(findOverride(flat.parsed, p.manifest, alias, original), `${alias} of ${p.name}`, child);
      }
      if (!child) continue;
      node.children.set(alias, child);
      if (optionalNames.has(alias)) node.optionalChildren.add(alias);
    }
    return node;
  };

  // The importer, as pnpm records it: specifiers after overrides, peers auto-installed as dependencies.
  const flatManifest = applyOverrides(input.targetManifest, flat.parsed, major, target.dir);
  const fields = importerFields(flatManifest, settings.autoInstallPeers);
  const direct = new Map<string, GraphNode>();
  const wsTargetRefs = importerRefs(wsImporter);
  for (const [alias, { spec }] of fields) {
    const q = packedOfSpec(spec, target.dir);
    if (q) {
      direct.set(alias, packedNode(q, label));
      continue;
    }
    const ref = wsTargetRefs.get(alias);
    if (ref === undefined) {
      problems.push({ code: 'LOCKFILE_OUTDATED', message: `the workspace lockfile has no resolution of ${alias} for ${label}`, hint: RUN_INSTALL(root) });
      continue;
    }
    if (ref.startsWith('link:')) {
      linkProblem(label, alias, ref);
      continue;
    }
    const childPath = dp.refToRelative(ref, alias);
    if (childPath === null) continue;
    const child = externalNode(childPath, label);
    if (!child) continue;
    const wsSpec = catalogSpec(wsImporter.specifiers?.[alias], alias);
    if (wsSpec !== spec) {
      const original = input.targetManifest.dependencies?.[alias] ?? input.targetManifest.devDependencies?.[alias] ?? input.targetManifest.optionalDependencies?.[alias] ?? input.targetManifest.peerDependencies?.[alias] ?? '';
      const o = findOverride(flat.parsed, input.targetManifest, alias, original);
      if (o && newOverrides.has(o)) checkOverride(o, `${alias} of ${label}`, child);
      else {
        problems.push({
          code: 'LOCKFILE_OUTDATED',
          message: `${label}: ${alias} is ${spec} in the rewritten manifest, but the workspace lockfile resolved ${wsSpec ?? 'nothing'}`,
          hint: RUN_INSTALL(root),
        });
      }
    }
    direct.set(alias, child);
  }

  const tGraph = clock();
  const resolved = resolvePeers(direct, { dedupePeers: settings.dedupePeers, peersSuffixMaxLength: settings.peersSuffixMaxLength });
  const missingSeen = new Set<string>();
  for (const m of resolved.missing) {
    // One report per package and peer; the first path found shows where it sits.
    const k = `${m.path[m.path.length - 1]}:${m.peer}`;
    if (missingSeen.has(k)) continue;
    missingSeen.add(k);
    problems.push({
      code: 'LOCKFILE_PEER_MISSING',
      message: `${m.path.join(' > ')} needs the peer ${m.peer}@${m.range}, which nothing in ${label} provides; pnpm would fetch it from a registry`,
      hint: `add ${m.peer} to ${label}'s dependencies, run \`pnpm install\`, then run docker-prep again`,
    });
  }
  for (const depPath of resolved.conflicts) {
    problems.push({ code: 'LOCKFILE_PEER_CONFLICT', message: `${depPath} resolves differently in two places of ${label}'s tree`, hint: 'pin one version of the package in the workspace (overrides), run `pnpm install`, then run docker-prep again' });
  }

  const tPeers = clock();
  // --- patches ---------------------------------------------------------------------------------
  const { patches, problems: patchProblems } = await planPatches({
    root,
    targetDir: target.dir,
    outDir: input.outDir,
    pnpmMajor: major,
    lockfile: wsl,
    rootConfig,
    used: patchHashesOf(resolved.snapshots.keys()),
  });
  problems.push(...patchProblems);
  const patchedDependencies = Object.fromEntries(patches.map((p) => [p.key, p.configPath]));
  checkPatchConfig(patches, imageConfig.patchedDependencies, label, major, problems);

  // --- assemble (directly in the file shape pnpm writes: packages by id, snapshots by dep path) ---
  const importer: Record<string, unknown> = {};
  for (const [alias, { spec, field }] of fields) {
    const depPath = resolved.importer.get(alias);
    if (depPath === undefined) continue;
    const node = direct.get(alias)!;
    ((importer[field] ??= {}) as Record<string, unknown>)[alias] = { specifier: spec, version: depPathToImporterRef(depPath, alias, node.name) };
  }
  const meta = input.targetManifest.dependenciesMeta;
  if (meta && typeof meta === 'object' && Object.keys(meta).length > 0) importer.dependenciesMeta = meta;
  const publishDirectory = (input.targetManifest.publishConfig as { directory?: string } | undefined)?.directory;
  if (publishDirectory) importer.publishDirectory = publishDirectory;

  const optional = optionalOnly(importer, resolved.snapshots);
  const packages: Record<string, unknown> = {};
  const snapshots: Record<string, unknown> = {};
  for (const snap of resolved.snapshots.values()) {
    // Package entries are keyed without peer suffix and without patch hash (pnpm's removeSuffix).
    const pkgKey = dp.removeSuffix(snap.depPath);
    if (!(pkgKey in packages)) packages[pkgKey] = infos.get(snap.node.pkgId);
    const entry: Record<string, unknown> = {};
    if (Object.keys(snap.dependencies).length > 0) entry.dependencies = snap.dependencies;
    if (Object.keys(snap.optionalDependencies).length > 0) entry.optionalDependencies = snap.optionalDependencies;
    if (snap.transitivePeerDependencies.length > 0) entry.transitivePeerDependencies = snap.transitivePeerDependencies;
    if (optional.has(snap.depPath)) entry.optional = true;
    snapshots[snap.depPath] = entry;
  }

  const file: Record<string, unknown> = {
    lockfileVersion: '9.0',
    settings: lockfileSettings(settings),
    importers: { '.': importer },
  };
  if (Object.keys(flatOverrides).length > 0) file.overrides = flatOverrides;
  if (packageExtensionsChecksum) file.packageExtensionsChecksum = packageExtensionsChecksum;
  if (imageIgnored.length > 0) file.ignoredOptionalDependencies = imageIgnored;
  const patched = lockfilePatchedDependencies(patches, major);
  if (patched) file.patchedDependencies = patched;
  const time = pruneTime(wsl.time, importer);
  if (time) file.time = time;
  if (Object.keys(packages).length > 0) {
    file.packages = packages;
    file.snapshots = snapshots;
  }

  const lockfileText = await lockfileToText(file as unknown as LockfileFile);
  const timingsMs = { read: tRead, graph: tGraph, peers: tPeers, write: clock() };
  return { lockfileText, extraWrites: patchWrites(patches), problems, patchedDependencies, timingsMs };
}

/** Returns a function giving the ms since the previous call. */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const d = now - last;
    last = now;
    return Math.round(d * 10) / 10;
  };
}

function overrideSatisfied(newSpec: string, child: { name: string; version: string }): boolean {
  if (newSpec === '-') return false;
  if (semver.validRange(newSpec) !== null) return semver.valid(child.version) !== null && semver.satisfies(child.version, newSpec);
  if (newSpec.startsWith('npm:')) {
    const body = newSpec.slice(4);
    const at = body.lastIndexOf('@');
    const name = at > 0 ? body.slice(0, at) : body;
    const range = at > 0 ? body.slice(at + 1) : '*';
    return name === child.name && semver.valid(child.version) !== null && semver.satisfies(child.version, range || '*');
  }
  return false;
}

/** Specifiers pnpm records for a project: dependencies win over dev, peers join when auto-installed. */
function importerSpecifiers(m: DepsManifest, autoInstallPeers: boolean): Record<string, string> {
  const existing = { ...m.devDependencies, ...m.dependencies, ...m.optionalDependencies };
  return autoInstallPeers ? { ...m.peerDependencies, ...existing } : existing;
}

function importerFields(m: DepsManifest, autoInstallPeers: boolean): Map<string, { spec: string; field: DepField }> {
  const specs = importerSpecifiers(m, autoInstallPeers);
  const out = new Map<string, { spec: string; field: DepField }>();
  for (const alias of Object.keys(specs).sort()) {
    const field: DepField = m.optionalDependencies?.[alias] !== undefined
      ? 'optionalDependencies'
      : m.dependencies?.[alias] !== undefined || m.devDependencies?.[alias] === undefined
        ? 'dependencies'
        : 'devDependencies';
    out.set(alias, { spec: specs[alias]!, field });
  }
  return out;
}

function diffSpecifiers(lockfileSpecs: Record<string, string>, manifestSpecs: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(manifestSpecs)) {
    if (lockfileSpecs[k] === undefined) out.push(`${k}@${v} is not in the lockfile`);
    else if (lockfileSpecs[k] !== v) out.push(`${k} is ${v} in package.json but ${lockfileSpecs[k]} in the lockfile`);
  }
  for (const k of Object.keys(lockfileSpecs)) if (manifestSpecs[k] === undefined) out.push(`${k} is in the lockfile but not in package.json`);
  return out;
}

function peersFromSnapshot(snap: PackageSnapshot): Record<string, { range: string; optional: boolean }> {
  const out: Record<string, { range: string; optional: boolean }> = {};
  for (const [name, range] of Object.entries(snap.peerDependencies ?? {})) out[name] = { range, optional: snap.peerDependenciesMeta?.[name]?.optional === true };
  for (const [name, meta] of Object.entries(snap.peerDependenciesMeta ?? {})) {
    if (meta.optional && !out[name]) out[name] = { range: '*', optional: true };
  }
  return out;
}

/** pnpm's peerDependenciesWithoutOwn: a peer that is also a dependency (or the package itself) is not a peer. */
function peersWithoutOwn(m: DepsManifest): Record<string, { range: string; optional: boolean }> {
  const own = new Set([m.name, ...Object.keys(m.dependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {})]);
  const out: Record<string, { range: string; optional: boolean }> = {};
  for (const [name, range] of Object.entries(m.peerDependencies ?? {})) {
    if (!own.has(name)) out[name] = { range, optional: false };
  }
  for (const [name, meta] of Object.entries(m.peerDependenciesMeta ?? {})) {
    if (own.has(name) || meta.optional !== true) continue;
    out[name] = { range: out[name]?.range ?? '*', optional: true };
  }
  return out;
}

function bundledSet(m: Manifest): Set<string> {
  const bd = (m.bundledDependencies ?? m.bundleDependencies) as string[] | boolean | undefined;
  if (bd === true) return new Set(Object.keys(m.dependencies ?? {}));
  return new Set(Array.isArray(bd) ? bd : []);
}

function pickInfo(snap: PackageSnapshot): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of INFO_FIELDS) if (snap[k] !== undefined) out[k] = snap[k];
  return out;
}

/** A packed sibling as pnpm's toLockfileDependency records a local tarball. */
function packedInfo(p: PackedPackage, m: Manifest, peers: Record<string, { range: string; optional: boolean }>, spec: string): Record<string, unknown> {
  const out: Record<string, unknown> = { resolution: { integrity: p.integrity, tarball: spec }, version: p.version };
  const engines = m.engines as Record<string, string> | undefined;
  if (engines && typeof engines === 'object') {
    const kept = Object.entries(engines).filter(([, v]) => v !== '*');
    if (kept.length > 0) out.engines = Object.fromEntries(kept);
  }
  for (const k of ['cpu', 'os', 'libc'] as const) if (m[k] != null) out[k] = m[k];
  if (m.deprecated) out.deprecated = m.deprecated;
  const bin = m.bin as string | Record<string, string> | undefined;
  const directories = m.directories as { bin?: string } | undefined;
  if ((bin && !(bin === '' || Object.keys(bin).length === 0)) || (!bin && directories?.bin)) out.hasBin = true;
  const bd = (m.bundledDependencies ?? m.bundleDependencies) as string[] | boolean | undefined;
  if ((Array.isArray(bd) && bd.length > 0) || bd === true) out.bundledDependencies = bd;
  if (Object.keys(peers).length > 0) {
    const peerDependencies: Record<string, string> = {};
    const peerDependenciesMeta: Record<string, { optional: true }> = {};
    for (const [name, { range, optional }] of Object.entries(peers)) {
      peerDependencies[name] = range;
      if (optional) peerDependenciesMeta[name] = { optional: true };
    }
    out.peerDependencies = peerDependencies;
    if (Object.keys(peerDependenciesMeta).length > 0) out.peerDependenciesMeta = peerDependenciesMeta;
  }
  return out;
}

function depPathToImporterRef(depPath: string, alias: string, realName: string): string {
  if (alias === realName && depPath.startsWith(`${realName}@`)) return depPath.slice(realName.length + 1);
  return depPath;
}

/**
 * pnpm's pruner marks a package `optional` when only optional dependencies lead to it: everything
 * reachable from the importer's dependencies and devDependencies through `dependencies` is not.
 */
function optionalOnly(importer: Record<string, unknown>, snapshots: Map<string, ResolvedSnapshot>): Set<string> {
  const required = new Set<string>();
  const stack: string[] = [];
  for (const field of ['dependencies', 'devDependencies']) {
    for (const [alias, dep] of Object.entries((importer[field] ?? {}) as Record<string, { version: string }>)) {
      const p = dp.refToRelative(dep.version, alias);
      if (p) stack.push(p);
    }
  }
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (required.has(p)) continue;
    required.add(p);
    for (const [alias, ref] of Object.entries(snapshots.get(p)?.dependencies ?? {})) {
      const c = dp.refToRelative(ref, alias);
      if (c && !required.has(c)) stack.push(c);
    }
  }
  const optional = new Set<string>();
  for (const p of snapshots.keys()) if (!required.has(p)) optional.add(p);
  return optional;
}

/** pnpm keeps `time` only for the importer's direct dependencies. */
function pruneTime(time: Record<string, string> | undefined, importer: Record<string, unknown>): Record<string, string> | undefined {
  if (!time) return undefined;
  const roots = new Set<string>();
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    for (const [alias, dep] of Object.entries((importer[field] ?? {}) as Record<string, { version: string }>)) {
      const i = dep.version.indexOf('(');
      const p = dp.refToRelative(i === -1 ? dep.version : dep.version.slice(0, i), alias);
      if (p) roots.add(p);
    }
  }
  const out = Object.fromEntries(Object.entries(time).filter(([k]) => roots.has(k)));
  return Object.keys(out).length > 0 ? out : undefined;
}

function lockfileSettings(s: LockfileSettingsValues): Record<string, unknown> {
  const out: Record<string, unknown> = { autoInstallPeers: s.autoInstallPeers };
  if (s.dedupePeers) out.dedupePeers = true;
  out.excludeLinksFromLockfile = s.excludeLinksFromLockfile;
  if (s.peersSuffixMaxLength !== 1000) out.peersSuffixMaxLength = s.peersSuffixMaxLength;
  if (s.injectWorkspacePackages) out.injectWorkspacePackages = true;
  return out;
}

/** pnpm 9 and 10 read patchedDependencies from package.json#pnpm, where the rewrite must have put ours. */
function checkPatchConfig(patches: TargetPatch[], configured: Record<string, string> | undefined, label: string, major: number, problems: Problem[]): void {
  const want = Object.fromEntries(patches.map((p) => [p.key, p.configPath]));
  const have = configured ?? {};
  if (major >= 11 && patches.length === 0 && Object.keys(have).length === 0) return;
  if (major >= 11) return; // the rewritten pnpm-workspace.yaml is not on disk yet; the rewrite owns it
  if (!jsonEqual(want, have)) {
    problems.push({
      code: 'LOCKFILE_PATCHES_NOT_CONFIGURED',
      message: `${label}'s config must name the patches the image applies (${JSON.stringify(want)}), but it names ${JSON.stringify(have)}`,
      hint: 'the rewrite has to put these patchedDependencies into the target config; report this as a docker-prep bug',
    });
  }
}
