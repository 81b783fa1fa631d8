import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from './paths.js';

/**
 * A real verdaccio on 127.0.0.1, private to one test file: htpasswd auth required for every package,
 * no uplinks (nothing is ever fetched from outside), storage in a temp dir.
 */
export interface VerdaccioServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  user: string;
  /** A valid token of `user` (verdaccio's own, as `npm login` would get it). */
  token: string;
  dir: string;
  readonly running: boolean;
  /** Stops the server and waits for the process to be gone; idempotent. */
  stop(): Promise<void>;
  /** Stops and deletes the storage. */
  dispose(): Promise<void>;
}

const VERDACCIO_BIN = path.join(PROJECT_ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio');

/** A TCP port nothing listens on right now (closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startVerdaccio(): Promise<VerdaccioServer> {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-verdaccio-')));
  const config = [
    'storage: ./storage',
    'auth:',
    '  htpasswd:',
    '    file: ./htpasswd',
    '    max_users: 10',
    // bcrypt with the default cost makes every request slow; tests need auth, not password hardening.
    '    algorithm: sha1',
    'uplinks: {}',
    'packages:',
    "  '@*/*':",
    '    access: $authenticated',
    '    publish: $authenticated',
    "  '**':",
    '    access: $authenticated',
    '    publish: $authenticated',
    'web:',
    '  enable: false',
    'log: { type: stdout, format: json, level: warn }',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'config.yaml'), config);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const child = spawn(process.execPath, [VERDACCIO_BIN, '--config', path.join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitForPing(url, child, () => output);
      const user = `tester${attempt}`;
      const token = await addUser(url, user, 'correct-horse-battery');
      let running = true;
      const stop = async (): Promise<void> => {
        if (!running) return;
        running = false;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      };
      return {
        url,
        port,
        user,
        token,
        dir,
        get running() {
          return running;
        },
        stop,
        dispose: async () => {
          await stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

async function waitForPing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}):\n${output()}`);
    try {
      const res = await fetch(new URL('-/ping', url), { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`verdaccio did not answer /-/ping within 30 s:\n${output()}`);
}

/** Creates a user the way `npm adduser` does and returns the token verdaccio hands out. */
async function addUser(url: string, name: string, password: string): Promise<string> {
  const res = await fetch(new URL(`-/user/org.couchdb.user:${encodeURIComponent(name)}`, url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password, type: 'user', roles: [], date: new Date().toISOString() }),
  });
  const body = (await res.json()) as { token?: string; error?: string };
  if (!res.ok || typeof body.token !== 'string') throw new Error(`verdaccio adduser failed: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

export interface PublishOptions {
  /** Folder names under `<plat>/packages/` to publish (default: every package with a version). */
  packages?: string[];
  /** Publish a package under another version than its manifest says (`{ db: '2.0.0' }`). */
  versions?: Record<string, string>;
}

/**
 * Publishes sibling packages to the registry with real `npm publish`. The manifest is first made
 * publishable the way `pnpm pack` does it (workspace:/catalog: resolved, publishConfig applied), in a
 * temp copy: the fixture is not installed, so `pnpm publish` itself cannot resolve `workspace:`.
 */
export async function publishPackages(v: VerdaccioServer, plat: string, opts: PublishOptions = {}): Promise<string[]> {
  const pkgsDir = path.join(plat, 'packages');
  const names = opts.packages ?? ['auth', 'config', 'db', 'logger'];
  const manifests = new Map<string, Record<string, unknown>>();
  for (const n of readdirNames(pkgsDir)) manifests.set(n, readJson(path.join(pkgsDir, n, 'package.json')));
  const versionOf = new Map<string, string>();
  for (const [folder, m] of manifests) versionOf.set(String(m.name), opts.versions?.[folder] ?? String(m.version));
  const ws = parseYaml(readFileSync(path.join(plat, 'pnpm-workspace.yaml'), 'utf8')) as { catalog?: Record<string, string>; catalogs?: Record<string, Record<string, string>> };
  const catalogs: Record<string, Record<string, string>> = { default: ws.catalog ?? {}, ...(ws.catalogs ?? {}) };

  const staging = mkdtempSync(path.join(os.tmpdir(), 'dp-publish-'));
  const npmrc = path.join(staging, 'npmrc');
  writeFileSync(npmrc, `//127.0.0.1:${v.port}/:_authToken=${v.token}\n`);
  try {
    const published: string[] = [];
    await Promise.all(
      names.map(async (folder) => {
        const src = path.join(pkgsDir, folder);
        const dest = path.join(staging, folder);
        mkdirSync(dest, { recursive: true });
        cpSync(src, dest, { recursive: true });
        const m = { ...manifests.get(folder)! };
        m.version = opts.versions?.[folder] ?? m.version;
        const pc = (m.publishConfig ?? {}) as Record<string, unknown>;
        for (const k of ['main', 'module', 'types', 'typings', 'exports', 'bin']) if (pc[k] !== undefined) m[k] = pc[k];
        for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
          const deps = m[field] as Record<string, string> | undefined;
          if (!deps) continue;
          m[field] = Object.fromEntries(Object.entries(deps).map(([k, spec]) => [k, publishedSpec(k, spec, versionOf, catalogs)]));
        }
        delete m.pnpm;
        delete m.packageManager;
        writeFileSync(path.join(dest, 'package.json'), JSON.stringify(m, null, 2) + '\n');
        await runNpm(['publish', dest, '--registry', v.url, '--ignore-scripts', '--tag', `t${String(m.version).replace(/\./g, '-')}`, '--userconfig', npmrc], staging);
        published.push(`${String(m.name)}@${String(m.version)}`);
      }),
    );
    return published.sort();
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function publishedSpec(dep: string, spec: string, versionOf: Map<string, string>, catalogs: Record<string, Record<string, string>>): string {
  if (spec.startsWith('catalog:')) return catalogs[spec.slice(8) || 'default']?.[dep] ?? spec;
  if (!spec.startsWith('workspace:')) return spec;
  const body = spec.slice('workspace:'.length);
  const at = body.lastIndexOf('@');
  const name = at > 0 ? body.slice(0, at) : dep;
  const range = at > 0 ? body.slice(at + 1) : body;
  const version = versionOf.get(name) ?? '0.0.0';
  const r = range === '*' ? version : range === '^' || range === '~' ? `${range}${version}` : range;
  return at > 0 ? `npm:${name}@${r}` : r;
}

function runNpm(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
}

function readdirNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}
