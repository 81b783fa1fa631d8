#!/usr/bin/env node
// Bundles the CLI into dist/bundle/: Node spends most of a short command resolving and compiling
// hundreds of small module files, so the shim loads one entry file instead, with one lazily loaded
// chunk per command (check must never load the packing code). The metafile records which sources
// went into which chunk, for the test that guards that split.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(project, 'dist', 'bundle');
const require = createRequire(path.join(project, 'package.json'));
const packlistManifest = path.join(path.dirname(require.resolve('@pnpm/fs.packlist')), '..', 'package.json');
const packlistVersion = JSON.parse(readFileSync(packlistManifest, 'utf8')).version;

// A plan snapshot made by one build must never be replayed by another: the build id covers every
// source file, the locked dependency versions and this script.
const buildHash = createHash('sha256');
for (const file of [...readdirSync(path.join(project, 'src'), { recursive: true })].map(String).sort()) {
  if (file.endsWith('.ts')) buildHash.update(`${file}\0`).update(readFileSync(path.join(project, 'src', file))).update('\0');
}
buildHash.update(readFileSync(path.join(project, 'package-lock.json'))).update(readFileSync(fileURLToPath(import.meta.url)));
const buildId = buildHash.digest('hex').slice(0, 16);

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: project,
  entryPoints: { 'docker-prep': 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Prefer ESM builds where packages ship both, as Node's own resolution of `import` does.
  mainFields: ['module', 'main'],
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  // CommonJS dependencies call require() for Node built-ins; an ESM bundle has no require of its own.
  banner: { js: "import { createRequire as __dpCreateRequire } from 'node:module'; const require = __dpCreateRequire(import.meta.url);" },
  define: { __DOCKER_PREP_PACKLIST_VERSION__: JSON.stringify(packlistVersion), __DOCKER_PREP_BUILD_ID__: JSON.stringify(buildId) },
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
}).then((result) => {
  writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(result.metafile));
});
