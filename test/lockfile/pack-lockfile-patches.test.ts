import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { dockerPrep, ecosystemFor, expectOk, flattenInPlace, pnpm, readJson, SCOPE_DEAD, writeJson } from './helpers.js';

const PATCH = `diff --git a/index.js b/index.js
index 7229750..3c33f8e 100644
--- a/index.js
+++ b/index.js
@@ -1,3 +1,4 @@
+// patched by the workspace
 /**
  * Helpers.
  */
`;

/**
 * End to end through `pack --lockfile`: a patch configured at the workspace root must reach the
 * image through the rewritten target config (the image has no root), and the frozen install applies it.
 */
describe.each([10, 11] as const)('pack --lockfile carries a workspace patch into the target, pnpm %i', (major) => {
  it('names the copied patch in the target config and the frozen install applies it', () => {
    const eco = ecosystemFor(major, (e) => {
      mkdirSync(path.join(e.app, 'patches'));
      writeFileSync(path.join(e.app, 'patches', 'ms@2.1.3.patch'), PATCH);
      if (major >= 11) {
        const ws = path.join(e.app, 'pnpm-workspace.yaml');
        writeFileSync(ws, readFileSync(ws, 'utf8') + 'patchedDependencies:\n  ms@2.1.3: patches/ms@2.1.3.patch\n');
      } else {
        const root = path.join(e.app, 'package.json');
        writeJson(root, { ...readJson(root), pnpm: { patchedDependencies: { 'ms@2.1.3': 'patches/ms@2.1.3.patch' } } });
      }
    });
    try {
      expectOk(pnpm(major, ['install', '--no-frozen-lockfile'], eco.app), 'workspace install');
      expectOk(dockerPrep(['pack', '--lockfile', '--project', 'backend'], eco.app, eco.cacheHome), 'docker-prep pack --lockfile');
      const backend = path.join(eco.app, 'backend');
      const configured =
        major >= 11
          ? (parseYaml(readFileSync(path.join(backend, 'pnpm-workspace.yaml'), 'utf8')) as { patchedDependencies?: Record<string, string> }).patchedDependencies
          : (readJson(path.join(backend, 'package.json')).pnpm as { patchedDependencies?: Record<string, string> } | undefined)?.patchedDependencies;
      expect(configured).toEqual({ 'ms@2.1.3': '../.docker-deps/patches/ms@2.1.3.patch' });
      expect(readFileSync(path.join(eco.app, '.docker-deps', 'patches', 'ms@2.1.3.patch'), 'utf8')).toBe(PATCH);

      const flat = flattenInPlace(eco, 'backend');
      try {
        expectOk(pnpm(major, ['install', '--frozen-lockfile', SCOPE_DEAD], flat.dir), 'frozen install of the flattened copy');
        const ms = readFileSync(path.join(flat.dir, 'node_modules', 'ms', 'index.js'), 'utf8');
        expect(ms.startsWith('// patched by the workspace')).toBe(true);
      } finally {
        flat.undo();
      }
      expectOk(dockerPrep(['restore'], eco.app, eco.cacheHome), 'restore');
    } finally {
      eco.cleanup();
    }
  });
});
