#!/usr/bin/env node
// Times the flattened-lockfile derivation (issue #5) on a generated workspace lockfile of 5,000
// registry packages: read the workspace lockfile, prune it to one target plus its packed siblings,
// resolve peer suffixes, and write pnpm-lock.yaml text. Budget: under 1 s.
//
//   node bench/lockfile.mjs [--packages N] [--runs N] [--json] [--strict] [--keep]
//
// Needs `npm run build` first (it imports dist/). --strict exits 1 when over budget.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.resolve(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const PACKAGES = opt('--packages', 5000);
const RUNS = opt('--runs', 5);
const PACKED = 8;
const BUDGET_MS = 1000;
const JSON_OUT = args.includes('--json');
const STRICT = args.includes('--strict');

const { flattenLockfile } = await import(pathToFileURL(path.join(project, 'dist', 'core', 'lockfile', 'flatten-lockfile.js')).href);
const { convertToLockfileFile, writeLockfileFile } = await import('@pnpm/lockfile.fs');

const integrity = (s) => `sha512-${createHash('sha512').update(s).digest('base64')}`;
const dep = (i) => `dep-${String(i).padStart(4, '0')}`;
const version = (i) => `1.${i % 5}.${i % 7}`;

/**
 * A workspace lockfile shaped like a large monorepo: registry packages in a wide DAG (each depends on
 * a few later ones, so all are reachable), one in twenty with a peer on a host package the target
 * provides, `PACKED` outside workspace packages linked in a chain, and a target depending on both.
 */
function generate(dir) {
  const root = path.join(dir, 'app');
  const packages = {};
  for (const host of ['host-a', 'host-b']) packages[`${host}@2.0.0`] = { resolution: { integrity: integrity(host) } };
  for (let i = 0; i < PACKAGES; i++) {
    const deps = {};
    for (const k of [2 * i + 1, 2 * i + 2, i + 97, i + 1031]) if (k < PACKAGES) deps[dep(k)] = version(k);
    const entry = { resolution: { integrity: integrity(dep(i)) } };
    if (Object.keys(deps).length > 0) entry.dependencies = deps;
    if (i % 20 === 7) {
      entry.peerDependencies = { 'host-a': '^2.0.0' };
      entry.dependencies = { ...entry.dependencies, 'host-a': '2.0.0' };
    }
    if (i % 3 === 0) entry.engines = { node: '>=18' };
    packages[`${dep(i)}@${version(i)}`] = entry;
  }
  // Snapshot keys of packages with peers, and of everything above them, carry peer suffixes.
  const keyed = {};
  const suffixed = new Set();
  const hasPeerBelow = new Map();
  const below = (i) => {
    if (hasPeerBelow.has(i)) return hasPeerBelow.get(i);
    hasPeerBelow.set(i, false);
    const e = packages[`${dep(i)}@${version(i)}`];
    let v = Boolean(e.peerDependencies);
    for (const name of Object.keys(e.dependencies ?? {})) if (name.startsWith('dep-') && below(Number(name.slice(4)))) v = true;
    hasPeerBelow.set(i, v);
    return v;
  };
  for (let i = PACKAGES - 1; i >= 0; i--) below(i);
  const ref = (i) => (hasPeerBelow.get(i) ? `${version(i)}(host-a@2.0.0)` : version(i));
  for (const [key, entry] of Object.entries(packages)) {
    const m = /^dep-(\d+)@/.exec(key);
    if (!m) {
      keyed[key] = entry;
      continue;
    }
    const i = Number(m[1]);
    const deps = {};
    for (const [name, v] of Object.entries(entry.dependencies ?? {})) deps[name] = name.startsWith('dep-') ? ref(Number(name.slice(4))) : v;
    const e = { ...entry };
    if (Object.keys(deps).length > 0) e.dependencies = deps;
    const full = hasPeerBelow.get(i) ? `${key}(host-a@2.0.0)` : key;
    if (hasPeerBelow.get(i) && !entry.peerDependencies) e.transitivePeerDependencies = ['host-a'];
    if (hasPeerBelow.get(i)) suffixed.add(i);
    keyed[full] = e;
  }

  const importers = { '.': { specifiers: {} } };
  const targetDeps = { 'host-a': '^2.0.0', 'host-b': '^2.0.0' };
  const target = { specifiers: {}, dependencies: {} };
  for (let i = 0; i < 40; i++) targetDeps[dep(i)] = `^${version(i)}`;
  for (const [name, spec] of Object.entries(targetDeps)) {
    target.specifiers[name] = spec;
    target.dependencies[name] = name.startsWith('dep-') ? ref(Number(name.slice(4))) : '2.0.0';
  }
  const packed = [];
  const platDir = path.join(dir, 'plat', 'packages');
  for (let k = 0; k < PACKED; k++) {
    const name = `@scope/p${k}`;
    const id = `../plat/packages/p${k}`;
    const deps = {};
    const specs = {};
    for (let j = 0; j < 12; j++) {
      const i = 40 + k * 12 + j;
      deps[dep(i)] = ref(i);
      specs[dep(i)] = `^${version(i)}`;
    }
    const manifestDeps = { ...specs };
    if (k + 1 < PACKED) {
      deps[`@scope/p${k + 1}`] = `link:../p${k + 1}`;
      specs[`@scope/p${k + 1}`] = 'workspace:*';
      manifestDeps[`@scope/p${k + 1}`] = '1.0.0';
    }
    importers[id] = { specifiers: specs, dependencies: deps };
    mkdirSync(path.join(platDir, `p${k}`), { recursive: true });
    writeFileSync(path.join(platDir, `p${k}`, 'package.json'), JSON.stringify({ name, version: '1.0.0', dependencies: specs }, null, 2));
    packed.push({
      name,
      version: '1.0.0',
      fileName: `scope-p${k}-1.0.0.tgz`,
      cachePath: '',
      sha256: '',
      integrity: integrity(name),
      size: 0,
      unpackedSize: 0,
      files: [],
      manifest: { name, version: '1.0.0', dependencies: manifestDeps },
      fromCache: false,
    });
    target.specifiers[name] = 'workspace:*';
    target.dependencies[name] = `link:../../plat/packages/p${k}`;
  }
  importers.app = target;
  mkdirSync(path.join(root, 'app'), { recursive: true });
  const original = { name: 'app', version: '1.0.0', dependencies: { ...targetDeps, ...Object.fromEntries(packed.map((p) => [p.name, 'workspace:*'])) } };
  writeFileSync(path.join(root, 'app', 'package.json'), JSON.stringify(original, null, 2));
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'root', private: true }));
  const lockfile = {
    lockfileVersion: '9.0',
    settings: { autoInstallPeers: true, excludeLinksFromLockfile: false },
    importers,
    packages: keyed,
  };
  return { root, packed, original, lockfile, suffixed: suffixed.size };
}

const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-bench-lockfile-')));
try {
  const gen = generate(dir);
  await writeLockfileFile(path.join(gen.root, 'pnpm-lock.yaml'), convertToLockfileFile(gen.lockfile));
  const targetDir = path.join(gen.root, 'app');
  const outDir = path.join(gen.root, '.docker-deps');
  const spec = (p) => `file:../.docker-deps/${p.fileName}`;
  const rewritten = { ...gen.original, dependencies: { ...gen.original.dependencies } };
  for (const p of gen.packed) rewritten.dependencies[p.name] = spec(p);
  const overrides = Object.fromEntries(gen.packed.map((p) => [p.name, spec(p)]));
  const input = {
    root: gen.root,
    target: { dir: targetDir, relDir: 'app', manifestPath: path.join(targetDir, 'package.json'), manifest: gen.original, inside: true },
    targetManifest: rewritten,
    overrides,
    packed: gen.packed,
    tarballSpecifier: spec,
    pnpmMajor: 10,
    outDir,
  };
  const times = [];
  const phases = [];
  let result;
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    result = await flattenLockfile(input);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    phases.push(result.timingsMs);
  }
  const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const phaseMedians = Object.fromEntries(['read', 'graph', 'peers', 'write'].map((k) => [k, medianOf(phases.map((p) => p[k]))]));
  if (result.problems.length > 0) throw new Error(`the bench lockfile produced problems: ${JSON.stringify(result.problems.slice(0, 3))}`);
  const entries = (result.lockfileText.match(/^ {2}\S.*:$/gm) ?? []).length;
  const sorted = [...times].sort((a, b) => a - b);
  const stats = { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], first: times[0] };
  const out = {
    packages: PACKAGES + 2,
    packed: PACKED,
    withPeerSuffix: gen.suffixed,
    runs: RUNS,
    budgetMs: BUDGET_MS,
    ms: stats,
    phasesMs: phaseMedians,
    outputBytes: result.lockfileText.length,
    outputEntries: entries,
    withinBudget: stats.median < BUDGET_MS,
    machine: `${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}`,
  };
  if (JSON_OUT) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  else {
    console.log(`lockfile: flatten a ${out.packages}-package workspace lockfile (${out.withPeerSuffix} with peer suffixes) to one target, ${RUNS} runs (${out.machine})`);
    console.log(`  read + prune + peers + write: median ${stats.median.toFixed(0)} ms (min ${stats.min.toFixed(0)}, max ${stats.max.toFixed(0)}, first ${stats.first.toFixed(0)})`);
    console.log(`  phases (median): read ${phaseMedians.read.toFixed(0)} ms, prune ${phaseMedians.graph.toFixed(0)} ms, peers ${phaseMedians.peers.toFixed(0)} ms, write ${phaseMedians.write.toFixed(0)} ms`);
    console.log(`  budget ${BUDGET_MS} ms: ${out.withinBudget ? 'ok' : 'OVER BUDGET'}`);
  }
  if (STRICT && !out.withinBudget) process.exitCode = 1;
} finally {
  if (args.includes('--keep')) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
