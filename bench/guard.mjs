#!/usr/bin/env node
// Times the pre-commit guard the way a hook runs it: `node bin/docker-prep.js check --staged` in a
// generated repo with 200 staged manifests (and a staged lockfile). Prints the median of N runs for a
// clean commit and for a blocked one. Budget: 300 ms (issue #4).
//
//   node bench/guard.mjs [--runs N] [--manifests M] [--json] [--strict] [--loose] [--keep]
//
// --strict exits 1 when a median is over budget (for CI); without it the numbers are only reported.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BUDGET_MS = 300;
const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'bin', 'docker-prep.js');

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = flag('--runs', 15);
const MANIFESTS = flag('--manifests', 200);
const JSON_OUT = args.includes('--json');
const STRICT = args.includes('--strict');
const LOOSE = args.includes('--loose');

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};
const git = (cwd, ...a) => execFileSync('git', a, { cwd, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function buildRepo() {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-bench-guard-')));
  // The root manifest mentions the output folder in a script, as real ones do: the guard must read
  // and judge it, and let it pass.
  const rootManifest = { name: 'bench-root', private: true, scripts: { 'docker:build': 'docker-prep exec -- docker compose build', clean: 'rm -rf .docker-deps' } };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(rootManifest, null, 2) + '\n');
  writeFileSync(path.join(dir, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  writeFileSync(path.join(dir, '.gitignore'), 'node_modules\n/.docker-deps/\n/.docker-prep/\n/.docker-prep.lock\n');
  const lock = ["lockfileVersion: '9.0'", '', 'importers:', ''];
  for (let i = 0; i < MANIFESTS; i++) {
    const name = `@bench/p${String(i).padStart(3, '0')}`;
    const pkgDir = path.join(dir, 'packages', `p${i}`);
    mkdirSync(pkgDir, { recursive: true });
    const manifest = {
      name,
      version: '1.0.0',
      scripts: { build: 'tsc -p .', clean: 'rm -rf dist' },
      dependencies: { [`@bench/p${String((i + 1) % MANIFESTS).padStart(3, '0')}`]: 'workspace:*', ms: '^2.1.3', semver: '^7.6.0' },
      devDependencies: { typescript: '^5.9.3' },
    };
    writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    lock.push(`  packages/p${i}:`, '    dependencies:', '      ms:', '        specifier: ^2.1.3', '        version: 2.1.3', '');
  }
  writeFileSync(path.join(dir, 'pnpm-lock.yaml'), lock.join('\n'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  // A real repository's history is packed (a clone is one pack; gc packs the rest); only what was
  // just staged is loose. --loose keeps the 600 loose objects of the fresh initial commit instead.
  if (!LOOSE) git(dir, 'repack', '-adq');
  // Stage a change to every manifest and the lockfile: the guard must read all of them.
  for (let i = 0; i < MANIFESTS; i++) {
    const file = path.join(dir, 'packages', `p${i}`, 'package.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"version": "1.0.0"', '"version": "1.0.1"'));
  }
  writeFileSync(path.join(dir, 'pnpm-lock.yaml'), readFileSync(path.join(dir, 'pnpm-lock.yaml'), 'utf8') + '\n');
  writeFileSync(path.join(dir, 'package.json'), readFileSync(path.join(dir, 'package.json'), 'utf8').replace('"private": true', '"private": true,\n  "description": "bench"'));
  git(dir, 'add', '-A');
  return dir;
}

function time(dir, expectCode) {
  const samples = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, 'check', '--staged'], { cwd: dir, env: gitEnv, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== expectCode) throw new Error(`check --staged exited ${r.status}, expected ${expectCode}:\n${r.stdout}${r.stderr}`);
    if (i > 0) samples.push(ms); // the first run warms the file cache
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], min: samples[0], max: samples[samples.length - 1] };
}

const dir = buildRepo();
try {
  const clean = time(dir, 0);
  // One manifest rewritten the way pack does it, staged: the guard must block.
  const victim = path.join(dir, 'packages', 'p7', 'package.json');
  writeFileSync(victim, readFileSync(victim, 'utf8').replace('"ms": "^2.1.3"', '"ms": "file:../../.docker-deps/ms-2.1.3.tgz"'));
  git(dir, 'add', '-A');
  const blocked = time(dir, 1);
  const result = {
    manifests: MANIFESTS,
    runs: RUNS,
    history: LOOSE ? 'loose' : 'packed',
    budgetMs: BUDGET_MS,
    cleanMs: clean,
    blockedMs: blocked,
    withinBudget: clean.median < BUDGET_MS && blocked.median < BUDGET_MS,
    machine: `${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}`,
  };
  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    const f = (t) => `median ${t.median.toFixed(0)} ms (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)})`;
    console.log(`guard: check --staged, ${MANIFESTS} staged manifests + lockfile, ${RUNS} runs, history ${LOOSE ? 'loose' : 'packed'} (${result.machine})`);
    console.log(`  clean commit:   ${f(clean)}`);
    console.log(`  blocked commit: ${f(blocked)}`);
    console.log(`  budget ${BUDGET_MS} ms: ${result.withinBudget ? 'ok' : 'OVER BUDGET'}`);
  }
  if (STRICT && !result.withinBudget) process.exitCode = 1;
} finally {
  if (args.includes('--keep')) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
