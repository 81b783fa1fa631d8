import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, FIXTURES, PROJECT_ROOT } from '../helpers/paths.js';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for message assertions. */
  output: string;
}

export interface GuardRepo {
  /** Temp folder holding `app/` and `common_plat/` (and whatever a test adds). */
  base: string;
  /** The app repo (git top level and repo root unless a test says otherwise). */
  app: string;
  env: NodeJS.ProcessEnv;
  git(args: string[], opts?: { cwd?: string; input?: string }): Run;
  /** `git commit -m <msg>` in `cwd` (default the app), hooks included. */
  commit(msg: string, opts?: { cwd?: string }): Run;
  /** The real CLI (node bin/docker-prep.js). */
  cli(args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }): Run;
  /** Makes `<dir>/node_modules/.bin/docker-prep` run this checkout's CLI, as a devDependency install would. */
  linkBin(dir?: string): void;
  /** Sets up real husky v9 (`husky` from this project's devDependencies) in `cwd`, as its `prepare` script does. */
  husky(cwd?: string): Run;
  read(rel: string, cwd?: string): string;
  write(rel: string, text: string, cwd?: string): void;
  cleanup(): void;
}

function result(r: SpawnSyncReturns<string>): Run {
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  return { status: r.status, stdout, stderr, output: stdout + stderr };
}

/**
 * A copy of fixtures/ecosystem in a temp folder whose name may carry spaces and non-ASCII, with the
 * app made a git repo under an isolated git configuration (no user or system config, no HUSKY=0).
 */
export function makeGuardRepo(opts: { dirName?: string; commit?: boolean; init?: boolean } = {}): GuardRepo {
  const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-guard-')));
  const base = path.join(tmp, opts.dirName ?? 'eco');
  mkdirSync(base, { recursive: true });
  cpSync(path.join(FIXTURES, 'ecosystem'), base, { recursive: true });
  const app = path.join(base, 'app');

  const gitconfig = path.join(tmp, 'gitconfig');
  writeFileSync(gitconfig, '[user]\n\tname = guard test\n\temail = guard@example.invalid\n[init]\n\tdefaultBranch = main\n[core]\n\tautocrlf = false\n[advice]\n\tdetachedHead = false\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
    XDG_CACHE_HOME: path.join(tmp, 'cache'),
    XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'),
    npm_config_cache: path.join(tmp, 'npm-cache'),
    npm_config_update_notifier: 'false',
  };
  for (const key of ['HUSKY', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR', 'GIT_PREFIX']) delete env[key];

  const git = (args: string[], o: { cwd?: string; input?: string } = {}): Run =>
    result(spawnSync('git', args, { cwd: o.cwd ?? app, env, encoding: 'utf8', input: o.input }));
  const repo: GuardRepo = {
    base,
    app,
    env,
    git,
    commit: (msg, o = {}) => git(['commit', '-m', msg], o),
    cli: (args, o = {}) => result(spawnSync(process.execPath, [BIN, ...args], { cwd: o.cwd ?? app, env: { ...env, ...o.env }, encoding: 'utf8', timeout: 120_000 })),
    linkBin(dir = app) {
      const bin = path.join(dir, 'node_modules', '.bin');
      mkdirSync(bin, { recursive: true });
      const file = path.join(bin, 'docker-prep');
      writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
      chmodSync(file, 0o755);
    },
    husky: (cwd = app) => result(spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'husky', 'bin.js')], { cwd, env, encoding: 'utf8' })),
    read: (rel, cwd = app) => readFileSync(path.join(cwd, rel), 'utf8'),
    write(rel, text, cwd = app) {
      mkdirSync(path.dirname(path.join(cwd, rel)), { recursive: true });
      writeFileSync(path.join(cwd, rel), text);
    },
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
  if (opts.init === false) return repo;
  git(['init', '-q']);
  if (opts.commit !== false) {
    git(['add', '-A']);
    git(['commit', '-qm', 'initial']);
  }
  return repo;
}

/**
 * The rewritten state as `docker-prep pack` leaves it, written by hand for variants the tests need
 * beyond the real pack (custom layouts, lockfiles): `file:` specifiers relative to the target, overrides
 * in package.json (pnpm 9/10) or a created pnpm-workspace.yaml (pnpm 11), tarballs in the output folder.
 */
export function writePackedState(
  root: string,
  opts: { target: string; out?: string; pnpm?: 10 | 11; deps?: Record<string, string>; lockfile?: boolean },
): { tarballs: string[] } {
  const out = opts.out ?? '.docker-deps';
  const deps = opts.deps ?? { '@scope/auth': 'scope-auth-0.3.0.tgz' };
  const targetDir = path.join(root, opts.target);
  const spec = (file: string): string => `file:${path.relative(targetDir, path.join(root, out, file)).split(path.sep).join('/')}`;
  mkdirSync(path.join(root, out), { recursive: true });
  for (const file of Object.values(deps)) writeFileSync(path.join(root, out, file), 'not really a tarball\n');

  const manifestPath = path.join(targetDir, 'package.json');
  let text = readFileSync(manifestPath, 'utf8');
  for (const [name, file] of Object.entries(deps)) {
    text = text.replace(new RegExp(`("${name.replace(/[/@]/g, '\\$&')}"\\s*:\\s*)"[^"]*"`), `$1"${spec(file)}"`);
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const overrides = Object.entries(deps).map(([name, file]) => [name, spec(file)] as const);
  if ((opts.pnpm ?? 10) === 10) {
    const block = `,${eol}  "pnpm": {${eol}    "overrides": {${eol}${overrides.map(([n, s]) => `      "${n}": "${s}"`).join(`,${eol}`)}${eol}    }${eol}  }${eol}}`;
    text = text.replace(/\r?\n\}\s*$/, block + eol);
  } else {
    writeFileSync(path.join(targetDir, 'pnpm-workspace.yaml'), `overrides:\n${overrides.map(([n, s]) => `  '${n}': ${s}`).join('\n')}\n`);
  }
  writeFileSync(manifestPath, text);
  if (opts.lockfile) {
    const lines = ["lockfileVersion: '9.0'", '', 'importers:', '', '  .:', '    dependencies:'];
    for (const [name, file] of Object.entries(deps)) lines.push(`      '${name}':`, `        specifier: ${spec(file)}`, `        version: ${spec(file)}`);
    lines.push('', 'packages:', '');
    for (const [name, file] of Object.entries(deps)) lines.push(`  '${name}@${spec(file)}':`, `    resolution: {integrity: sha512-AAAA, tarball: ${spec(file)}}`, '');
    writeFileSync(path.join(targetDir, 'pnpm-lock.yaml'), lines.join('\n'));
  }
  return { tarballs: Object.values(deps).map((f) => path.posix.join(out, f)) };
}
