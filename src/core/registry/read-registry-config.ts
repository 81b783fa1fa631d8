import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DockerPrepError } from '../errors.js';
import { npmrcFromEnv, parseNpmrc, type NpmrcEntry } from './parse-npmrc.js';

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';
/** The file the Docker build uses as its .npmrc; when present it is the whole truth for the image. */
export const DOCKER_NPMRC = '.npmrc.docker';

export type NpmrcSource = 'docker' | 'project' | 'user' | 'env';

export interface NpmrcFile {
  source: NpmrcSource;
  /** Absolute path, or `env` for the npm_config_* variables. */
  path: string;
  /** As shown in messages: relative to the repo root for files in it. */
  label: string;
  present: boolean;
}

/** A config-hygiene finding: never fatal, always with the file (and line when one is to blame). */
export interface ConfigWarning {
  code: string;
  message: string;
  hint: string;
  file: string;
  line?: number;
}

export interface Setting {
  value: string;
  /** `file:line` (or `env:NAME`), for messages. */
  where: string;
  /** `${VAR}` references left unexpanded because VAR is not set. */
  unset: string[];
}

/** The credential sent to one registry. `header` is a secret; `source` is safe to print. */
export interface RegistryAuth {
  header: string;
  kind: 'token' | 'basic';
  source: string;
}

interface AuthEntry {
  /** Nerf-darted prefix, `//host[:port]/path/`, default ports removed. */
  prefix: string;
  header: string;
  kind: 'token' | 'basic';
  source: string;
  file: string;
  line?: number;
}

export interface RegistryConfig {
  root: string;
  /** Every npmrc considered, highest precedence first. */
  files: NpmrcFile[];
  usesDockerNpmrc: boolean;
  defaultRegistry: Setting;
  /** `@scope` -> its registry. */
  scopeRegistries: Record<string, Setting>;
  /** `strict-ssl` (default true). */
  strictSsl: boolean;
  /** Extra CA certificates from `cafile=` / `ca=`, PEM text. */
  ca: string[] | undefined;
  warnings: ConfigWarning[];
  /** Every secret value seen (tokens, passwords, auth headers): redact these from all output. */
  secrets: string[];
  /** Internal: credentials by nerf-dart prefix, and the token file's token for the needed registries. */
  readonly auth: AuthEntry[];
}

export interface ReadRegistryConfigOptions {
  /** The repo root (holds pnpm-workspace.yaml and the project npmrc). */
  root: string;
  env: Record<string, string | undefined>;
  /** The user's home folder (for `~/.npmrc`); defaults to env.HOME / env.USERPROFILE. */
  homeDir?: string;
  /** `--token-file`: a file holding the token (e.g. a BuildKit secret at /run/secrets/npm_token). */
  tokenFile?: string;
  /** Scopes of the packages the build needs (`@scope`); used for the hygiene checks and the token file. */
  scopes?: string[];
}

const AUTH_SUFFIXES = [':_authToken', ':_auth', ':_password', ':username'] as const;

/**
 * The scope registries and credentials as pnpm would read them for the build:
 * - `.npmrc.docker` at the repo root when present (it is what the image gets as its .npmrc), else the
 *   project `.npmrc` and the user's npmrc (`npm_config_userconfig` or `~/.npmrc`);
 * - npm_config_* / NPM_CONFIG_* variables above both;
 * - `${VAR}` expanded from `env`;
 * - `--token-file` above everything, for the registries the needed scopes use.
 * Problems with the setup come back as warnings with file and line; nothing here is fatal except an
 * unreadable `--token-file` (the user asked for it explicitly).
 */
export async function readRegistryConfig(opts: ReadRegistryConfigOptions): Promise<RegistryConfig> {
  const { root, env } = opts;
  const home = opts.homeDir ?? env.HOME ?? env.USERPROFILE;
  const dockerPath = path.join(root, DOCKER_NPMRC);
  const dockerText = await readIfExists(dockerPath);
  const files: NpmrcFile[] = [{ source: 'env', path: 'env', label: 'environment (npm_config_*)', present: true }];
  const layers: { file: NpmrcFile; entries: NpmrcEntry[] }[] = [];
  const warnings: ConfigWarning[] = [];

  const addFile = (source: NpmrcSource, abs: string, text: string | null): void => {
    const label = labelFor(root, abs);
    const file: NpmrcFile = { source, path: abs, label, present: text !== null };
    files.push(file);
    if (text === null) return;
    const parsed = parseNpmrc(text, label, env);
    for (const u of parsed.unset) {
      warnings.push({
        code: 'TEMPLATE_VAR_UNSET',
        message: `\${${u.name}} is not set (used in "${u.key}")`,
        hint: `set ${u.name} in the environment of this job${source === 'docker' ? ' and pass it to the build (a build arg for a host, a BuildKit secret for a token)' : ''}`,
        file: label,
        line: u.line,
      });
    }
    layers.push({ file, entries: parsed.entries });
  };

  if (dockerText !== null) {
    addFile('docker', dockerPath, dockerText);
  } else {
    const projectPath = path.join(root, '.npmrc');
    addFile('project', projectPath, await readIfExists(projectPath));
    const userPath = env.npm_config_userconfig ?? env.NPM_CONFIG_USERCONFIG ?? (home ? path.join(home, '.npmrc') : undefined);
    if (userPath !== undefined) {
      const abs = path.resolve(root, userPath);
      // The project .npmrc doubling as the user config (e.g. HOME = repo) must not count twice.
      if (abs !== projectPath) addFile('user', abs, await readIfExists(abs));
    }
  }
  const envLayer = { file: files[0]!, entries: npmrcFromEnv(env) };

  // Highest precedence first: env, then the files in the order read.
  const ordered = [envLayer, ...layers];
  const winner = new Map<string, NpmrcEntry>();
  for (const layer of [...ordered].reverse()) for (const e of layer.entries) winner.set(e.key, e);

  const setting = (e: NpmrcEntry): Setting => ({ value: normalizeRegistry(e.value), where: whereOf(e), unset: e.unset });
  const defaultEntry = winner.get('registry');
  const defaultRegistry: Setting = defaultEntry ? setting(defaultEntry) : { value: DEFAULT_REGISTRY, where: 'npm default', unset: [] };
  const scopeRegistries: Record<string, Setting> = {};
  for (const [key, e] of winner) {
    const m = /^(@[^:/]+):registry$/.exec(key);
    if (m) scopeRegistries[m[1]!] = setting(e);
  }

  const secrets = new Set<string>();
  const auth = collectAuth(winner, secrets, warnings);

  // --token-file: highest precedence, for the registries of the scopes the build needs.
  if (opts.tokenFile !== undefined) {
    const tokenPath = path.resolve(root, opts.tokenFile);
    let token: string;
    try {
      token = (await fsp.readFile(tokenPath, 'utf8')).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      throw new DockerPrepError('TOKEN_FILE_UNREADABLE', `cannot read --token-file ${opts.tokenFile} (${code})`, {
        kind: 'usage',
        hint: 'pass the path of a file holding the token (with BuildKit: --mount=type=secret,id=npm_token, then --token-file /run/secrets/npm_token)',
      });
    }
    if (token === '') {
      warnings.push({ code: 'TOKEN_FILE_EMPTY', message: 'the token file is empty; no token is sent', hint: 'check that the secret was provided to this job', file: opts.tokenFile });
    } else {
      secrets.add(token);
      const registries = new Set((opts.scopes ?? []).map((s) => (scopeRegistries[s] ?? defaultRegistry).value));
      if (registries.size === 0) registries.add(defaultRegistry.value);
      for (const r of registries) {
        const prefix = nerfDart(r);
        if (prefix !== null) auth.unshift({ prefix, header: `Bearer ${token}`, kind: 'token', source: `--token-file ${opts.tokenFile}`, file: opts.tokenFile });
      }
    }
  }
  for (const a of auth) secrets.add(a.header);

  const cfg: RegistryConfig = {
    root,
    files,
    usesDockerNpmrc: dockerText !== null,
    defaultRegistry,
    scopeRegistries,
    strictSsl: winner.get('strict-ssl')?.value !== 'false',
    ca: await readCa(winner, root, warnings),
    warnings,
    secrets: [...secrets].filter((s) => s.length > 0),
    auth,
  };
  hygiene(cfg, layers, opts.scopes ?? []);
  return cfg;
}

/** The registry (as `Setting`) pnpm would fetch `name` from. */
export function registryFor(cfg: RegistryConfig, name: string): Setting {
  const scope = name.startsWith('@') ? name.slice(0, name.indexOf('/')) : null;
  return (scope !== null ? cfg.scopeRegistries[scope] : undefined) ?? cfg.defaultRegistry;
}

/**
 * The credential for a request URL: the longest configured `//host/path/` prefix of it, as npm and
 * pnpm match nerf-darted keys (a token for `//host/api/npm/` applies below that path, not beside it).
 */
export function authForUrl(cfg: Pick<RegistryConfig, 'auth'>, url: string): RegistryAuth | null {
  const target = nerfDart(url);
  if (target === null) return null;
  let best: AuthEntry | null = null;
  for (const a of cfg.auth) {
    if (target.startsWith(a.prefix) && (best === null || a.prefix.length > best.prefix.length)) best = a;
  }
  return best === null ? null : { header: best.header, kind: best.kind, source: best.source };
}

/** `//host[:port]/path/` for a URL, default ports dropped; null when it is not an http(s) URL. */
export function nerfDart(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const dir = u.pathname.endsWith('/') ? u.pathname : u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
  return `//${u.host}${dir}`;
}

/** A registry URL with its credentials (if someone put `user:pass@` in it) removed, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}

function collectAuth(winner: Map<string, NpmrcEntry>, secrets: Set<string>, warnings: ConfigWarning[]): AuthEntry[] {
  const byPrefix = new Map<string, Partial<Record<(typeof AUTH_SUFFIXES)[number], NpmrcEntry>>>();
  for (const [key, e] of winner) {
    if (key === '_authToken' || key === '_auth' || key === '_password') {
      addSecret(secrets, e);
      warnings.push({
        code: 'AUTH_NOT_SCOPED',
        message: `"${key}" without a //host/ prefix is ignored by npm 9+ and not sent by pnpm to a scoped registry`,
        hint: 'write it as //<registry host>/<path>/:_authToken=${TOKEN}',
        file: e.file,
        line: e.line || undefined,
      });
      continue;
    }
    if (!key.startsWith('//')) continue;
    const suffix = AUTH_SUFFIXES.find((s) => key.endsWith(s));
    if (suffix === undefined) continue;
    if (suffix !== ':username') addSecret(secrets, e);
    const prefix = normalizePrefix(key.slice(0, -suffix.length));
    const slot = byPrefix.get(prefix) ?? {};
    slot[suffix] = e;
    byPrefix.set(prefix, slot);
  }
  const out: AuthEntry[] = [];
  for (const [prefix, slot] of byPrefix) {
    // A value still holding `${VAR}` is not a credential; sending it would only earn a confusing 401.
    const usable = (e: NpmrcEntry | undefined): e is NpmrcEntry => e !== undefined && e.value !== '' && e.unset.length === 0;
    const at = (e: NpmrcEntry): Pick<AuthEntry, 'source' | 'file' | 'line'> => ({ source: whereOf(e), file: e.file, line: e.line || undefined });
    if (usable(slot[':_authToken'])) {
      out.push({ prefix, header: `Bearer ${slot[':_authToken'].value}`, kind: 'token', ...at(slot[':_authToken']) });
    } else if (usable(slot[':_auth'])) {
      const decoded = Buffer.from(slot[':_auth'].value, 'base64').toString('utf8');
      const pass = decoded.slice(decoded.indexOf(':') + 1);
      if (pass !== '') secrets.add(pass);
      out.push({ prefix, header: `Basic ${slot[':_auth'].value}`, kind: 'basic', ...at(slot[':_auth']) });
    } else if (usable(slot[':username']) && usable(slot[':_password'])) {
      // npm stores `_password` base64-encoded.
      const pass = Buffer.from(slot[':_password'].value, 'base64').toString('utf8');
      if (pass !== '') secrets.add(pass);
      const basic = Buffer.from(`${slot[':username'].value}:${pass}`).toString('base64');
      secrets.add(basic);
      out.push({ prefix, header: `Basic ${basic}`, kind: 'basic', ...at(slot[':_password']) });
    }
  }
  return out;
}

/**
 * A credential value as a secret to redact. An unset `${VAR}` stays as written and is not a secret
 * (it is the name of one); the parts around it may be.
 */
function addSecret(secrets: Set<string>, e: NpmrcEntry): void {
  if (e.unset.length === 0) {
    if (e.value !== '') secrets.add(e.value);
    return;
  }
  for (const part of e.value.split(/\$\{[^${}]+\}/)) if (part.length >= 3) secrets.add(part);
}

function hygiene(cfg: RegistryConfig, layers: { file: NpmrcFile; entries: NpmrcEntry[] }[], scopes: string[]): void {
  const docker = layers.find((l) => l.file.source === 'docker');
  if (docker) {
    for (const e of docker.entries) {
      if ((e.key === 'registry' || /^@[^:/]+:registry$/.test(e.key) || e.key.startsWith('//')) && e.unset.length === 0) {
        const host = hostOf(e.key.startsWith('//') ? `http:${e.key.slice(0, e.key.lastIndexOf(':'))}` : e.value);
        if (host !== null && isLoopback(host)) {
          cfg.warnings.push({
            code: 'REGISTRY_LOCALHOST',
            message: `${e.key.startsWith('//') ? 'credentials are for' : `"${e.key}" points at`} ${host}: inside a container that is the container itself, not the registry`,
            hint: 'use a name the build can reach, e.g. //${GITEA_NPM_HOST}/ with GITEA_NPM_HOST passed as a build arg (host.docker.internal for a registry on the Docker host)',
            file: e.file,
            line: e.line,
          });
        }
      }
      const isSecret = e.key.startsWith('//') && (e.key.endsWith(':_authToken') || e.key.endsWith(':_auth') || e.key.endsWith(':_password'));
      if (isSecret && !e.expanded && e.value !== '') {
        cfg.warnings.push({
          code: 'TOKEN_IN_FILE',
          message: `a literal credential is written in ${DOCKER_NPMRC}; it ends up in the build context and the image layers`,
          hint: 'write it as ${GITEA_NPM_TOKEN} and hand the token in as a BuildKit secret',
          file: e.file,
          line: e.line,
        });
      }
    }
  }
  const projectFile = cfg.files.find((f) => f.source === 'docker') ?? cfg.files.find((f) => f.source === 'project');
  for (const scope of [...new Set(scopes)].sort()) {
    if (cfg.scopeRegistries[scope] !== undefined) continue;
    cfg.warnings.push({
      code: 'SCOPE_NO_REGISTRY',
      message: `${scope} has no "${scope}:registry=" line${cfg.usesDockerNpmrc ? '' : ' in any npmrc'}; pnpm fetches ${scope}/* from ${redactUrl(cfg.defaultRegistry.value)}`,
      hint: `add "${scope}:registry=https://\${GITEA_NPM_HOST}/api/packages/<owner>/npm/" to ${projectFile?.label ?? '.npmrc'}`,
      file: projectFile?.label ?? '.npmrc',
    });
  }
  // Credentials exist, but none matches a registry the build uses: the classic path/port mismatch.
  if (cfg.auth.length > 0) {
    const used = new Set(scopes.map((s) => (cfg.scopeRegistries[s] ?? cfg.defaultRegistry).value));
    for (const reg of [...used].sort()) {
      if (authForUrl(cfg, reg) !== null) continue;
      const near = cfg.auth.find((a) => hostOf(`http:${a.prefix}`) === hostOf(reg));
      if (near === undefined) continue;
      cfg.warnings.push({
        code: 'AUTH_NOT_MATCHING',
        message: `the credentials at ${near.source} are for ${near.prefix}, which does not cover the registry ${redactUrl(reg)}; no token is sent`,
        hint: `make the key start with ${nerfDart(reg) ?? reg} (same host, port and path as the registry line)`,
        file: near.file,
        line: near.line,
      });
    }
  }
}

async function readCa(winner: Map<string, NpmrcEntry>, root: string, warnings: ConfigWarning[]): Promise<string[] | undefined> {
  const caFile = winner.get('cafile');
  if (caFile !== undefined && caFile.value !== '') {
    const text = await readIfExists(path.resolve(root, caFile.value));
    if (text !== null) return [text];
    warnings.push({ code: 'CAFILE_MISSING', message: `cafile ${caFile.value} does not exist`, hint: 'fix the cafile= line or remove it', file: caFile.file, line: caFile.line || undefined });
  }
  const ca = winner.get('ca');
  if (ca !== undefined && ca.value.includes('BEGIN CERTIFICATE')) return [ca.value.replace(/\\n/g, '\n')];
  return undefined;
}

function normalizeRegistry(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function normalizePrefix(prefix: string): string {
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return withSlash.replace(/^(\/\/[^/]+):(?:443|80)\//, '$1/');
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null;
  }
}

function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '::1' || h === '0.0.0.0';
}

function whereOf(e: NpmrcEntry): string {
  return e.line > 0 ? `${e.file}:${e.line}` : e.file;
}

function labelFor(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new DockerPrepError('NPMRC_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, { kind: 'config', hint: 'check the file permissions' });
  }
}
