import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/core/workspace/load-workspace.js';
import { MAX_MANIFEST_BYTES } from '../../src/core/workspace/read-manifest-checked.js';
import { makeEcosystem } from '../helpers/ecosystem.js';
import { codesOf, expectDockerPrepError, trackTrees, tempTree, workspaceTree, type TempTree } from './temp-tree.js';

const track = trackTrees();

describe('loadWorkspace on the bundled ecosystem', () => {
  it('finds the root, expands ../ globs with the negation, reads catalogs', async () => {
    const eco = track(makeEcosystem());
    const ws = await loadWorkspace(path.join(eco.app, 'backend', 'src'));
    expect(ws.root).toBe(eco.app);
    expect(ws.workspaceFile).toBe(path.join(eco.app, 'pnpm-workspace.yaml'));
    expect(ws.packageGlobs).toEqual(['backend', 'web', '../common_plat/packages/*', '!../common_plat/packages/unbuilt']);
    expect(ws.catalogs).toEqual({ default: { ms: '^2.1.3' }, tools: { semver: '^7.6.0' } });
    expect(ws.projects.map((p) => [p.relDir, p.inside, p.manifest.name])).toEqual([
      ['', true, 'app'],
      ['../common_plat/packages/auth', false, '@scope/auth'],
      ['../common_plat/packages/config', false, '@scope/config'],
      ['../common_plat/packages/db', false, '@scope/db'],
      ['../common_plat/packages/logger', false, '@scope/logger'],
      ['backend', true, '@app/backend'],
      ['web', true, '@app/web'],
    ]);
    const db = ws.byName.get('@scope/db')!;
    expect(db.dir).toBe(path.join(eco.plat, 'packages', 'db'));
    expect(db.manifestPath).toBe(path.join(eco.plat, 'packages', 'db', 'package.json'));
    // CRLF (db, backend), BOM (config) and tabs (logger, web) manifests all parse.
    expect(ws.byName.get('@scope/config')!.manifest.version).toBe('1.0.0');
    expect(ws.byName.get('@app/backend')!.manifest.dependencies).toEqual({ '@scope/auth': 'workspace:*', ms: 'catalog:' });
    expect(ws.byName.has('@scope/unbuilt')).toBe(false);
    expect(ws.byName.size).toBe(7);
  });

  it('resolves a symlinked start folder to the real repo root', async () => {
    const eco = track(makeEcosystem());
    const link = path.join(eco.base, 'app-link');
    symlinkSync(eco.app, link);
    const ws = await loadWorkspace(path.join(link, 'web'));
    expect(ws.root).toBe(eco.app);
    expect(ws.projects.find((p) => p.relDir === 'web')!.dir).toBe(path.join(eco.app, 'web'));
  });

  it('stops at the nearest workspace file: common_plat is its own workspace', async () => {
    const eco = track(makeEcosystem());
    const ws = await loadWorkspace(path.join(eco.plat, 'packages', 'db'));
    expect(ws.root).toBe(eco.plat);
    expect(ws.projects.every((p) => p.inside)).toBe(true);
    expect(ws.byName.has('@scope/unbuilt')).toBe(true);
  });
});

describe('workspace discovery', () => {
  it('fails with NO_WORKSPACE when no pnpm-workspace.yaml is above the start folder', async () => {
    const t = track(tempTree({ 'lonely/package.json': { name: 'x' } }));
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('lonely')));
    expect(e.code).toBe('NO_WORKSPACE');
    expect(e.kind).toBe('config');
    expect(e.message).toContain(t.at('lonely'));
  });

  it('fails with CWD_NOT_FOUND for a start folder that does not exist', async () => {
    const t = track(tempTree());
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('nope')));
    expect(e.code).toBe('CWD_NOT_FOUND');
    expect(e.kind).toBe('usage');
  });

  it('refuses a pnpm-workspace.yml rather than walking past it to an outer workspace', async () => {
    const t = track(tempTree({ 'pnpm-workspace.yaml': 'packages: []\n', 'app/pnpm-workspace.yml': 'packages: [a]\n', 'app/package.json': { name: 'app' } }));
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
    expect(e.code).toBe('WORKSPACE_INVALID');
    expect(e.message).toContain('pnpm-workspace.yml');
  });

  it('accepts an empty workspace file (the root project alone) and unknown settings keys', async () => {
    const empty = track(workspaceTree({ yaml: '', projects: {} }));
    expect((await loadWorkspace(empty.at('app'))).projects.map((p) => p.relDir)).toEqual(['']);
    const bomOnly = track(workspaceTree({ yaml: '\ufeff# nothing\n', projects: {} }));
    expect((await loadWorkspace(bomOnly.at('app'))).projects.map((p) => p.relDir)).toEqual(['']);
    const settings = track(
      workspaceTree({
        yaml: 'packages:\n  - lib\nonlyBuiltDependencies: [esbuild]\noverrides:\n  foo: 1.0.0\nlinkWorkspacePackages: true\n',
        projects: { 'app/lib': { name: 'lib', version: '1.0.0' } },
      }),
    );
    const ws = await loadWorkspace(settings.at('app'));
    expect(ws.projects.map((p) => p.relDir)).toEqual(['', 'lib']);
    expect(ws.catalogs).toEqual({});
  });

  it('reads a package.yaml project and prefers package.json when a folder has both', async () => {
    const t = track(workspaceTree({ globs: ['libs/*'], projects: { 'app/libs/a': { name: 'a', version: '1.0.0' } } }));
    t.write('app/libs/a/package.yaml', 'name: a-yaml\nversion: 9.0.0\n');
    t.write('app/libs/y/package.yaml', 'name: y\nversion: 2.0.0\ndependencies:\n  a: workspace:*\n');
    const ws = await loadWorkspace(t.at('app'));
    expect(ws.byName.get('a')!.manifest.version).toBe('1.0.0');
    expect(ws.byName.get('y')!.manifest.dependencies).toEqual({ a: 'workspace:*' });
    expect(path.basename(ws.byName.get('y')!.manifestPath)).toBe('package.yaml');
  });
});

describe('pnpm-workspace.yaml validation', () => {
  const cases: Array<{ name: string; yaml: string; code: string; contains: string[] }> = [
    { name: 'bad YAML reports line and column', yaml: 'packages:\n  - a\n  - [b\n', code: 'WORKSPACE_INVALID', contains: ['pnpm-workspace.yaml:4:1', 'invalid YAML'] },
    { name: 'a list at the top', yaml: '- a\n- b\n', code: 'WORKSPACE_INVALID', contains: ['pnpm-workspace.yaml:1:1', 'must be a mapping', 'a list'] },
    { name: 'a scalar at the top', yaml: 'hello\n', code: 'WORKSPACE_INVALID', contains: ['must be a mapping'] },
    { name: 'packages not a list', yaml: 'packages: backend\n', code: 'WORKSPACE_INVALID', contains: ['pnpm-workspace.yaml:1:11', '"packages" must be a list'] },
    { name: 'a non-string package glob', yaml: 'packages:\n  - a\n  - {x: 1}\n', code: 'WORKSPACE_INVALID', contains: ['pnpm-workspace.yaml:3:5', 'entry 2 must be a string'] },
    { name: 'an empty package glob', yaml: "packages:\n  - ''\n", code: 'WORKSPACE_INVALID', contains: ['entry 1 is empty'] },
    { name: 'a duplicate key', yaml: 'packages: [a]\npackages: [b]\n', code: 'WORKSPACE_INVALID', contains: ['pnpm-workspace.yaml:2:1', 'unique'] },
    { name: 'a catalog entry that is not a string', yaml: 'catalog:\n  ms: {v: 1}\n', code: 'WORKSPACE_INVALID', contains: ['"catalog" entry "ms" must be a string'] },
    { name: 'a catalog that is a list', yaml: 'catalog:\n  - ms\n', code: 'WORKSPACE_INVALID', contains: ['"catalog" must be a map'] },
    { name: 'catalogs that are a list', yaml: 'catalogs: [a]\n', code: 'WORKSPACE_INVALID', contains: ['"catalogs" must be a map'] },
    { name: 'a named catalog that is a string', yaml: 'catalogs:\n  tools: semver\n', code: 'WORKSPACE_INVALID', contains: ['"catalogs.tools" must be a map'] },
    { name: 'the default catalog twice', yaml: 'catalog:\n  ms: ^2.0.0\ncatalogs:\n  default:\n    ms: ^2.1.0\n', code: 'WORKSPACE_INVALID', contains: ['defined twice'] },
    {
      name: 'an alias bomb',
      yaml: 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n',
      code: 'WORKSPACE_INVALID',
      contains: ['alias'],
    },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${c.code}`, async () => {
      const t = track(workspaceTree({ yaml: c.yaml, projects: {} }));
      const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
      expect(e.code).toBe(c.code);
      expect(e.kind).toBe('config');
      for (const s of c.contains) expect(e.message).toContain(s);
    });
  }

  it('collects every shape problem of the file at once', async () => {
    const t = track(workspaceTree({ yaml: 'packages: backend\ncatalog: [ms]\ncatalogs: x\n', projects: {} }));
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
    expect(e.problems).toHaveLength(3);
    expect(e.message).toContain('3 problems found');
  });

  it('refuses a workspace file over the size limit', async () => {
    const t = track(workspaceTree({ yaml: 'packages: []\n#' + 'x'.repeat(MAX_MANIFEST_BYTES) + '\n', projects: {} }));
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
    expect(e.code).toBe('WORKSPACE_TOO_LARGE');
  });
});

describe('package globs', () => {
  const sibling = { 'plat/packages/a': { name: '@s/a', version: '1.0.0' }, 'plat/packages/b': { name: '@s/b', version: '1.0.0' } };

  it('applies ! negations to ../ globs and always includes the root', async () => {
    const t = track(workspaceTree({ globs: ['../plat/packages/*', '!../plat/packages/b'], projects: sibling }));
    const ws = await loadWorkspace(t.at('app'));
    expect(ws.projects.map((p) => [p.relDir, p.inside])).toEqual([
      ['', true],
      ['../plat/packages/a', false],
    ]);
  });

  it('ignores node_modules below ../ globs (fast-glob does not apply the ignore to ../ paths)', async () => {
    const t = track(workspaceTree({ globs: ['../plat/**'], projects: { ...sibling, 'plat/node_modules/x': { name: 'x', version: '1.0.0' }, 'plat/packages/a/node_modules/y': { name: 'y', version: '1.0.0' }, 'app/node_modules/z': { name: 'z' } } }));
    const ws = await loadWorkspace(t.at('app'));
    expect(ws.projects.map((p) => p.relDir)).toEqual(['', '../plat/packages/a', '../plat/packages/b']);
  });

  it('dedupes folders reached by two globs and through a symlink, keeping real paths', async () => {
    const t = track(workspaceTree({ globs: ['../plat/packages/*', '../plat/packages/a', 'vendor/*'], projects: sibling }));
    t.symlink('app/vendor/a-link', '../../plat/packages/a');
    const ws = await loadWorkspace(t.at('app'));
    expect(ws.projects.map((p) => p.relDir)).toEqual(['', '../plat/packages/a', '../plat/packages/b']);
    expect(ws.byName.get('@s/a')!.dir).toBe(t.at('plat/packages/a'));
  });

  it('treats a symlink inside the repo pointing outside as outside', async () => {
    const t = track(workspaceTree({ globs: ['vendor/*'], projects: { 'plat/packages/a': { name: '@s/a', version: '1.0.0' } } }));
    t.symlink('app/vendor/a', '../../plat/packages/a');
    const ws = await loadWorkspace(t.at('app'));
    const a = ws.byName.get('@s/a')!;
    expect(a.inside).toBe(false);
    expect(a.relDir).toBe('../plat/packages/a');
  });

  const refused: Array<{ name: string; globs: string[]; setup?: (t: TempTree) => void; code: string; contains: string }> = [
    { name: 'an absolute glob', globs: ['/tmp/*'], code: 'WORKSPACE_GLOB_ABSOLUTE', contains: '"/tmp/*" is absolute' },
    { name: 'a negated absolute glob', globs: ['lib', '!/etc'], code: 'WORKSPACE_GLOB_ABSOLUTE', contains: 'absolute' },
    { name: 'a glob into node_modules', globs: ['../plat/node_modules/*'], code: 'WORKSPACE_GLOB_NODE_MODULES', contains: 'node_modules' },
    { name: 'a recursive glob above the root', globs: ['../**'], code: 'WORKSPACE_GLOB_ANCESTOR', contains: 'ancestor of the repo root' },
    { name: 'a deeper recursive glob above the root', globs: ['../../**/packages/*'], code: 'WORKSPACE_GLOB_ANCESTOR', contains: 'recursively' },
    { name: 'a glob matching the repo itself', globs: ['../*'], code: 'WORKSPACE_GLOB_ANCESTOR', contains: 'the repo root itself' },
    { name: 'a glob naming the repo through ..', globs: ['../app'], code: 'WORKSPACE_GLOB_ANCESTOR', contains: 'the repo root itself' },
    { name: 'a glob naming the parent folder', globs: ['..'], setup: (t) => t.write('package.json', { name: 'parent' }), code: 'WORKSPACE_GLOB_ANCESTOR', contains: 'an ancestor of the repo root' },
    { name: 'a symlink in a project folder pointing at the root', globs: ['packages/*'], setup: (t) => t.symlink('app/packages/loop', '..'), code: 'WORKSPACE_GLOB_ANCESTOR', contains: 'packages/loop' },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} -> ${c.code}`, async () => {
      const t = track(workspaceTree({ globs: c.globs, projects: sibling }));
      c.setup?.(t);
      const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
      expect(e.code).toBe(c.code);
      expect(e.message).toContain(c.contains);
      expect(e.message).toContain('pnpm-workspace.yaml');
    });
  }
});

describe('manifest problems', () => {
  const cases: Array<{ name: string; contents: string | Buffer; code: string; contains: string[] }> = [
    { name: 'bad JSON', contents: '{\n  "name": "@s/a",\n  "version": "1.0.0",,\n}\n', code: 'MANIFEST_PARSE_ERROR', contains: ['not valid JSON', 'line 3, column'] },
    { name: 'a truncated file', contents: '{\n  "name": "@s/a",\n', code: 'MANIFEST_PARSE_ERROR', contains: ['not valid JSON'] },
    { name: 'an empty file', contents: '', code: 'MANIFEST_PARSE_ERROR', contains: ['is empty'] },
    { name: 'a BOM-only file', contents: Buffer.from([0xef, 0xbb, 0xbf]), code: 'MANIFEST_PARSE_ERROR', contains: ['only a byte-order mark'] },
    { name: 'an array', contents: '[{"name": "@s/a"}]\n', code: 'MANIFEST_NOT_OBJECT', contains: ['not an array'] },
    { name: 'a string', contents: '"@s/a"\n', code: 'MANIFEST_NOT_OBJECT', contains: ['not a string'] },
    { name: 'null', contents: 'null\n', code: 'MANIFEST_NOT_OBJECT', contains: ['not null'] },
    {
      name: 'a duplicate dependencies key',
      contents: '{\n  "name": "@s/a",\n  "version": "1.0.0",\n  "dependencies": { "x": "1.0.0" },\n  "dependencies": { "y": "1.0.0" }\n}\n',
      code: 'MANIFEST_DUPLICATE_KEY',
      contains: ['key dependencies appears twice (lines 4 and 5)'],
    },
    {
      name: 'a duplicate dependency',
      contents: '{\n  "name": "@s/a",\n  "version": "1.0.0",\n  "dependencies": {\n    "@s/b": "workspace:*",\n    "@s/b": "^9.0.0"\n  }\n}\n',
      code: 'MANIFEST_DUPLICATE_KEY',
      contains: ['key dependencies."@s/b" appears twice (lines 5 and 6)'],
    },
    { name: 'a duplicate key spelled with an escape', contents: '{"name": "@s/a", "n\\u0061me": "@s/z"}', code: 'MANIFEST_DUPLICATE_KEY', contains: ['key name appears twice'] },
    { name: 'a number as dependency value', contents: '{"name": "@s/a", "version": "1.0.0", "dependencies": {"x": 1}}', code: 'MANIFEST_INVALID', contains: ['"dependencies"."x" must be a string specifier, found number 1'] },
    { name: 'dependencies as a list', contents: '{"name": "@s/a", "version": "1.0.0", "peerDependencies": ["x"]}', code: 'MANIFEST_INVALID', contains: ['"peerDependencies" must be an object'] },
    { name: 'a name that is not a string', contents: '{"name": ["@s/a"], "version": "1.0.0"}', code: 'MANIFEST_INVALID', contains: ['"name" must be a string'] },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${c.code}, naming the file`, async () => {
      const t = track(workspaceTree({ globs: ['../plat/packages/*'], projects: { 'plat/packages/b': { name: '@s/b', version: '1.0.0' } } }));
      t.write('plat/packages/a/package.json', c.contents);
      const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
      expect(codesOf(e)).toEqual([c.code]);
      expect(e.kind).toBe('config');
      expect(e.message).toContain('../plat/packages/a/package.json');
      expect(e.problems[0]!.path).toBe('../plat/packages/a/package.json');
      for (const s of c.contains) expect(e.message).toContain(s);
      expect(e.message).not.toMatch(/\n\s+at /);
    });
  }

  it('refuses a manifest over the size limit without parsing it', async () => {
    const t = track(workspaceTree({ globs: ['lib'], projects: {} }));
    t.write('app/lib/package.json', `{"name": "lib", "description": "${'x'.repeat(MAX_MANIFEST_BYTES)}"}`);
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
    expect(e.code).toBe('MANIFEST_TOO_LARGE');
    expect(e.message).toContain('lib/package.json');
  });

  it('reports a dangling symlinked manifest instead of dropping the project', async () => {
    const t = track(workspaceTree({ globs: ['lib'], projects: {} }));
    mkdirSync(t.at('app/lib'));
    symlinkSync('../../nowhere/package.json', t.at('app/lib/package.json'));
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
    expect(e.code).toBe('MANIFEST_UNREADABLE');
    expect(e.message).toContain('lib/package.json');
  });

  it('reports two projects with one name', async () => {
    const t = track(workspaceTree({ globs: ['../plat/packages/*', 'lib'], projects: { 'plat/packages/a': { name: '@s/a', version: '1.0.0' }, 'app/lib': { name: '@s/a', version: '2.0.0' } } }));
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
    expect(e.code).toBe('DUPLICATE_PACKAGE_NAME');
    expect(e.message).toContain('@s/a');
    expect(e.message).toContain('../plat/packages/a/package.json');
    expect(e.message).toContain('lib/package.json');
  });

  it('collects every broken manifest of the workspace in one error', async () => {
    const t = track(workspaceTree({ globs: ['../plat/packages/*', 'lib', 'web'], projects: { 'plat/packages/a': '{ nope', 'app/lib': '[]', 'app/web': { name: 'web', dependencies: { x: false } } } }));
    t.write('plat/packages/b/package.json', '{"name": "b", "name": "b2"}');
    const e = await expectDockerPrepError(() => loadWorkspace(t.at('app')));
    expect(codesOf(e).sort()).toEqual(['MANIFEST_DUPLICATE_KEY', 'MANIFEST_INVALID', 'MANIFEST_NOT_OBJECT', 'MANIFEST_PARSE_ERROR']);
    expect(e.message).toContain('4 problems found');
  });

  it('skips a folder named package.json, as pnpm does', async () => {
    const t = track(workspaceTree({ globs: ['lib'], projects: {} }));
    mkdirSync(t.at('app/lib/package.json'), { recursive: true });
    // A folder named package.json is not a manifest: pnpm skips it (fast-glob matches files only).
    expect((await loadWorkspace(t.at('app'))).projects.map((p) => p.relDir)).toEqual(['']);
  });
});
