#!/usr/bin/env node
// `npm run bench`: cold and warm `docker-prep pack` against the old approach (a `pnpm pack
// --pack-destination` loop over the same closure), on a generated 20-package ecosystem, in one run.
// Then the guard and lockfile benches when present. Prints figures and ratios.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEcosystem } from './gen-ecosystem.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.resolve(here, '..');
const bin = path.join(project, 'bin', 'docker-prep.js');
const pnpm10 = path.join(project, 'node_modules', 'pnpm10', 'bin', 'pnpm.cjs');
const packages = Number(process.env.BENCH_PACKAGES ?? 20);
const work = mkdtempSync(path.join(os.tmpdir(), 'dp-bench-'));
// BENCH_ECOSYSTEM=DIR measures a copy of an ecosystem made elsewhere (DIR/app + DIR/common_plat, e.g.
// by another generator) instead of generating one.
const { app } = process.env.BENCH_ECOSYSTEM
  ? copyEcosystem(process.env.BENCH_ECOSYSTEM, path.join(work, 'eco'))
  : generateEcosystem(path.join(work, 'eco'), { packages, git: true });

function copyEcosystem(from, to) {
  cpSync(from, to, { recursive: true });
  return { app: path.join(to, 'app') };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
const dockerPrep = (args, cacheHome) => {
  const r = spawnSync(process.execPath, [bin, ...args, '--cwd', app], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
  if (r.status !== 0) throw new Error(`docker-prep ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
};

// The closure, as docker-prep computes it, so both approaches pack exactly the same packages.
const planCache = mkdtempSync(path.join(work, 'cache-'));
const plan = JSON.parse(dockerPrep(['pack', '--dry-run', '--json'], planCache));
const closureDirs = plan.packages.map((p) => path.join(work, 'eco', 'common_plat', 'packages', p.name.split('/')[1]));

// The old script runs in an installed workspace: `pnpm pack` resolves `workspace:` through node_modules.
execFileSync(process.execPath, [pnpm10, 'install', '--ignore-scripts', `--store-dir=${path.join(work, 'store')}`], {
  cwd: path.join(work, 'eco', 'common_plat'),
  stdio: 'ignore',
  env: { ...process.env, npm_config_manage_package_manager_versions: 'false' },
});

const loopTimes = [];
for (let run = 0; run < 2; run++) {
  const dest = mkdtempSync(path.join(work, 'loop-'));
  loopTimes.push(
    time(() => {
      for (const dir of closureDirs) {
        execFileSync(process.execPath, [pnpm10, 'pack', '--pack-destination', dest, '--config.ignore-scripts=true'], { cwd: dir, stdio: 'ignore', env: { ...process.env, npm_config_manage_package_manager_versions: 'false' } });
      }
    }),
  );
}

const coldTimes = [];
const warmTimes = [];
for (let run = 0; run < 3; run++) {
  const cache = mkdtempSync(path.join(work, 'cache-'));
  coldTimes.push(time(() => dockerPrep(['pack'], cache)));
  dockerPrep(['restore'], cache);
  for (let w = 0; w < 3; w++) {
    warmTimes.push(time(() => dockerPrep(['pack'], cache)));
    dockerPrep(['restore'], cache);
  }
}

const loop = median(loopTimes);
const cold = median(coldTimes);
const warm = median(warmTimes);
const results = {
  ecosystem: process.env.BENCH_ECOSYSTEM ?? `bench/gen-ecosystem.mjs --packages ${packages}`,
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  packages: plan.packages.length,
  pnpmPackLoopSeconds: loop,
  coldSeconds: cold,
  warmSeconds: warm,
  coldSpeedup: loop / cold,
  warmSpeedup: loop / warm,
};
console.log(`docker-prep bench: ${results.packages} packages in the closure; ${results.machine}`);
console.log(`  pnpm pack loop (old script) ${loop.toFixed(3)} s`);
console.log(`  docker-prep pack, cold      ${cold.toFixed(3)} s   ${results.coldSpeedup.toFixed(1)}x faster   (target >= 40x)`);
console.log(`  docker-prep pack, warm      ${warm.toFixed(3)} s   ${results.warmSpeedup.toFixed(1)}x faster   (target < 0.25 s)`);

for (const extra of ['guard.mjs', 'lockfile.mjs']) {
  const file = path.join(here, extra);
  if (!existsSync(file)) continue;
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  if (r.status !== 0) process.exitCode = 1;
}
mkdirSync(path.join(project, '.bench'), { recursive: true });
writeFileSync(path.join(project, '.bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
rmSync(work, { recursive: true, force: true });
