#!/usr/bin/env node
// Generates the two-repo benchmark workload: OUT/common_plat (N @bench/* packages with built dist/,
// a layered dependency graph, bins, exports, publishConfig, catalogs) and OUT/app (backend + web,
// including ../common_plat/packages/*). Deterministic for a given --seed.
//
//   node bench/gen-ecosystem.mjs OUT [--packages N] [--files F] [--kb K] [--seed S] [--git]
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function generateEcosystem(out, { packages = 20, files = 30, kb = 4, seed = 7, git = false } = {}) {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const put = (file, text, mode) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    if (mode) chmodSync(file, mode);
  };
  const putJson = (file, value, indent = 2) => put(file, JSON.stringify(value, null, indent) + '\n');
  const body = (i) => `export const chunk${i} = ${JSON.stringify('y'.repeat(Math.max(0, kb * 1024 - 40)))};\n`;

  rmSync(out, { recursive: true, force: true });
  const plat = path.join(out, 'common_plat');
  const app = path.join(out, 'app');
  const names = Array.from({ length: packages }, (_, i) => `lib-${String(i).padStart(3, '0')}`);
  const specs = ['workspace:*', 'workspace:^', 'workspace:~'];
  const graph = [];

  putJson(path.join(plat, 'package.json'), { name: 'bench-plat', private: true, packageManager: 'pnpm@10.34.9' });
  put(path.join(plat, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\ncatalog:\n  ms: ^2.1.3\n');
  names.forEach((name, i) => {
    const dir = path.join(plat, 'packages', name);
    const deps = {};
    for (let k = 0; i > 0 && k < 3; k++) if (next() < 0.75) deps[`@bench/${names[Math.floor(next() * i)]}`] = specs[(i + k) % 3];
    graph.push({ ...deps });
    if (i % 4 === 1) deps.ms = 'catalog:';
    const manifest = {
      name: `@bench/${name}`,
      version: `2.${i % 9}.${i % 4}`,
      type: 'module',
      main: './dist/index.js',
      types: './dist/index.d.ts',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      files: ['dist'],
      scripts: { build: 'tsc' },
      dependencies: deps,
    };
    if (i % 5 === 2) manifest.bin = { [name]: './dist/cli.js' };
    if (i % 6 === 3) manifest.publishConfig = { access: 'public' };
    putJson(path.join(dir, 'package.json'), manifest, i % 2 ? '\t' : 2);
    put(path.join(dir, 'README.md'), `# ${name}\n`);
    for (let f = 0; f < files; f++) {
      put(path.join(dir, 'src', `part${f}.ts`), body(f));
      put(path.join(dir, 'dist', `part${f}.js`), body(f));
    }
    put(path.join(dir, 'dist', 'index.js'), `export const id = ${JSON.stringify(name)};\n`);
    put(path.join(dir, 'dist', 'index.d.ts'), 'export declare const id: string;\n');
    if (manifest.bin) put(path.join(dir, 'dist', 'cli.js'), '#!/usr/bin/env node\nconsole.log(1);\n', 0o755);
  });

  putJson(path.join(app, 'package.json'), { name: 'bench-app', private: true, packageManager: 'pnpm@10.34.9' });
  put(path.join(app, 'pnpm-workspace.yaml'), 'packages:\n  - backend\n  - web\n  - ../common_plat/packages/*\ncatalog:\n  ms: ^2.1.3\n');
  // The backend asks for every package nothing else depends on, so the closure is the whole graph.
  const depended = new Set(graph.flatMap((deps) => Object.keys(deps)));
  const backendDeps = Object.fromEntries(names.filter((n) => !depended.has(`@bench/${n}`)).map((n) => [`@bench/${n}`, 'workspace:*']));
  putJson(path.join(app, 'backend', 'package.json'), { name: '@bench-app/backend', version: '1.0.0', private: true, dependencies: { ...backendDeps, ms: 'catalog:' } });
  putJson(path.join(app, 'web', 'package.json'), { name: '@bench-app/web', version: '1.0.0', private: true, dependencies: { [`@bench/${names[0]}`]: 'workspace:^' } });
  put(path.join(app, '.gitignore'), 'node_modules\n.docker-prep/\n.docker-prep.lock\n');
  if (git) {
    for (const repo of [plat, app]) {
      const run = (...args) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
      run('init', '-q', '-b', 'main');
      run('add', '-A');
      run('-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-qm', 'bench');
    }
  }
  return { plat, app, names };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, ...rest] = process.argv.slice(2);
  if (!out) {
    console.error('usage: gen-ecosystem.mjs OUT [--packages N] [--files F] [--kb K] [--seed S] [--git]');
    process.exit(2);
  }
  const num = (flag, dflt) => (rest.includes(flag) ? Number(rest[rest.indexOf(flag) + 1]) : dflt);
  const r = generateEcosystem(path.resolve(out), { packages: num('--packages', 20), files: num('--files', 30), kb: num('--kb', 4), seed: num('--seed', 7), git: rest.includes('--git') });
  console.log(`generated ${r.names.length} packages in ${path.resolve(out)}`);
}
