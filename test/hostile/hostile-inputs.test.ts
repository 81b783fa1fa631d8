import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeEcosystem, type Ecosystem } from '../helpers/ecosystem.js';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

/**
 * Malformed and hostile inputs, each run through the real CLI (`docker-prep pack --cwd app`) on a
 * fresh copy of the bundled two-repo ecosystem. Every one must end in exit 2 with a one-line
 * `docker-prep: ERROR [CODE]`, a `hint:`, no stack trace, and both repos byte-identical afterwards
 * (paths, modes, sha256): nothing is written before the plan is known to be sound.
 */
interface HostileCase {
  name: string;
  /** Breaks the fresh ecosystem; may return extra CLI arguments (and a different --cwd). */
  setup: (eco: Ecosystem) => void | { args?: string[]; cwd?: string };
  code: string;
  /** Strings the error output must contain (file names, package names, ranges). */
  mentions?: string[];
}

const BIG = 5 * 1024 * 1024 + 1;

const file = (eco: Ecosystem, rel: string): string => path.join(eco.base, ...rel.split('/'));
const write = (eco: Ecosystem, rel: string, data: string | Buffer): void => {
  mkdirSync(path.dirname(file(eco, rel)), { recursive: true });
  writeFileSync(file(eco, rel), data);
};
const editJson = (eco: Ecosystem, rel: string, edit: (m: Record<string, any>) => void): void => {
  const m = JSON.parse(readFileSync(file(eco, rel), 'utf8').replace(/^\ufeff/, '')) as Record<string, any>;
  edit(m);
  write(eco, rel, JSON.stringify(m, null, 2) + '\n');
};
const setYaml = (text: string) => (eco: Ecosystem) => write(eco, 'app/pnpm-workspace.yaml', text);
const withGlobs = (...globs: string[]) => setYaml(`packages:\n${globs.map((g) => `  - '${g}'\n`).join('')}catalog:\n  ms: ^2.1.3\ncatalogs:\n  tools:\n    semver: ^7.6.0\n`);
const DEFAULT_GLOBS = ['backend', 'web', '../common_plat/packages/*', '!../common_plat/packages/unbuilt'];
const BACKEND = 'app/backend/package.json';
const WEB = 'app/web/package.json';
const DB = 'common_plat/packages/db/package.json';
const LOGGER = 'common_plat/packages/logger/package.json';

const cases: HostileCase[] = [
  // pnpm-workspace.yaml
  { name: 'bad YAML', setup: setYaml('packages:\n  - backend\n  - [web\n'), code: 'WORKSPACE_INVALID', mentions: ['pnpm-workspace.yaml:4:1'] },
  { name: 'YAML that is a list', setup: setYaml('- backend\n- web\n'), code: 'WORKSPACE_INVALID', mentions: ['must be a mapping'] },
  { name: 'YAML that is a scalar', setup: setYaml('backend web\n'), code: 'WORKSPACE_INVALID', mentions: ['must be a mapping'] },
  { name: 'packages not a list', setup: setYaml('packages: backend\n'), code: 'WORKSPACE_INVALID', mentions: ['"packages" must be a list'] },
  { name: 'a package glob that is a map', setup: setYaml('packages:\n  - backend\n  - {web: 1}\n'), code: 'WORKSPACE_INVALID', mentions: ['pnpm-workspace.yaml:3:5'] },
  { name: 'an empty package glob', setup: setYaml("packages:\n  - backend\n  - ''\n"), code: 'WORKSPACE_INVALID', mentions: ['is empty'] },
  { name: 'a duplicate YAML key', setup: setYaml('packages: [backend]\npackages: [web]\n'), code: 'WORKSPACE_INVALID', mentions: ['pnpm-workspace.yaml:2:1'] },
  {
    name: 'a YAML alias bomb',
    setup: setYaml('packages: [backend]\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n'),
    code: 'WORKSPACE_INVALID',
    mentions: ['alias'],
  },
  { name: 'a catalog entry that is not a string', setup: setYaml('packages: [backend]\ncatalog:\n  ms: [2]\n'), code: 'WORKSPACE_INVALID', mentions: ['"catalog" entry "ms"'] },
  { name: 'catalogs that are a list', setup: setYaml('packages: [backend]\ncatalogs: [tools]\n'), code: 'WORKSPACE_INVALID', mentions: ['"catalogs" must be a map'] },
  { name: 'the default catalog defined twice', setup: setYaml('packages: [backend]\ncatalog:\n  ms: ^2.1.3\ncatalogs:\n  default:\n    ms: ^2.0.0\n'), code: 'WORKSPACE_INVALID', mentions: ['defined twice'] },
  { name: 'a huge workspace file', setup: (eco) => write(eco, 'app/pnpm-workspace.yaml', readFileSync(file(eco, 'app/pnpm-workspace.yaml'), 'utf8') + '#' + 'x'.repeat(BIG) + '\n'), code: 'WORKSPACE_TOO_LARGE' },
  { name: 'no workspace file at all', setup: (eco) => unlinkSync(file(eco, 'app/pnpm-workspace.yaml')), code: 'NO_WORKSPACE' },
  {
    name: 'a workspace file spelled .yml',
    setup: (eco) => renameSync(file(eco, 'app/pnpm-workspace.yaml'), file(eco, 'app/pnpm-workspace.yml')),
    code: 'WORKSPACE_INVALID',
    mentions: ['pnpm-workspace.yml'],
  },

  // package globs
  { name: 'an absolute glob', setup: (eco) => withGlobs('backend', `${eco.plat}/packages/*`)(eco), code: 'WORKSPACE_GLOB_ABSOLUTE', mentions: ['is absolute'] },
  { name: 'a recursive glob above the repo root', setup: withGlobs('backend', '../**'), code: 'WORKSPACE_GLOB_ANCESTOR', mentions: ['"../**"'] },
  { name: 'a glob matching the repo itself', setup: withGlobs('backend', '../*'), code: 'WORKSPACE_GLOB_ANCESTOR', mentions: ['the repo root itself'] },
  {
    name: 'a glob naming the parent folder',
    setup: (eco) => {
      write(eco, 'package.json', '{"name": "everything", "version": "1.0.0"}\n');
      withGlobs('backend', '..')(eco);
    },
    code: 'WORKSPACE_GLOB_ANCESTOR',
    mentions: ['an ancestor of the repo root'],
  },
  { name: 'a sibling folder symlinked back to the repo', setup: (eco) => symlinkSync('../../app', file(eco, 'common_plat/packages/loop')), code: 'WORKSPACE_GLOB_ANCESTOR', mentions: ['../common_plat/packages/loop'] },
  { name: 'a glob reaching into node_modules', setup: withGlobs('backend', '../common_plat/node_modules/*'), code: 'WORKSPACE_GLOB_NODE_MODULES', mentions: ['node_modules'] },

  // manifests
  { name: 'bad JSON in a sibling', setup: (eco) => write(eco, DB, '{\r\n  "name": "@scope/db",\r\n  "version": "2.0.1",,\r\n}\r\n'), code: 'MANIFEST_PARSE_ERROR', mentions: ['../common_plat/packages/db/package.json', 'line 3'] },
  { name: 'bad JSON in a target', setup: (eco) => write(eco, BACKEND, '{ "name": "@app/backend", '), code: 'MANIFEST_PARSE_ERROR', mentions: ['backend/package.json'] },
  {
    name: 'a duplicate dependencies key in a target',
    setup: (eco) => write(eco, BACKEND, '{\n  "name": "@app/backend",\n  "version": "0.1.0",\n  "dependencies": { "@scope/auth": "workspace:*" },\n  "dependencies": { "ms": "catalog:" }\n}\n'),
    code: 'MANIFEST_DUPLICATE_KEY',
    mentions: ['backend/package.json', 'key dependencies appears twice (lines 4 and 5)'],
  },
  {
    name: 'a duplicate dependency in a sibling',
    setup: (eco) => write(eco, DB, '{\n  "name": "@scope/db",\n  "version": "2.0.1",\n  "dependencies": {\n    "@scope/logger": "workspace:^",\n    "@scope/logger": "^9.0.0"\n  }\n}\n'),
    code: 'MANIFEST_DUPLICATE_KEY',
    mentions: ['../common_plat/packages/db/package.json', 'dependencies."@scope/logger"'],
  },
  { name: 'a manifest that is an array', setup: (eco) => write(eco, LOGGER, '[{"name": "@scope/logger"}]\n'), code: 'MANIFEST_NOT_OBJECT', mentions: ['logger/package.json', 'an array'] },
  { name: 'a manifest that is a string', setup: (eco) => write(eco, WEB, '"@app/web"\n'), code: 'MANIFEST_NOT_OBJECT', mentions: ['web/package.json'] },
  { name: 'a manifest that is null', setup: (eco) => write(eco, DB, 'null'), code: 'MANIFEST_NOT_OBJECT', mentions: ['db/package.json'] },
  { name: 'an empty manifest', setup: (eco) => write(eco, LOGGER, ''), code: 'MANIFEST_PARSE_ERROR', mentions: ['logger/package.json', 'is empty'] },
  { name: 'a BOM-only manifest', setup: (eco) => write(eco, 'common_plat/packages/config/package.json', Buffer.from([0xef, 0xbb, 0xbf])), code: 'MANIFEST_PARSE_ERROR', mentions: ['config/package.json'] },
  {
    name: 'a huge manifest',
    setup: (eco) => editJson(eco, DB, (m) => (m.description = 'x'.repeat(BIG))),
    code: 'MANIFEST_TOO_LARGE',
    mentions: ['db/package.json'],
  },
  { name: 'a non-string dependency value', setup: (eco) => editJson(eco, BACKEND, (m) => (m.dependencies.ms = 2)), code: 'MANIFEST_INVALID', mentions: ['backend/package.json', '"dependencies"."ms"'] },
  { name: 'dependencies that are a list', setup: (eco) => editJson(eco, 'common_plat/packages/auth/package.json', (m) => (m.dependencies = ['@scope/db'])), code: 'MANIFEST_INVALID', mentions: ['auth/package.json'] },
  {
    name: 'a dangling symlinked manifest',
    setup: (eco) => {
      unlinkSync(file(eco, LOGGER));
      symlinkSync('../../../gone/package.json', file(eco, LOGGER));
    },
    code: 'MANIFEST_UNREADABLE',
    mentions: ['logger/package.json'],
  },
  { name: 'two projects with one name', setup: (eco) => editJson(eco, 'common_plat/packages/config/package.json', (m) => (m.name = '@scope/db')), code: 'DUPLICATE_PACKAGE_NAME', mentions: ['@scope/db'] },

  // the dependency closure
  { name: 'a missing sibling', setup: (eco) => editJson(eco, WEB, (m) => (m.dependencies['@scope/nope'] = 'workspace:*')), code: 'WORKSPACE_PACKAGE_NOT_FOUND', mentions: ['@scope/nope', 'web/package.json'] },
  {
    name: 'a dependency on the excluded unbuilt sibling',
    setup: (eco) => editJson(eco, WEB, (m) => (m.dependencies['@scope/unbuilt'] = 'workspace:^')),
    code: 'WORKSPACE_PACKAGE_NOT_FOUND',
    mentions: ['@scope/unbuilt'],
  },
  { name: 'a workspace: path to no project', setup: (eco) => editJson(eco, WEB, (m) => (m.dependencies.x = 'workspace:../../common_plat/packages')), code: 'WORKSPACE_PACKAGE_NOT_FOUND', mentions: ['../../common_plat/packages'] },
  {
    name: 'a version mismatch in a target',
    setup: (eco) => editJson(eco, BACKEND, (m) => (m.dependencies['@scope/auth'] = 'workspace:^1.0.0')),
    code: 'VERSION_UNSATISFIED',
    mentions: ['@scope/auth@0.3.0', '"^1.0.0"', 'backend/package.json'],
  },
  {
    name: 'a version mismatch between siblings',
    setup: (eco) => editJson(eco, 'common_plat/packages/auth/package.json', (m) => (m.dependencies['@scope/db'] = 'workspace:^3.0.0')),
    code: 'VERSION_UNSATISFIED',
    mentions: ['@scope/db@2.0.1', '"^3.0.0"', '@scope/auth'],
  },
  { name: 'a missing catalog entry', setup: (eco) => editJson(eco, BACKEND, (m) => (m.dependencies['left-pad'] = 'catalog:')), code: 'CATALOG_ENTRY_NOT_FOUND', mentions: ['left-pad'] },
  { name: 'an unknown named catalog', setup: (eco) => editJson(eco, BACKEND, (m) => (m.devDependencies.semver = 'catalog:nope')), code: 'CATALOG_NOT_FOUND', mentions: ['"nope"'] },
  {
    name: 'a catalog entry using the workspace: protocol',
    setup: (eco) => {
      write(eco, 'app/pnpm-workspace.yaml', readFileSync(file(eco, 'app/pnpm-workspace.yaml'), 'utf8').replace('ms: ^2.1.3', "ms: 'workspace:*'"));
    },
    code: 'CATALOG_ENTRY_INVALID',
    mentions: ['workspace:'],
  },
  { name: 'a packed sibling without a version', setup: (eco) => editJson(eco, LOGGER, (m) => delete m.version), code: 'PACKAGE_VERSION_MISSING', mentions: ['@scope/logger'] },
  { name: 'a packed sibling with a path as version', setup: (eco) => editJson(eco, LOGGER, (m) => (m.version = '1.2.0/../../../../evil')), code: 'PACKAGE_VERSION_INVALID', mentions: ['@scope/logger'] },
  {
    name: 'a packed sibling whose name climbs out of the output folder',
    setup: (eco) => {
      editJson(eco, LOGGER, (m) => (m.name = '@scope/../../../evil'));
      editJson(eco, WEB, (m) => (m.dependencies = { '@scope/../../../evil': 'workspace:*' }));
      editJson(eco, 'common_plat/packages/db/package.json', (m) => (m.dependencies = {}));
      editJson(eco, 'common_plat/packages/config/package.json', (m) => (m.dependencies = {}));
      editJson(eco, 'common_plat/packages/auth/package.json', (m) => (m.dependencies = { '@scope/db': 'workspace:~' }));
    },
    code: 'PACKAGE_NAME_INVALID',
    mentions: ['@scope/../../../evil'],
  },
  {
    name: 'two siblings whose tarballs collide',
    setup: (eco) => {
      write(eco, 'common_plat/packages/scopedb/package.json', '{"name": "scope-db", "version": "2.0.1"}\n');
      editJson(eco, WEB, (m) => (m.dependencies['scope-db'] = 'workspace:*'));
    },
    code: 'TARBALL_NAME_COLLISION',
    mentions: ['scope-db-2.0.1.tgz'],
  },

  // flags
  { name: '--project outside the repo', setup: (eco) => ({ args: ['--project', path.join(eco.plat, 'packages', 'db')] }), code: 'PROJECT_NOT_FOUND', mentions: ['outside the repo root'] },
  { name: '--project that does not exist', setup: () => ({ args: ['--project', 'nope'] }), code: 'PROJECT_NOT_FOUND', mentions: ['nope'] },
  { name: '--project naming a file', setup: () => ({ args: ['--project', 'backend/src/server.js'] }), code: 'PROJECT_NOT_FOUND', mentions: ['server.js'] },
  { name: '--out outside the repo', setup: () => ({ args: ['--out', '../elsewhere'] }), code: 'OUT_OUTSIDE_REPO', mentions: ['../elsewhere'] },
  { name: '--out absolute outside the repo', setup: (eco) => ({ args: ['--out', path.join(eco.base, 'abs-out')] }), code: 'OUT_OUTSIDE_REPO' },
  { name: '--out the repo root itself', setup: () => ({ args: ['--out', '.'] }), code: 'OUT_OUTSIDE_REPO' },
  {
    name: '--out through a symlink out of the repo',
    setup: (eco) => {
      mkdirSync(file(eco, 'outside-deps'));
      symlinkSync('../outside-deps', file(eco, 'app/deps-link'));
      return { args: ['--out', 'deps-link'] };
    },
    code: 'PATH_OUTSIDE_ROOT',
    mentions: ['outside-deps'],
  },
  { name: 'an unknown flag', setup: () => ({ args: ['--frobnicate'] }), code: 'USAGE', mentions: ['--frobnicate'] },
  { name: '--cwd that does not exist', setup: (eco) => ({ cwd: path.join(eco.base, 'no', 'such', 'dir') }), code: 'NO_WORKSPACE' },

  // the files a pack would write or pack
  {
    name: 'a symlinked target manifest pointing outside the repo',
    setup: (eco) => {
      mkdirSync(file(eco, 'elsewhere'));
      renameSync(file(eco, BACKEND), file(eco, 'elsewhere/package.json'));
      symlinkSync('../../elsewhere/package.json', file(eco, BACKEND));
    },
    code: 'PATH_OUTSIDE_ROOT',
    mentions: ['elsewhere/package.json'],
  },
  { name: 'a read-only target manifest', setup: (eco) => chmodSync(file(eco, WEB), 0o444), code: 'FILE_READ_ONLY', mentions: ['web/package.json'] },
  {
    name: 'an unbuilt sibling',
    setup: (eco) => {
      withGlobs(...DEFAULT_GLOBS.slice(0, 3))(eco);
      editJson(eco, WEB, (m) => (m.dependencies['@scope/unbuilt'] = 'workspace:*'));
    },
    code: 'MISSING_ENTRY_POINT',
    mentions: ['@scope/unbuilt', 'dist/index.js'],
  },
  { name: 'a private key in a sibling', setup: (eco) => write(eco, 'common_plat/packages/db/dist/id_rsa', 'not really a key\n'), code: 'SECRET_FILE', mentions: ['id_rsa'] },
  { name: 'a .env file in a sibling', setup: (eco) => write(eco, 'common_plat/packages/logger/dist/.env.production', 'TOKEN=x\n'), code: 'SECRET_FILE', mentions: ['.env.production'] },
];

describe('hostile inputs through the real CLI', () => {
  let cacheHome: string;
  beforeAll(() => {
    if (!existsSync(path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` before this suite');
    cacheHome = mkdtempSync(path.join(os.tmpdir(), 'dp-hostile-cache-'));
  });
  afterAll(() => rmSync(cacheHome, { recursive: true, force: true }));

  it('has at least 40 cases with distinct names', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  for (const c of cases) {
    it(`${c.name} -> exit 2 [${c.code}], nothing changed`, () => {
      const eco = makeEcosystem();
      try {
        const extra = c.setup(eco) ?? {};
        const before = snapshotTree(eco.base);
        const r = runCli(['pack', '--cwd', extra.cwd ?? eco.app, ...(extra.args ?? [])], { cwd: eco.base, cacheHome });
        const after = snapshotTree(eco.base);
        const report = `stderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
        expect(r.status, report).toBe(2);
        expect(r.stderr, report).toMatch(new RegExp(`^docker-prep: ERROR \\[${c.code}\\] \\S`, 'm'));
        expect(r.stderr, report).toMatch(/^hint: \S/m);
        expect(r.stderr, report).not.toMatch(/^\s+at .+[:(]\d+:\d+\)?$/m);
        for (const m of c.mentions ?? []) expect(r.stderr, report).toContain(m);
        expect(after).toEqual(before);
      } finally {
        // A read-only file does not stop rm as root, but keep cleanup independent of the case.
        eco.cleanup();
      }
    });
  }
});
