import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerPrepError } from '../../src/core/errors.js';
import { neededPackages } from '../../src/core/registry/needed-packages.js';
import { expandEnv, npmrcFromEnv, parseNpmrc } from '../../src/core/registry/parse-npmrc.js';
import { authForUrl, nerfDart, readRegistryConfig, redactUrl, registryFor } from '../../src/core/registry/read-registry-config.js';
import { redactDeep, redactSecrets } from '../../src/core/registry/redact-secrets.js';
import { computeClosure } from '../../src/core/closure/compute-closure.js';
import { loadWorkspace } from '../../src/core/workspace/load-workspace.js';
import { makeEcosystem } from '../helpers/ecosystem.js';

describe('expandEnv', () => {
  it('expands ${VAR}, ${VAR:-default}, keeps escaped and unset references and reports the unset ones', () => {
    const env = { HOST: 'gitea.example.com', EMPTY: '' };
    expect(expandEnv('//${HOST}/api/', env)).toEqual({ value: '//gitea.example.com/api/', unset: [], expanded: true });
    expect(expandEnv('${NOPE:-fallback}', env).value).toBe('fallback');
    expect(expandEnv('\\${HOST}', env)).toEqual({ value: '${HOST}', unset: [], expanded: false });
    expect(expandEnv('a${MISSING}b${EMPTY}', env)).toEqual({ value: 'a${MISSING}b${EMPTY}', unset: ['MISSING', 'EMPTY'], expanded: false });
    expect(expandEnv('plain', env)).toEqual({ value: 'plain', unset: [], expanded: false });
  });
});

describe('parseNpmrc', () => {
  it('reads key=value lines with comments, quotes, CRLF, a BOM and sections, expanding keys and values', () => {
    const text = '\uFEFF; comment\r\n# another\r\n@scope:registry = "https://${HOST}/npm/"\r\n//${HOST}/npm/:_authToken=${TOKEN}\r\nstrict-ssl=false ; trailing\r\nflag\r\n[section]\r\nregistry=https://ignored/\r\n';
    const { entries, unset } = parseNpmrc(text, '.npmrc', { HOST: 'h.example', TOKEN: 'tok-123' });
    expect(entries.map((e) => [e.key, e.value, e.line])).toEqual([
      ['@scope:registry', 'https://h.example/npm/', 3],
      ['//h.example/npm/:_authToken', 'tok-123', 4],
      ['strict-ssl', 'false', 5],
      ['flag', 'true', 6],
    ]);
    expect(unset).toEqual([]);
    expect(entries[1]!.expanded).toBe(true);
  });

  it('reports each unset variable with its file and line', () => {
    const { unset, entries } = parseNpmrc('registry=https://r/\n@scope:registry=https://${GITEA_NPM_HOST}/x/\n', '.npmrc.docker', {});
    expect(unset).toEqual([{ name: 'GITEA_NPM_HOST', file: '.npmrc.docker', line: 2, key: '@scope:registry' }]);
    expect(entries[1]!.unset).toEqual(['GITEA_NPM_HOST']);
  });
});

describe('npmrcFromEnv', () => {
  it('maps npm_config_* like @npmcli/config: case-insensitive prefix, _ to -, nerf-darted keys as written, empty values ignored', () => {
    const got = npmrcFromEnv({
      NPM_CONFIG_REGISTRY: 'https://a/',
      npm_config_strict_ssl: 'false',
      'npm_config_//h/:_authToken': 'x',
      npm_config__auth: 'abc',
      npm_config_empty: '',
      PATH: '/bin',
    });
    expect(Object.fromEntries(got.map((e) => [e.key, e.value]))).toEqual({ registry: 'https://a/', 'strict-ssl': 'false', '//h/:_authToken': 'x', _auth: 'abc' });
  });
});

describe('readRegistryConfig', () => {
  let dir: string;
  let home: string;
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-npmrc-')));
    home = path.join(dir, 'home');
    mkdirSync(path.join(dir, 'repo'), { recursive: true });
    mkdirSync(home);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const root = (): string => path.join(dir, 'repo');

  it('precedence: env over project .npmrc over the user npmrc; npm default registry otherwise', async () => {
    writeFileSync(path.join(home, '.npmrc'), '@scope:registry=https://user.example/\n@other:registry=https://user-other.example/\nregistry=https://user-default.example/\n');
    writeFileSync(path.join(root(), '.npmrc'), '@scope:registry=https://project.example/\n');
    const cfg = await readRegistryConfig({
      root: root(),
      env: { HOME: home, 'npm_config_@other:registry': 'https://env.example', 'npm_config_//env.example/:_authToken': 'env-token-1' },
      scopes: ['@scope', '@other'],
    });
    expect(authForUrl(cfg, 'https://env.example/@other%2fx')).toMatchObject({ header: 'Bearer env-token-1', source: 'env:npm_config_//env.example/:_authToken' });
    expect(cfg.secrets).toContain('env-token-1');
    expect(registryFor(cfg, '@scope/db')).toMatchObject({ value: 'https://project.example/', where: '.npmrc:1' });
    expect(registryFor(cfg, '@other/x')).toMatchObject({ value: 'https://env.example/', where: 'env:npm_config_@other:registry' });
    expect(registryFor(cfg, 'ms').value).toBe('https://user-default.example/');
    expect(cfg.usesDockerNpmrc).toBe(false);
    expect(cfg.files.map((f) => [f.source, f.present])).toEqual([
      ['env', true],
      ['project', true],
      ['user', true],
    ]);

    const bare = await readRegistryConfig({ root: root(), env: {}, homeDir: path.join(dir, 'nohome') });
    expect(registryFor(bare, 'ms')).toMatchObject({ value: 'https://registry.npmjs.org/', where: 'npm default' });
  });

  it('npm_config_userconfig replaces ~/.npmrc', async () => {
    writeFileSync(path.join(home, '.npmrc'), '@scope:registry=https://home.example/\n');
    writeFileSync(path.join(dir, 'ci-npmrc'), '@scope:registry=https://ci.example/\n');
    const cfg = await readRegistryConfig({ root: root(), env: { HOME: home, npm_config_userconfig: path.join(dir, 'ci-npmrc') } });
    expect(registryFor(cfg, '@scope/a').value).toBe('https://ci.example/');
  });

  it('.npmrc.docker, when present, is the only file read (the image sees nothing else), expanded from env', async () => {
    writeFileSync(path.join(home, '.npmrc'), '//gitea.example.com/api/packages/org/npm/:_authToken=user-secret-token\n');
    writeFileSync(path.join(root(), '.npmrc'), '@scope:registry=https://project.example/\n');
    writeFileSync(
      path.join(root(), '.npmrc.docker'),
      '@scope:registry=https://${GITEA_NPM_HOST}/api/packages/org/npm/\n//${GITEA_NPM_HOST}/api/packages/org/npm/:_authToken=${GITEA_NPM_TOKEN}\n',
    );
    const cfg = await readRegistryConfig({ root: root(), env: { HOME: home, GITEA_NPM_HOST: 'gitea.example.com', GITEA_NPM_TOKEN: 'docker-secret-token' }, scopes: ['@scope'] });
    expect(cfg.usesDockerNpmrc).toBe(true);
    expect(cfg.files.map((f) => f.label)).toEqual(['environment (npm_config_*)', '.npmrc.docker']);
    expect(registryFor(cfg, '@scope/db')).toMatchObject({ value: 'https://gitea.example.com/api/packages/org/npm/', where: '.npmrc.docker:1' });
    const auth = authForUrl(cfg, 'https://gitea.example.com/api/packages/org/npm/@scope%2fdb');
    expect(auth).toEqual({ header: 'Bearer docker-secret-token', kind: 'token', source: '.npmrc.docker:2' });
    expect(cfg.secrets).toContain('docker-secret-token');
    expect(cfg.secrets).not.toContain('user-secret-token');
    expect(cfg.warnings).toEqual([]);
  });

  it('auth: the longest matching //host/path/ prefix wins; default ports are ignored; nothing beside the path', async () => {
    writeFileSync(
      path.join(root(), '.npmrc'),
      [
        '//reg.example/:_authToken=host-wide',
        '//reg.example:443/api/npm/:_authToken=path-token',
        '//reg.example/other/:username=bob',
        `//reg.example/other/:_password=${Buffer.from('pw-bob-1').toString('base64')}`,
        `//basic.example/:_auth=${Buffer.from('ann:pw-ann-1').toString('base64')}`,
        '',
      ].join('\n'),
    );
    const cfg = await readRegistryConfig({ root: root(), env: {}, homeDir: home });
    expect(authForUrl(cfg, 'https://reg.example/api/npm/@s%2fa')?.header).toBe('Bearer path-token');
    expect(authForUrl(cfg, 'https://reg.example/api/@s%2fa')?.header).toBe('Bearer host-wide');
    expect(authForUrl(cfg, 'https://reg.example/other/@s%2fa')?.header).toBe(`Basic ${Buffer.from('bob:pw-bob-1').toString('base64')}`);
    expect(authForUrl(cfg, 'https://basic.example/x')).toMatchObject({ kind: 'basic', source: '.npmrc:5' });
    expect(authForUrl(cfg, 'https://elsewhere.example/x')).toBeNull();
    expect(authForUrl(cfg, 'http://reg.example:8080/api/npm/x')).toBeNull();
    for (const s of ['host-wide', 'path-token', 'pw-bob-1', 'pw-ann-1']) expect(cfg.secrets).toContain(s);
  });

  it('--token-file overrides file tokens for the registries of the needed scopes; an unreadable one is a usage error', async () => {
    writeFileSync(path.join(root(), '.npmrc'), '@scope:registry=https://reg.example/npm/\n//reg.example/npm/:_authToken=from-npmrc\n');
    writeFileSync(path.join(dir, 'secret'), 'from-secret-file\n');
    const cfg = await readRegistryConfig({ root: root(), env: {}, homeDir: home, tokenFile: path.join(dir, 'secret'), scopes: ['@scope'] });
    expect(authForUrl(cfg, 'https://reg.example/npm/@scope%2fdb')).toMatchObject({ header: 'Bearer from-secret-file', kind: 'token' });
    expect(cfg.secrets).toEqual(expect.arrayContaining(['from-secret-file', 'from-npmrc']));

    const err = await readRegistryConfig({ root: root(), env: {}, homeDir: home, tokenFile: path.join(dir, 'absent'), scopes: ['@scope'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerPrepError);
    expect((err as DockerPrepError).code).toBe('TOKEN_FILE_UNREADABLE');
    expect((err as DockerPrepError).kind).toBe('usage');
  });

  it('hygiene: localhost in .npmrc.docker, an unset template variable, a scope with no registry line, a literal token — each with file and line', async () => {
    writeFileSync(
      path.join(root(), '.npmrc.docker'),
      [
        '# registry for the image',
        '@scope:registry=http://localhost:4873/',
        '//127.0.0.1:4873/:_authToken=literal-token-in-file',
        '@tools:registry=https://${GITEA_NPM_HOST}/api/packages/org/npm/',
        '',
      ].join('\n'),
    );
    const cfg = await readRegistryConfig({ root: root(), env: {}, homeDir: home, scopes: ['@scope', '@tools', '@lost'] });
    const got = cfg.warnings.map((w) => `${w.code} ${w.file}:${w.line ?? '-'}`).sort();
    expect(got).toEqual(
      [
        'REGISTRY_LOCALHOST .npmrc.docker:2',
        'REGISTRY_LOCALHOST .npmrc.docker:3',
        'TOKEN_IN_FILE .npmrc.docker:3',
        'TEMPLATE_VAR_UNSET .npmrc.docker:4',
        'SCOPE_NO_REGISTRY .npmrc.docker:-',
      ].sort(),
    );
    const unset = cfg.warnings.find((w) => w.code === 'TEMPLATE_VAR_UNSET')!;
    expect(unset.message).toContain('${GITEA_NPM_HOST}');
    expect(cfg.warnings.find((w) => w.code === 'SCOPE_NO_REGISTRY')!.message).toContain('@lost');
    // No warning text ever carries the credential itself.
    expect(JSON.stringify(cfg.warnings)).not.toContain('literal-token-in-file');
    // The registry whose host variable is unset is reported as such, not silently used.
    expect(registryFor(cfg, '@tools/x').unset).toEqual(['GITEA_NPM_HOST']);
  });

  it('localhost in the project .npmrc is fine (no container involved); a credential that misses the registry path is flagged', async () => {
    writeFileSync(path.join(root(), '.npmrc'), '@scope:registry=http://localhost:4873/api/npm/\n//localhost:4873/other/:_authToken=${TOK}\n');
    const cfg = await readRegistryConfig({ root: root(), env: { TOK: 'abc-123-secret' }, homeDir: home, scopes: ['@scope'] });
    expect(cfg.warnings.map((w) => `${w.code} ${w.file}:${w.line}`)).toEqual(['AUTH_NOT_MATCHING .npmrc:2']);
    expect(cfg.warnings[0]!.message).not.toContain('abc-123-secret');
  });
});

describe('nerfDart and redaction', () => {
  it('nerf-darts registry URLs and strips credentials from URLs', () => {
    expect(nerfDart('https://h.example:443/a/b/@s%2fx')).toBe('//h.example/a/b/');
    expect(nerfDart('http://127.0.0.1:4873/')).toBe('//127.0.0.1:4873/');
    expect(nerfDart('not a url')).toBeNull();
    expect(redactUrl('https://u:p4ss@h.example/x/')).toBe('https://h.example/x/');
  });

  it('redacts every secret, longest first, and any Authorization value, deep in objects', () => {
    expect(redactSecrets('a token-abc-123 b token-abc', ['token-abc', 'token-abc-123'])).toBe('a *** b ***');
    expect(redactSecrets('authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x', [])).toBe('authorization: Bearer ***');
    expect(redactDeep({ a: ['x sek-ret y'], 'sek-ret': 1 }, ['sek-ret'])).toEqual({ a: ['x *** y'], '***': 1 });
  });
});

describe('neededPackages', () => {
  it('lists every packed package with the published ranges asked of it (not devDependencies of packed packages)', async () => {
    const eco = makeEcosystem();
    try {
      const ws = await loadWorkspace(eco.app);
      const needed = neededPackages(ws, computeClosure(ws));
      expect(needed).toEqual([
        { name: '@scope/auth', ranges: ['0.3.0'], requestedBy: ['backend'] },
        { name: '@scope/config', ranges: ['^1.0.0'], requestedBy: ['@scope/auth', 'backend'] },
        { name: '@scope/db', ranges: ['~2.0.1'], requestedBy: ['@scope/auth'] },
        { name: '@scope/logger', ranges: ['1.2.0', '^1.0.0', '^1.2.0', '~1.2.0'], requestedBy: ['@scope/auth', '@scope/config', '@scope/db', 'web'] },
      ]);
    } finally {
      eco.cleanup();
    }
  });
});

describe('secrets of unset templates', () => {
  it('a credential line whose ${VAR} is unset sends nothing and does not make the variable name a "secret"', async () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-npmrc-')));
    try {
      writeFileSync(path.join(dir, '.npmrc'), '@scope:registry=https://reg.example/\n//reg.example/:_authToken=${UNSET_TOKEN}\n//other.example/:_authToken=pre-${UNSET_TOKEN}-post-fix\n');
      const cfg = await readRegistryConfig({ root: dir, env: {}, homeDir: path.join(dir, 'home'), scopes: ['@scope'] });
      expect(authForUrl(cfg, 'https://reg.example/@scope%2fa')).toBeNull();
      expect(cfg.secrets).not.toContain('${UNSET_TOKEN}');
      expect(cfg.secrets).toEqual(expect.arrayContaining(['pre-', '-post-fix']));
      expect(redactSecrets('set ${UNSET_TOKEN} first', cfg.secrets)).toBe('set ${UNSET_TOKEN} first');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
