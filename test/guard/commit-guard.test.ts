import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { makeGuardRepo, writePackedState, type GuardRepo } from './guard-repo.js';

// Every test here commits for real, through real husky v9 or a plain git hook, in a temp repo.

let repo: GuardRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

/** Real husky set up, docker-prep "installed" as a devDependency, the guard added by `hooks install`. */
function huskyRepo(opts: { commit?: boolean; dirName?: string } = {}): GuardRepo {
  const r = makeGuardRepo(opts);
  r.linkBin();
  expect(r.husky().status).toBe(0);
  expect(r.git(['config', 'core.hooksPath']).stdout.trim()).toBe('.husky/_');
  const install = r.cli(['hooks', 'install', '--add-gitignore']);
  expect(install.status, install.output).toBe(0);
  expect(r.read('.husky/pre-commit')).toContain('check --staged');
  return r;
}

function pack(r: GuardRepo, args: string[] = [], cwd = r.app): void {
  const res = r.cli(['pack', ...args], { cwd });
  expect(res.status, res.output).toBe(0);
}

function headFile(r: GuardRepo, file: string, cwd = r.app): string {
  return r.git(['show', `HEAD:${file}`], { cwd }).stdout;
}

describe('commit through husky with the real pack', () => {
  it('blocks a commit of the rewritten manifests, allows it after `docker-prep restore`', () => {
    repo = huskyRepo();
    const r = repo;
    r.git(['add', '-A']);
    expect(r.commit('hooks').status).toBe(0); // .husky/pre-commit and .gitignore, clean
    const before = r.git(['rev-parse', 'HEAD']).stdout;

    pack(r);
    expect(r.read('backend/package.json')).toContain('file:../.docker-deps/');
    r.write('notes.txt', 'unrelated\n');
    r.git(['add', '-A']);
    const blocked = r.commit('oops');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('COMMIT_BLOCKED');
    expect(blocked.output).toMatch(/backend\/package\.json: dependencies\["@scope\/auth"\] = file:\.\.\/\.docker-deps\/scope-auth-[\d.]+\.tgz/);
    expect(blocked.output).toMatch(/web\/package\.json: pnpm\.overrides\["@scope\/db"\] = file:\.\.\/\.docker-deps\//);
    expect(blocked.output).toContain('docker-prep restore');
    expect(blocked.output).toContain('git restore --staged -- backend/package.json web/package.json');
    expect(r.git(['rev-parse', 'HEAD']).stdout).toBe(before);

    const restored = r.cli(['restore']);
    expect(restored.status, restored.output).toBe(0);
    r.git(['add', '-A']);
    const ok = r.commit('after restore');
    expect(ok.status, ok.output).toBe(0);
    expect(headFile(r, 'backend/package.json')).toContain('"@scope/auth": "workspace:*"');
    expect(headFile(r, 'notes.txt')).toBe('unrelated\n');
  });

  it('allows a commit of unrelated files while a pack is active, and leaves the pack active', () => {
    repo = huskyRepo();
    const r = repo;
    pack(r);
    r.write('backend/src/feature.js', 'export const feature = 1;\n');
    r.git(['add', 'backend/src/feature.js']);
    const ok = r.commit('feature');
    expect(ok.status, ok.output).toBe(0);
    expect(ok.output).not.toContain('COMMIT_BLOCKED');
    expect(headFile(r, 'backend/package.json')).toContain('workspace:*');
    expect(r.read('backend/package.json')).toContain('file:../.docker-deps/');
    expect(existsSync(path.join(r.app, '.docker-prep', 'journal.json'))).toBe(true);
  });

  it('blocks the pnpm-workspace.yaml a pnpm 11 pack created, even when staged alone', () => {
    repo = makeGuardRepo({ commit: false });
    const r = repo;
    r.write('package.json', r.read('package.json').replace(/pnpm@[\d.]+/, 'pnpm@11.0.0'));
    r.git(['add', '-A']);
    r.commit('initial');
    r.linkBin();
    r.husky();
    expect(r.cli(['hooks', 'install']).status).toBe(0);
    pack(r);
    expect(existsSync(path.join(r.app, 'backend', 'pnpm-workspace.yaml'))).toBe(true);
    r.git(['add', 'backend/pnpm-workspace.yaml']);
    const blocked = r.commit('yaml');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('backend/pnpm-workspace.yaml: created by the active docker-prep pack');
  });

  it('judges a partially staged manifest by what is staged (git add -p)', () => {
    repo = makeGuardRepo({ commit: false });
    const r = repo;
    // Many lines between "version" and the dependencies, so that the user's edit and the pack's
    // rewrite land in separate hunks.
    const scripts = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`task${i}`, `node task${i}.js`]));
    const manifest = { name: '@app/backend', version: '0.1.0', private: true, type: 'module', scripts, dependencies: { '@scope/auth': 'workspace:*', ms: 'catalog:' } };
    r.write('backend/package.json', JSON.stringify(manifest, null, 2) + '\n');
    r.git(['add', '-A']);
    r.commit('initial');
    r.linkBin();
    r.husky();
    expect(r.cli(['hooks', 'install']).status).toBe(0);
    r.git(['add', '-A']);
    r.commit('hooks');

    r.write('backend/package.json', r.read('backend/package.json').replace('"version": "0.1.0"', '"version": "0.2.0"'));
    pack(r);
    const diff = r.git(['diff', 'backend/package.json']).stdout;
    expect(diff.match(/^@@/gm)?.length, diff).toBe(2);

    // Stage only the first hunk (the user's own version bump): the commit passes.
    r.git(['add', '-p', 'backend/package.json'], { input: 'y\nn\n' });
    expect(r.git(['diff', '--cached']).stdout).toContain('+  "version": "0.2.0"');
    expect(r.git(['diff', '--cached']).stdout).not.toContain('.docker-deps');
    const ok = r.commit('bump');
    expect(ok.status, ok.output).toBe(0);
    expect(headFile(r, 'backend/package.json')).toContain('"version": "0.2.0"');
    expect(headFile(r, 'backend/package.json')).not.toContain('.docker-deps');

    // Now only the rewritten hunk remains; staging it blocks.
    r.git(['add', '-p', 'backend/package.json'], { input: 'y\n' });
    expect(r.git(['diff', '--cached']).stdout).toContain('.docker-deps');
    const blocked = r.commit('rewritten');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('backend/package.json: dependencies["@scope/auth"] = file:../.docker-deps/');
  });

  it('judges one hunk applied to the index with git apply --cached', () => {
    repo = huskyRepo();
    const r = repo;
    r.git(['add', '-A']);
    r.commit('hooks');
    // web/package.json uses tabs; rewrite a dependency (hunk 1) and, far below, add a field (hunk 2).
    const original = r.read('web/package.json');
    const padded = original.replace(/\n\}\s*$/, ',\n' + Array.from({ length: 10 }, (_, i) => `\t"x${i}": ${i}`).join(',\n') + '\n}\n');
    r.write('web/package.json', padded);
    r.git(['add', '-A']);
    r.commit('pad');
    // pnpm 11 layout: the overrides go to web/pnpm-workspace.yaml, so the manifest's second hunk stays clean.
    writePackedState(r.app, { target: 'web', pnpm: 11, deps: { '@scope/logger': 'scope-logger-1.2.0.tgz' } });
    r.write('web/package.json', r.read('web/package.json').replace('"x9": 9', '"x9": 10'));
    const diff = r.git(['diff', 'web/package.json']).stdout;
    const [header, ...hunks] = diff.split(/^(?=@@)/m);
    expect(hunks.length).toBeGreaterThanOrEqual(2);
    const clean = hunks.find((h) => !h.includes('.docker-deps'))!;
    const dirty = hunks.find((h) => h.includes('.docker-deps'))!;

    r.git(['apply', '--cached', '-'], { input: header + clean });
    const ok = r.commit('clean hunk');
    expect(ok.status, ok.output).toBe(0);

    r.git(['apply', '--cached', '--recount', '-'], { input: r.git(['diff', 'web/package.json']).stdout.split(/^(?=@@)/m)[0]! + dirty });
    expect(r.git(['diff', '--cached']).stdout).toContain('.docker-deps');
    const blocked = r.commit('dirty hunk');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('web/package.json: dependencies["@scope/logger"] = file:../.docker-deps/scope-logger-1.2.0.tgz');
  });

  it('guards the first commit of a repo with no commits yet', () => {
    repo = makeGuardRepo({ commit: false });
    const r = repo;
    r.linkBin();
    expect(r.husky().status).toBe(0);
    expect(r.cli(['hooks', 'install', '--add-gitignore']).status).toBe(0);
    pack(r);
    r.git(['add', '-A']);
    const blocked = r.commit('first');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('backend/package.json: dependencies["@scope/auth"]');
    expect(r.git(['rev-parse', '--verify', '-q', 'HEAD']).status).not.toBe(0);

    expect(r.cli(['restore']).status).toBe(0);
    r.git(['add', '-A']);
    const ok = r.commit('first');
    expect(ok.status, ok.output).toBe(0);
    expect(headFile(r, 'backend/package.json')).toContain('workspace:*');
  });

  it('guards commits in a linked git worktree (plain git hooks shared by the worktrees)', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    expect(r.cli(['hooks', 'install']).status).toBe(0); // no husky: .git/hooks, common to every worktree
    const wt = path.join(r.base, 'app-wt');
    expect(r.git(['worktree', 'add', '-q', wt]).status).toBe(0);
    r.linkBin(wt);
    pack(r, [], wt);
    r.write('notes.txt', 'x\n', wt);
    r.git(['add', '-A'], { cwd: wt });
    const blocked = r.commit('wt', { cwd: wt });
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('backend/package.json: dependencies["@scope/auth"]');
    // The main worktree's index is untouched and its own commits pass.
    r.write('main.txt', 'y\n');
    r.git(['add', 'main.txt']);
    expect(r.commit('main').status).toBe(0);

    expect(r.cli(['restore'], { cwd: wt }).status).toBe(0);
    r.git(['add', '-A'], { cwd: wt });
    const ok = r.commit('wt', { cwd: wt });
    expect(ok.status, ok.output).toBe(0);
  });

  it('handles paths with spaces and non-ASCII characters', () => {
    repo = makeGuardRepo({ dirName: 'my repos/ökosystem é' });
    const r = repo;
    // A workspace project whose folder name needs quoting in git's default output.
    const dir = 'apps/späße & co';
    r.write('pnpm-workspace.yaml', r.read('pnpm-workspace.yaml').replace('  - web\n', "  - web\n  - 'apps/*'\n"));
    r.write(`${dir}/package.json`, JSON.stringify({ name: '@app/spasse', version: '1.0.0', dependencies: { '@scope/db': 'workspace:*' } }, null, 2) + '\n');
    r.git(['add', '-A']);
    r.commit('unicode project');
    r.linkBin();
    r.husky();
    expect(r.cli(['hooks', 'install']).status).toBe(0);
    writePackedState(r.app, { target: dir, deps: { '@scope/db': 'scope-db-2.0.1.tgz' } });
    r.git(['add', '--', dir]);
    const blocked = r.commit('unicode');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain(`${dir}/package.json: dependencies["@scope/db"] = file:../../.docker-deps/scope-db-2.0.1.tgz`);
    expect(blocked.output).toContain(`git restore --staged -- 'apps/späße & co/package.json'`);
    // The hint's command works as printed.
    expect(r.git(['restore', '--staged', '--', `${dir}/package.json`]).status).toBe(0);
    r.write('ok.txt', 'ok\n');
    r.git(['add', 'ok.txt']);
    expect(r.commit('ok').status).toBe(0);
  });

  it('uses a custom --out from the hook and from the active pack', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    r.husky();
    expect(r.cli(['hooks', 'install', '--out', 'vendor/deps', '--add-gitignore']).status).toBe(0);
    expect(r.read('.husky/pre-commit')).toContain('--out vendor/deps');
    expect(r.read('.gitignore')).toContain('/vendor/deps/');
    r.git(['add', '-A']);
    expect(r.commit('hooks').status).toBe(0);

    // Rewritten by hand without a journal: only the hook's --out knows where tarballs go.
    writePackedState(r.app, { target: 'backend', out: 'vendor/deps' });
    r.git(['add', 'backend/package.json']);
    const blocked = r.commit('custom out');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('backend/package.json: dependencies["@scope/auth"] = file:../vendor/deps/scope-auth-0.3.0.tgz');
    r.git(['reset', '-q', '--hard']);
    r.git(['clean', '-qfdx', '-e', 'node_modules']);

    // A real pack into another folder: the journal names it, so even a guard without --out blocks.
    pack(r, ['--out', 'build/tgz']);
    r.git(['add', 'backend/package.json']);
    const viaJournal = r.cli(['check', '--staged']);
    expect(viaJournal.status).toBe(1);
    expect(viaJournal.output).toContain('file:../build/tgz/');
  });

  it('says clearly when docker-prep is not installed', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.husky();
    // The shipped husky hook, as a user would copy it; no node_modules/.bin/docker-prep anywhere.
    mkdirSync(path.join(r.app, '.husky'), { recursive: true });
    copyFileSync(path.join(PROJECT_ROOT, 'husky-hooks', 'pre-commit'), path.join(r.app, '.husky', 'pre-commit'));
    r.write('a.txt', 'a\n');
    r.git(['add', 'a.txt']);
    const res = r.commit('no docker-prep');
    expect(res.status).not.toBe(0);
    expect(res.output).toContain('docker-prep is not installed');
    expect(res.output).toContain('git commit --no-verify');
    expect(r.git(['rev-parse', 'HEAD:a.txt']).status).not.toBe(0);

    // Once installed, the same shipped hook runs the guard.
    r.linkBin();
    const ok = r.commit('installed');
    expect(ok.status, ok.output).toBe(0);
    expect(ok.output).not.toContain('not installed');
  });

  it('blocks through the shipped husky-hooks/pre-commit on the real pack output', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    r.husky();
    writeFileSync(path.join(r.app, '.husky', 'pre-commit'), readFileSync(path.join(PROJECT_ROOT, 'husky-hooks', 'pre-commit')));
    pack(r);
    r.git(['add', 'backend/package.json']);
    const blocked = r.commit('packed');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('backend/package.json: pnpm.overrides["@scope/auth"]');
  });
});
