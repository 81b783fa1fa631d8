import http from 'node:http';
import https from 'node:https';
import semver from 'semver';
import type { NeededPackage } from './needed-packages.js';
import { authForUrl, redactUrl, registryFor, type RegistryConfig } from './read-registry-config.js';

export const DEFAULT_PROBE_TIMEOUT_MS = 3000;

export type ProbeOutcome = 'complete' | 'missing' | 'auth' | 'unreachable';
/** Why a registry could not be asked: each maps to a different fix. */
export type UnreachableKind = 'dns' | 'refused' | 'reset' | 'tls' | 'timeout' | 'network' | 'http' | 'config';

export interface PackageProbe {
  name: string;
  /** The registry asked (credentials in the URL removed). */
  registry: string;
  ranges: string[];
  status: 'ok' | 'missing' | 'auth' | 'unreachable';
  /** `name@range` for every requested range no published version satisfies. */
  missing: string[];
  /** The versions the registry has (newest last, at most 5), to say what is there instead. */
  available?: string[];
  httpStatus?: number;
  unreachable?: UnreachableKind;
  /** A short human explanation (error code, server message); never holds credentials. */
  detail?: string;
  /** Where the credential sent came from (`.npmrc:3`, `--token-file ...`), or null when none was sent. */
  auth: string | null;
  ms: number;
}

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** One line saying what was found, e.g. why `ci` falls back. */
  reason: string;
  hint?: string;
  packages: PackageProbe[];
  timeoutMs: number;
  elapsedMs: number;
}

export interface ProbeOptions {
  /** Budget for the whole probe, in ms: every request shares one deadline. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Parallel requests; packuments are small and registries are near, so a few suffice. */
  concurrency?: number;
  /** Receives one line per request (no headers, no credentials). */
  debug?: (line: string) => void;
}

const UNREACHABLE_TEXT: Record<UnreachableKind, string> = {
  dns: 'the host name does not resolve (DNS)',
  refused: 'connection refused',
  reset: 'the connection was reset',
  tls: 'TLS handshake failed',
  timeout: 'no answer within the timeout',
  network: 'the network cannot reach the host',
  http: 'unexpected HTTP status',
  config: 'the registry URL is not usable',
};

/**
 * Asks the registry for the packument of every needed package and classifies the answer:
 * complete (every range has a version), missing (named `name@range`), auth (401/403) or unreachable
 * (DNS, refused, reset, TLS, timeout, HTTP status). One deadline covers the whole probe, so a
 * registry that accepts connections and never answers costs `timeoutMs`, not `timeoutMs` per package.
 */
export async function probeRegistry(needed: NeededPackage[], cfg: RegistryConfig, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const started = Date.now();
  const deadline = started + timeoutMs;
  const agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true, ca: cfg.ca, rejectUnauthorized: cfg.strictSsl }),
  };
  const results: PackageProbe[] = new Array<PackageProbe>(needed.length);
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < needed.length) {
        const i = next++;
        results[i] = await probeOne(needed[i]!, cfg, { deadline, timeoutMs, agents, signal: opts.signal, debug: opts.debug });
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 6, Math.max(needed.length, 1)) }, worker));
  } finally {
    agents.http.destroy();
    agents.https.destroy();
  }
  if (opts.signal?.aborted) throw opts.signal.reason;
  return summarize(results, timeoutMs, Date.now() - started);
}

interface RequestContext {
  deadline: number;
  timeoutMs: number;
  agents: { http: http.Agent; https: https.Agent };
  signal: AbortSignal | undefined;
  debug: ((line: string) => void) | undefined;
}

async function probeOne(pkg: NeededPackage, cfg: RegistryConfig, rc: RequestContext): Promise<PackageProbe> {
  const started = Date.now();
  const reg = registryFor(cfg, pkg.name);
  const base: Omit<PackageProbe, 'status' | 'ms'> = { name: pkg.name, registry: redactUrl(reg.value), ranges: pkg.ranges, missing: [], auth: null };
  const done = (p: Partial<PackageProbe> & Pick<PackageProbe, 'status'>): PackageProbe => ({ ...base, ...p, ms: Date.now() - started });

  if (reg.unset.length > 0) {
    return done({ status: 'unreachable', unreachable: 'config', detail: `the registry of ${pkg.name} (${reg.where}) uses \${${reg.unset[0]}}, which is not set` });
  }
  let url: string;
  try {
    url = new URL(escapeName(pkg.name), reg.value).toString();
  } catch {
    return done({ status: 'unreachable', unreachable: 'config', detail: `the registry of ${pkg.name} (${reg.where}) is not a URL: ${redactUrl(reg.value)}` });
  }
  if (!/^https?:$/.test(new URL(url).protocol)) {
    return done({ status: 'unreachable', unreachable: 'config', detail: `the registry of ${pkg.name} (${reg.where}) is not an http(s) URL` });
  }
  const auth = authForUrl(cfg, url);
  base.auth = auth?.source ?? null;
  rc.debug?.(`GET ${redactUrl(url)} (credential: ${auth ? `${auth.kind} from ${auth.source}` : 'none'})`);

  let res: HttpResponse;
  try {
    res = await getFollowing(url, auth?.header ?? null, rc);
  } catch (err) {
    const kind = classifyError(err);
    const code = (err as NodeJS.ErrnoException).code;
    rc.debug?.(`  ${kind}${code ? ` (${code})` : ''} after ${Date.now() - started} ms`);
    return done({ status: 'unreachable', unreachable: kind, detail: kind === 'timeout' ? `no answer within ${rc.timeoutMs} ms` : `${UNREACHABLE_TEXT[kind]}${code ? ` (${code})` : ''}` });
  }
  rc.debug?.(`  HTTP ${res.status} in ${Date.now() - started} ms`);

  if (res.status === 401 || res.status === 403) {
    return done({ status: 'auth', httpStatus: res.status, detail: serverMessage(res.body) });
  }
  if (res.status === 404) {
    const missing = pkg.ranges.map((r) => `${pkg.name}@${r}`);
    return done({ status: 'missing', httpStatus: 404, missing, available: [], detail: auth ? 'the registry does not have this package' : 'the registry does not have this package (no credential was sent; a private registry may hide it)' });
  }
  if (res.status < 200 || res.status >= 300) {
    return done({ status: 'unreachable', unreachable: 'http', httpStatus: res.status, detail: `HTTP ${res.status}${serverMessage(res.body) ? `: ${serverMessage(res.body)}` : ''}` });
  }
  let doc: { versions?: Record<string, unknown>; 'dist-tags'?: Record<string, string> };
  try {
    doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
  } catch {
    return done({ status: 'unreachable', unreachable: 'http', httpStatus: res.status, detail: 'the registry answered with something that is not package metadata (JSON)' });
  }
  const versions = Object.keys(doc.versions ?? {}).filter((v) => semver.valid(v) !== null);
  const sorted = versions.sort(semver.compare);
  const missing: string[] = [];
  for (const range of pkg.ranges) {
    const tagged = doc['dist-tags']?.[range];
    const ok = tagged !== undefined ? versions.includes(tagged) : semver.maxSatisfying(versions, range, { loose: true }) !== null;
    if (!ok) missing.push(`${pkg.name}@${range}`);
  }
  const available = sorted.slice(-5);
  return missing.length > 0 ? done({ status: 'missing', httpStatus: res.status, missing, available }) : done({ status: 'ok', httpStatus: res.status, available });
}

function summarize(packages: PackageProbe[], timeoutMs: number, elapsedMs: number): ProbeResult {
  const base = { packages, timeoutMs, elapsedMs };
  const unreachable = packages.filter((p) => p.status === 'unreachable');
  if (unreachable.length > 0) {
    const byRegistry = groupBy(unreachable, (p) => `${p.registry}\u0000${p.detail ?? ''}`);
    const parts = [...byRegistry.values()].map((ps) => `${ps[0]!.registry} is unreachable: ${ps[0]!.detail ?? UNREACHABLE_TEXT[ps[0]!.unreachable ?? 'network']}`);
    return { outcome: 'unreachable', reason: parts.join('; '), hint: unreachableHint(unreachable[0]!.unreachable ?? 'network'), ...base };
  }
  const denied = packages.filter((p) => p.status === 'auth');
  if (denied.length > 0) {
    const p = denied[0]!;
    const names = denied.map((d) => d.name).join(', ');
    const sent = p.auth ? `the credential from ${p.auth} was refused` : 'no credential was sent';
    return {
      outcome: 'auth',
      reason: `${p.registry} refused access (HTTP ${p.httpStatus}) to ${names}: ${sent}${p.detail ? ` (${p.detail})` : ''}`,
      hint: p.auth
        ? 'the token is wrong, expired or lacks read access to the package scope: renew it in the registry and update the CI secret'
        : 'configure a token: //<host>/<path>/:_authToken=${GITEA_NPM_TOKEN} in .npmrc.docker, or --token-file',
      ...base,
    };
  }
  const missing = packages.filter((p) => p.status === 'missing');
  if (missing.length > 0) {
    const parts = missing.map((p) => `${p.missing.join(', ')} (${p.httpStatus === 404 ? 'not on the registry' : p.available && p.available.length > 0 ? `it has ${p.available.join(', ')}` : 'no version published'})`);
    return {
      outcome: 'missing',
      reason: `${missing[0]!.registry} lacks ${parts.join('; ')}`,
      hint: 'publish the missing versions to the registry, or build from tarballs (`docker-prep ci` does so automatically)',
      ...base,
    };
  }
  const reason = packages.length === 0 ? 'the targets need no package from outside the repo' : `the registry serves all ${packages.length} outside packages the targets need`;
  return { outcome: 'complete', reason, ...base };
}

function unreachableHint(kind: UnreachableKind): string {
  switch (kind) {
    case 'dns':
      return 'check the registry host name (and that ${GITEA_NPM_HOST} or similar is set in this job)';
    case 'refused':
    case 'reset':
    case 'network':
      return 'the registry is down or not reachable from here; the tarball path does not need it';
    case 'tls':
      return 'the certificate is not trusted: set cafile= in the npmrc, or fix the registry certificate';
    case 'timeout':
      return 'the registry did not answer in time; raise --timeout if it is only slow';
    case 'http':
      return 'the registry is up but failing; check its logs';
    case 'config':
      return 'fix the registry line in the npmrc (see the warnings above)';
  }
}

interface HttpResponse {
  status: number;
  body: Buffer;
}

/** GET with up to 3 redirects; the credential is only sent to the origin it was configured for. */
async function getFollowing(url: string, authHeader: string | null, rc: RequestContext): Promise<HttpResponse> {
  let current = url;
  let header = authHeader;
  for (let hop = 0; ; hop++) {
    const res = await getOnce(current, header, rc);
    if (res.status < 300 || res.status >= 400 || res.location === undefined || hop >= 3) return res;
    const next = new URL(res.location, current);
    if (next.origin !== new URL(current).origin) header = null;
    current = next.toString();
  }
}

const MAX_BODY = 64 * 1024 * 1024;

function getOnce(url: string, authHeader: string | null, rc: RequestContext): Promise<HttpResponse & { location?: string }> {
  return new Promise((resolve, reject) => {
    const remaining = rc.deadline - Date.now();
    if (remaining <= 0) return reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT_PROBE' }));
    if (rc.signal?.aborted) return reject(rc.signal.reason);
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = {
      // The abbreviated packument: versions without readmes, a fraction of the bytes.
      accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*',
      'user-agent': 'docker-prep (registry probe)',
    };
    if (authHeader !== null) headers.authorization = authHeader;
    const req = mod.request(u, { method: 'GET', headers, agent: u.protocol === 'https:' ? rc.agents.https : rc.agents.http });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT_PROBE' })), remaining);
    const onAbort = (): void => {
      req.destroy(rc.signal?.reason instanceof Error ? rc.signal.reason : new Error('aborted'));
    };
    rc.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      clearTimeout(timer);
      rc.signal?.removeEventListener('abort', onAbort);
    };
    req.on('error', (err) => {
      finish();
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(Object.assign(new Error('packument too large'), { code: 'EBODYTOOLARGE' }));
        else chunks.push(c);
      });
      res.on('error', (err) => {
        finish();
        reject(err);
      });
      res.on('end', () => {
        finish();
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), location: typeof location === 'string' ? location : undefined });
      });
    });
    req.end();
  });
}

function classifyError(err: unknown): UnreachableKind {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = err instanceof Error ? err.message : '';
  if (code === 'ETIMEDOUT_PROBE' || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ENOTFOUND' || code.startsWith('EAI_')) return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE') return 'reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN' || code === 'ENETDOWN' || code === 'EADDRNOTAVAIL') return 'network';
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('CERT_') || code === 'EPROTO' || /CERT|SELF_SIGNED|UNABLE_TO|DEPTH_ZERO|SSL|TLS/.test(code + ' ' + message)) return 'tls';
  if (code === 'EBODYTOOLARGE' || code === 'HPE_INVALID_CONSTANT' || code.startsWith('HPE_')) return 'http';
  return 'network';
}

/** npm's escaped name: `@scope/name` -> `@scope%2fname`. */
function escapeName(name: string): string {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

/** The `error`/`reason` a registry puts in its JSON body, short; servers never echo tokens there, but callers redact anyway. */
function serverMessage(body: Buffer): string | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { error?: unknown; reason?: unknown; message?: unknown };
    const msg = [doc.error, doc.reason, doc.message].find((x) => typeof x === 'string');
    return typeof msg === 'string' ? msg.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) m.set(key(it), [...(m.get(key(it)) ?? []), it]);
  return m;
}
