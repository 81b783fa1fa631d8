import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeClosure } from '../../src/core/closure/compute-closure.js';
import type { Closure, ClosureEdge } from '../../src/core/types.js';
import { loadWorkspace } from '../../src/core/workspace/load-workspace.js';
import { makeEcosystem } from '../helpers/ecosystem.js';
import { codesOf, expectDockerPrepError, trackTrees, workspaceTree, type FileSpec, type TempTree } from '../workspace/temp-tree.js';

const track = trackTrees();

type Deps = Record<string, string>;
interface PkgSpec {
  version?: string | null;
  name?: string;
  dependencies?: Deps;
  devDependencies?: Deps;
  optionalDependencies?: Deps;
  peerDependencies?: Deps;
}

/**
 * `app/` (globs: every app project folder and ../plat/packages/*) with projects `apps` (relDir below
 * app -> deps) and outside packages `pkgs` (short name -> spec) named `@s/<short>`.
 */
async function closureOf(opts: { apps: Record<string, PkgSpec>; pkgs: Record<string, PkgSpec>; extraYaml?: string; projects?: string[] }): Promise<{ c: Closure; t: TempTree }> {
  const t = build(opts);
  const ws = await loadWorkspace(t.at('app'));
  return { c: computeClosure(ws, opts.projects ? { projects: opts.projects.map((p) => t.at(p)) } : {}), t };
}

function build(opts: { apps: Record<string, PkgSpec>; pkgs: Record<string, PkgSpec>; extraYaml?: string }): TempTree {
  const projects: Record<string, FileSpec> = {};
  for (const [dir, spec] of Object.entries(opts.apps)) projects[`app/${dir}`] = manifest(spec.name ?? `@app/${dir}`, spec);
  for (const [short, spec] of Object.entries(opts.pkgs)) projects[`plat/packages/${short}`] = manifest(spec.name ?? `@s/${short}`, spec);
  const globs = [...Object.keys(opts.apps), '../plat/packages/*'];
  return track(workspaceTree({ yaml: `packages:\n${globs.map((g) => `  - '${g}'\n`).join('')}${opts.extraYaml ?? ''}`, projects }));
}

function manifest(name: string, spec: PkgSpec): Record<string, unknown> {
  const { version, name: _n, ...deps } = spec;
  return { name, ...(version === null ? {} : { version: version ?? '1.0.0' }), ...deps };
}

const names = (c: Closure): string[] => c.packages.map((p) => p.manifest.name!);
const edge = (c: Closure, from: string, to: string): ClosureEdge[] => c.edges.filter((e) => e.from === from && e.to === to);

describe('closure on the bundled ecosystem', () => {
  it('targets backend and web, packs their outside packages transitively, never the excluded one', async () => {
    const eco = track(makeEcosystem());
    const ws = await loadWorkspace(eco.app);
    const c = computeClosure(ws);
    expect(c.targets.map((t) => t.relDir)).toEqual(['backend', 'web']);
    expect(names(c)).toEqual(['@scope/auth', '@scope/config', '@scope/db', '@scope/logger']);
    expect(c.cycles).toEqual([]);
    // backend's devDependency counts (a build stage installs it) ...
    expect(edge(c, 'backend', '@scope/config')).toEqual([{ from: 'backend', to: '@scope/config', field: 'devDependencies', specifier: 'workspace:^', range: '^1.0.0', fromTarget: true }]);
    // ... a packed package's devDependency does not, its peer does.
    expect(c.edges.filter((e) => e.from === '@scope/auth' && e.field === 'devDependencies')).toEqual([]);
    expect(edge(c, '@scope/auth', '@scope/config')).toMatchObject([{ field: 'peerDependencies', range: '^1.0.0' }]);
    // the alias `scope-log: workspace:@scope/logger@^1.0.0` is an edge to the real name.
    expect(edge(c, '@scope/auth', '@scope/logger')).toEqual([
      { from: '@scope/auth', to: '@scope/logger', field: 'dependencies', specifier: 'workspace:*', range: '1.2.0' },
      { from: '@scope/auth', to: '@scope/logger', field: 'dependencies', specifier: 'workspace:@scope/logger@^1.0.0', range: '^1.0.0', alias: 'scope-log' },
    ]);
    expect(c.edges).toHaveLength(9);
    expect(c.packages.every((p) => !p.inside)).toBe(true);
  });

  it('packs only what one --project needs', async () => {
    const eco = track(makeEcosystem());
    const ws = await loadWorkspace(eco.app);
    const web = computeClosure(ws, { projects: [path.join(eco.app, 'web')] });
    expect(web.targets.map((t) => t.relDir)).toEqual(['web']);
    expect(names(web)).toEqual(['@scope/logger']);
    const backend = computeClosure(ws, { projects: [path.join(eco.app, 'backend'), path.join(eco.app, 'backend', '.')] });
    expect(backend.targets.map((t) => t.relDir)).toEqual(['backend']);
    expect(names(backend)).toEqual(['@scope/auth', '@scope/config', '@scope/db', '@scope/logger']);
  });
});

describe('graph shapes', () => {
  it('visits a diamond once and lists every edge', async () => {
    const { c } = await closureOf({
      apps: { api: { dependencies: { '@s/a': 'workspace:*', '@s/b': 'workspace:^' } } },
      pkgs: { a: { dependencies: { '@s/c': 'workspace:~' } }, b: { dependencies: { '@s/c': 'workspace:*' } }, c: { dependencies: { '@s/d': 'workspace:1.0.0' } }, d: {} },
    });
    expect(names(c)).toEqual(['@s/a', '@s/b', '@s/c', '@s/d']);
    expect(c.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(['@s/a>@s/c', '@s/b>@s/c', '@s/c>@s/d', 'api>@s/a', 'api>@s/b']);
    expect(c.cycles).toEqual([]);
  });

  it('reports a 3-cycle and a self-cycle without hanging, packing each member once', async () => {
    const { c } = await closureOf({
      apps: { api: { dependencies: { '@s/x': 'workspace:*', '@s/self': 'workspace:*' } } },
      pkgs: { x: { dependencies: { '@s/y': 'workspace:*' } }, y: { peerDependencies: { '@s/z': 'workspace:^' } }, z: { optionalDependencies: { '@s/x': 'workspace:~' } }, self: { dependencies: { '@s/self': 'workspace:*' } } },
    });
    expect(names(c)).toEqual(['@s/self', '@s/x', '@s/y', '@s/z']);
    expect(c.cycles).toEqual([['@s/self'], ['@s/x', '@s/y', '@s/z']]);
  });

  it('packs a target that another target needs, and reports the cycle through it', async () => {
    const { c } = await closureOf({
      apps: { api: { dependencies: { '@app/lib': 'workspace:*' } }, lib: { dependencies: { '@s/a': 'workspace:*' } } },
      pkgs: { a: { peerDependencies: { '@app/lib': 'workspace:*' } } },
    });
    expect(c.targets.map((t) => t.relDir)).toEqual(['api', 'lib']);
    expect(names(c)).toEqual(['@app/lib', '@s/a']);
    expect(c.cycles).toEqual([['@app/lib', '@s/a']]);
  });

  it('resolves every specifier form that can name a sibling', async () => {
    const { c } = await closureOf({
      apps: {
        api: {
          dependencies: {
            'log-alias': 'workspace:@s/log@^2.0.0',
            '@s/plain': '^1.0.0',
            'npm-alias': 'npm:@s/npmed@~1.0.0',
            '@s/cat': 'catalog:',
            '@s/named': 'catalog:sibs',
            '@s/pathy': 'workspace:../../plat/packages/pathy',
            react: '^18.0.0',
            ms: 'catalog:',
            local: 'file:../vendor/local',
          },
          optionalDependencies: { '@s/opt': 'workspace:*' },
        },
      },
      pkgs: { log: { version: '2.1.0' }, plain: {}, npmed: { version: '1.0.4' }, cat: { version: '3.0.0' }, named: {}, pathy: { version: '0.5.0' }, opt: {}, unused: {} },
      extraYaml: "catalog:\n  '@s/cat': ^3.0.0\n  ms: ^2.1.3\ncatalogs:\n  sibs:\n    '@s/named': 1.x\n",
    });
    expect(names(c)).toEqual(['@s/cat', '@s/log', '@s/named', '@s/npmed', '@s/opt', '@s/pathy', '@s/plain']);
    const byTo = Object.fromEntries(c.edges.map((e) => [e.to, e]));
    expect(byTo['@s/log']).toMatchObject({ alias: 'log-alias', range: '^2.0.0', specifier: 'workspace:@s/log@^2.0.0' });
    expect(byTo['@s/plain']).toMatchObject({ range: '^1.0.0' });
    expect(byTo['@s/npmed']).toMatchObject({ alias: 'npm-alias', range: '~1.0.0' });
    expect(byTo['@s/cat']).toMatchObject({ range: '^3.0.0', specifier: 'catalog:' });
    expect(byTo['@s/named']).toMatchObject({ range: '1.x', specifier: 'catalog:sibs' });
    expect(byTo['@s/pathy']).toMatchObject({ range: '0.5.0' });
    expect(byTo['@s/opt']).toMatchObject({ field: 'optionalDependencies' });
  });

  it('does not follow the devDependencies of packed packages', async () => {
    const { c } = await closureOf({ apps: { api: { devDependencies: { '@s/a': 'workspace:*' } } }, pkgs: { a: { devDependencies: { '@s/b': 'workspace:*', '@s/missing': 'workspace:*' } }, b: {} } });
    expect(names(c)).toEqual(['@s/a']);
  });
});

describe('target detection', () => {
  it('targets projects that need an outside package directly or through an inside library', async () => {
    const { c } = await closureOf({
      apps: {
        api: { dependencies: { '@app/lib': 'workspace:*' } },
        lib: { dependencies: { '@s/a': 'workspace:^' } },
        tools: { dependencies: { '@app/plain': 'workspace:*', ms: '^2.0.0' } },
        plain: {},
        devonly: { devDependencies: { '@s/b': 'workspace:*' } },
      },
      pkgs: { a: {}, b: {} },
    });
    expect(c.targets.map((t) => t.relDir)).toEqual(['api', 'devonly', 'lib']);
    expect(names(c)).toEqual(['@app/lib', '@s/a', '@s/b']);
  });

  it('finds no target when nothing needs an outside package', async () => {
    const { c } = await closureOf({ apps: { api: { dependencies: { ms: '^2.0.0' } } }, pkgs: { a: {} } });
    expect(c).toEqual({ targets: [], packages: [], edges: [], cycles: [] });
  });

  it('refuses --project outside the repo, missing, or not a workspace project', async () => {
    const t = build({ apps: { api: { dependencies: { '@s/a': 'workspace:*' } } }, pkgs: { a: {} } });
    t.write('app/scripts/x.js', '');
    const ws = await loadWorkspace(t.at('app'));
    const e = await expectDockerPrepError(() => computeClosure(ws, { projects: [t.at('plat/packages/a'), t.at('app/nope'), t.at('app/scripts'), t.at('plat')] }));
    expect(codesOf(e)).toEqual(['PROJECT_NOT_FOUND', 'PROJECT_NOT_FOUND', 'PROJECT_NOT_FOUND', 'PROJECT_NOT_FOUND']);
    expect(e.problems[0]!.message).toContain('@s/a lies outside the repo root');
    expect(e.problems[1]!.message).toContain('does not exist');
    expect(e.problems[2]!.message).toContain('is not a project of the workspace');
    expect(e.problems[3]!.message).toContain('lies outside the repo root');
    expect(e.kind).toBe('config');
  });
});

describe('closure problems', () => {
  const cases: Array<{ name: string; apps: Record<string, PkgSpec>; pkgs: Record<string, PkgSpec>; extraYaml?: string; code: string; contains: string[] }> = [
    {
      name: 'a target range the sibling does not satisfy',
      apps: { api: { dependencies: { '@s/a': 'workspace:^2.0.0' } } },
      pkgs: { a: { version: '1.4.0' } },
      code: 'VERSION_UNSATISFIED',
      contains: ['@s/a@1.4.0', '"^2.0.0"', 'target @app/api (api/package.json)', 'dependencies', '"@s/a": "workspace:^2.0.0"', '../plat/packages/a/package.json'],
    },
    {
      name: 'a transitive range the sibling does not satisfy',
      apps: { api: { dependencies: { '@s/a': 'workspace:*' } } },
      pkgs: { a: { peerDependencies: { '@s/b': 'workspace:~1.1.0' } }, b: { version: '1.2.0' } },
      code: 'VERSION_UNSATISFIED',
      contains: ['@s/b@1.2.0', '"~1.1.0"', 'requested by @s/a (../plat/packages/a/package.json) in peerDependencies'],
    },
    {
      name: 'a catalog range the sibling does not satisfy',
      apps: { api: { dependencies: { '@s/a': 'catalog:' } } },
      pkgs: { a: { version: '1.0.0' } },
      extraYaml: "catalog:\n  '@s/a': ^5.0.0\n",
      code: 'VERSION_UNSATISFIED',
      contains: ['@s/a@1.0.0', '"^5.0.0"', '"@s/a": "catalog:"'],
    },
    {
      name: 'a workspace: dependency on a missing sibling',
      apps: { api: { dependencies: { '@s/a': 'workspace:*', '@s/gone': 'workspace:^' } } },
      pkgs: { a: {} },
      code: 'WORKSPACE_PACKAGE_NOT_FOUND',
      contains: ['target @app/api (api/package.json)', '"@s/gone": "workspace:^"', 'no workspace project is named @s/gone'],
    },
    {
      name: 'a missing sibling as the only dependency still surfaces',
      apps: { api: { devDependencies: { '@s/gone': 'workspace:*' } } },
      pkgs: {},
      code: 'WORKSPACE_PACKAGE_NOT_FOUND',
      contains: ['@s/gone'],
    },
    {
      name: 'a workspace:../path to a folder that is no project',
      apps: { api: { dependencies: { x: 'workspace:../../plat/nothing' } } },
      pkgs: {},
      code: 'WORKSPACE_PACKAGE_NOT_FOUND',
      contains: ['the folder ../../plat/nothing is not a project'],
    },
    {
      name: 'an alias to a missing sibling',
      apps: { api: { dependencies: { '@s/a': 'workspace:*' } } },
      pkgs: { a: { dependencies: { lg: 'workspace:@s/log@^1.0.0' } } },
      code: 'WORKSPACE_PACKAGE_NOT_FOUND',
      contains: ['@s/a (../plat/packages/a/package.json)', 'no workspace project is named @s/log'],
    },
    {
      name: 'catalog: without a default catalog',
      apps: { api: { dependencies: { '@s/a': 'workspace:*', ms: 'catalog:' } } },
      pkgs: { a: {} },
      code: 'CATALOG_NOT_FOUND',
      contains: ['defines no default catalog', '"ms": "catalog:"'],
    },
    {
      name: 'an unknown named catalog in a packed package',
      apps: { api: { dependencies: { '@s/a': 'workspace:*' } } },
      pkgs: { a: { dependencies: { semver: 'catalog:tools' } } },
      extraYaml: 'catalogs:\n  other:\n    semver: ^7.0.0\n',
      code: 'CATALOG_NOT_FOUND',
      contains: ['no catalog named "tools"', '@s/a'],
    },
    {
      name: 'a catalog without the entry',
      apps: { api: { dependencies: { '@s/a': 'workspace:*', ms: 'catalog:' } } },
      pkgs: { a: {} },
      extraYaml: 'catalog:\n  semver: ^7.0.0\n',
      code: 'CATALOG_ENTRY_NOT_FOUND',
      contains: ['default catalog of pnpm-workspace.yaml has no entry for ms'],
    },
    {
      name: 'a catalog entry using workspace:',
      apps: { api: { dependencies: { '@s/a': 'catalog:', '@s/b': 'workspace:*' } } },
      pkgs: { a: {}, b: {} },
      extraYaml: "catalog:\n  '@s/a': 'workspace:*'\n",
      code: 'CATALOG_ENTRY_INVALID',
      contains: ['workspace: protocol'],
    },
    {
      name: 'a packed sibling without a version',
      apps: { api: { dependencies: { '@s/a': 'workspace:*' } } },
      pkgs: { a: { version: null } },
      code: 'PACKAGE_VERSION_MISSING',
      contains: ['@s/a (../plat/packages/a/package.json) has no "version"', 'target @app/api'],
    },
    {
      name: 'a packed sibling with a version that is no semver',
      apps: { api: { dependencies: { '@s/a': 'workspace:*' } } },
      pkgs: { a: { version: '1.0.0/../../../x' } },
      code: 'PACKAGE_VERSION_INVALID',
      contains: ['"1.0.0/../../../x"'],
    },
    {
      name: 'a packed sibling whose name would escape the output folder',
      apps: { api: { dependencies: { '@s/../../evil': 'workspace:*' } } },
      pkgs: { a: { name: '@s/../../evil' } },
      code: 'PACKAGE_NAME_INVALID',
      contains: ['"@s/../../evil" is not a valid package name'],
    },
    {
      name: 'a nameless sibling reached by path',
      apps: { api: { dependencies: { anon: 'workspace:../../plat/packages/anon' } } },
      pkgs: { anon: { name: '' } },
      code: 'PACKAGE_NAME_MISSING',
      contains: ['../plat/packages/anon/package.json has no "name"'],
    },
    {
      name: 'two siblings whose tarballs would share a file name',
      apps: { api: { dependencies: { '@s/a-b': 'workspace:*', '@s-a/b': 'workspace:*' } } },
      pkgs: { ab1: { name: '@s/a-b' }, ab2: { name: '@s-a/b' } },
      code: 'TARBALL_NAME_COLLISION',
      contains: ['s-a-b-1.0.0.tgz'],
    },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${c.code}`, async () => {
      const t = build(c);
      const ws = await loadWorkspace(t.at('app'));
      const e = await expectDockerPrepError(() => computeClosure(ws));
      expect(codesOf(e)).toEqual([c.code]);
      expect(e.kind).toBe('config');
      for (const s of c.contains) expect(e.message).toContain(s);
      expect(e.problems[0]!.path).toBeTruthy();
    });
  }

  it('collects every closure problem at once', async () => {
    const t = build({
      apps: { api: { dependencies: { '@s/a': 'workspace:^9.0.0', '@s/gone': 'workspace:*', ms: 'catalog:nope' } }, web: { dependencies: { '@s/b': 'workspace:*' } } },
      pkgs: { a: {}, b: { version: null } },
    });
    const ws = await loadWorkspace(t.at('app'));
    const e = await expectDockerPrepError(() => computeClosure(ws));
    expect(codesOf(e).sort()).toEqual(['CATALOG_NOT_FOUND', 'PACKAGE_VERSION_MISSING', 'VERSION_UNSATISFIED', 'WORKSPACE_PACKAGE_NOT_FOUND']);
  });

  it('reports no error for broken specifiers of projects that are not targets', async () => {
    const { c } = await closureOf({
      apps: { api: { dependencies: { '@s/a': 'workspace:*' } }, other: { dependencies: { ms: 'catalog:nope', '@s/a': '^7.0.0' } } },
      pkgs: { a: {} },
      projects: ['app/api'],
    });
    expect(names(c)).toEqual(['@s/a']);
  });
});
