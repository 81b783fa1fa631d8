import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES } from './paths.js';

/**
 * Small generated two-repo ecosystems for the transaction tests (crash, signal and fault matrices):
 * `common_plat/packages/*` siblings and an `app/` repo whose targets need them. Manifests rotate
 * through the formats docker-prep must preserve: tabs, CRLF, BOM, two-space.
 */
export type ScenarioName = 'one-package' | 'ten-packages' | 'existing-out' | 'own-overrides';
export const SCENARIOS: ScenarioName[] = ['one-package', 'ten-packages', 'existing-out', 'own-overrides'];

type Format = 'tabs' | 'crlf' | 'bom' | 'spaces';
const FORMATS: Format[] = ['tabs', 'crlf', 'bom', 'spaces'];

function json(value: unknown, format: Format): string {
  const text = JSON.stringify(value, null, format === 'tabs' ? '\t' : 2) + '\n';
  if (format === 'crlf') return text.replace(/\n/g, '\r\n');
  if (format === 'bom') return '\ufeff' + text;
  return text;
}

function write(file: string, text: string, mode?: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text, mode === undefined ? undefined : { mode });
}

function sibling(plat: string, i: number, deps: Record<string, string>): void {
  const dir = path.join(plat, 'packages', `p${i}`);
  const format = FORMATS[i % FORMATS.length]!;
  write(path.join(dir, 'package.json'), json({ name: `@gen/p${i}`, version: `1.0.${i}`, main: 'dist/index.js', dependencies: deps }, format));
  write(path.join(dir, 'dist', 'index.js'), `export const p${i} = ${i};\n`);
  write(path.join(dir, 'README.md'), `# p${i}\n`);
}

/** Writes the scenario into `base` (which gets `app/` and `common_plat/`). */
export function writeScenario(base: string, name: ScenarioName): void {
  if (name === 'existing-out') {
    cpSync(path.join(FIXTURES, 'ecosystem'), base, { recursive: true });
    const out = path.join(base, 'app', '.docker-deps');
    // A leftover tarball with the name pack will write (so pack modifies it) and a user file beside it.
    write(path.join(out, 'scope-db-2.0.1.tgz'), 'an old tarball\n', 0o600);
    write(path.join(out, 'NOTES.md'), 'kept by the user\n');
    return;
  }
  const app = path.join(base, 'app');
  const plat = path.join(base, 'common_plat');
  write(path.join(plat, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  write(path.join(plat, 'package.json'), json({ name: 'common_plat', private: true }, 'spaces'));
  write(path.join(app, '.gitignore'), 'node_modules\n');
  write(path.join(app, 'package.json'), json({ name: 'app', private: true, packageManager: 'pnpm@10.34.9' }, 'spaces'));
  if (name === 'one-package') {
    sibling(plat, 1, {});
    write(path.join(app, 'pnpm-workspace.yaml'), 'packages:\n  - svc\n  - ../common_plat/packages/*\n');
    write(path.join(app, 'svc', 'package.json'), json({ name: '@app/svc', version: '0.1.0', private: true, dependencies: { '@gen/p1': 'workspace:*' } }, 'tabs'));
    write(path.join(app, 'svc', 'index.js'), 'import "@gen/p1";\n');
    return;
  }
  if (name === 'ten-packages') {
    // p1 -> p2..p4, p2 -> p5, p3 -> p5 (diamond), p4 -> p6..p7, p6 -> p8 -> p9 -> p10: ten in the closure.
    const deps: Record<number, number[]> = { 1: [2, 3, 4], 2: [5], 3: [5], 4: [6, 7], 6: [8], 8: [9], 9: [10] };
    for (let i = 1; i <= 10; i++) sibling(plat, i, Object.fromEntries((deps[i] ?? []).map((d) => [`@gen/p${d}`, 'workspace:^'])));
    write(path.join(app, 'pnpm-workspace.yaml'), 'packages:\n  - api\n  - worker\n  - ../common_plat/packages/*\n');
    write(path.join(app, 'api', 'package.json'), json({ name: '@app/api', version: '0.1.0', private: true, dependencies: { '@gen/p1': 'workspace:*' } }, 'crlf'));
    write(path.join(app, 'worker', 'package.json'), json({ name: '@app/worker', version: '0.1.0', private: true, dependencies: { '@gen/p4': 'workspace:~' } }, 'bom'));
    write(path.join(app, 'worker', 'run.sh'), '#!/bin/sh\necho hi\n', 0o755);
    return;
  }
  // own-overrides: a pnpm 10 target with its own pnpm.overrides, and a pnpm 11 target that gets a
  // pnpm-workspace.yaml created for its overrides.
  for (let i = 1; i <= 3; i++) sibling(plat, i, i === 1 ? { '@gen/p2': 'workspace:*' } : {});
  write(path.join(app, 'pnpm-workspace.yaml'), 'packages:\n  - svc\n  - next\n  - ../common_plat/packages/*\n');
  write(
    path.join(app, 'svc', 'package.json'),
    json({ name: '@app/svc', version: '0.1.0', private: true, dependencies: { '@gen/p1': 'workspace:*', lodash: '^4.17.21' }, pnpm: { overrides: { 'lodash@<4.17.21': '^4.17.21', semver: '7.6.0' } } }, 'crlf'),
  );
  write(path.join(app, 'next', 'package.json'), json({ name: '@app/next', version: '0.1.0', private: true, packageManager: 'pnpm@11.0.0', dependencies: { '@gen/p3': 'workspace:*' } }, 'tabs'));
}

export interface ScenarioTree {
  base: string;
  app: string;
  cleanup(): void;
}

export function makeScenario(name: ScenarioName, parent?: string): ScenarioTree {
  const base = realpathSync(mkdtempSync(path.join(parent ?? os.tmpdir(), `dp-${name}-`)));
  writeScenario(base, name);
  return { base, app: path.join(base, 'app'), cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
