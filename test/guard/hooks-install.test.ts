import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { guardHookLines } from '../../src/core/guard/guard-hook-lines.js';
import { makeGuardRepo, writePackedState, type GuardRepo } from './guard-repo.js';

let repo: GuardRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

const bytes = (r: GuardRepo, rel: string): Buffer => readFileSync(path.join(r.app, rel));
const modeOf = (r: GuardRepo, rel: string): number => statSync(path.join(r.app, rel)).mode & 0o777;
const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('docker-prep hooks install / uninstall', () => {
  it('husky: keeps the user lines, is idempotent, runs both, and uninstall restores the exact bytes', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    expect(r.husky().status).toBe(0);
    const userHook = '# my checks\necho "user hook ran" >> hook.log\n';
    r.write('.husky/pre-commit', userHook);

    for (let i = 0; i < 2; i++) {
      const res = r.cli(['hooks', 'install']);
      expect(res.status, res.output).toBe(0);
      expect(res.stdout).toContain(i === 0 ? '.husky/pre-commit (husky): guard added' : 'guard already installed, unchanged');
    }
    const installed = r.read('.husky/pre-commit');
    expect(count(installed, '# >>> docker-prep guard >>>')).toBe(1);
    expect(installed).toContain('echo "user hook ran" >> hook.log');
    expect(installed.endsWith(userHook)).toBe(true);

    // The user's line and the guard both run: a clean commit passes and logs, a packed one is refused.
    r.write('a.txt', 'a\n');
    r.git(['add', 'a.txt']);
    expect(r.commit('a').status).toBe(0);
    expect(r.read('hook.log')).toBe('user hook ran\n');
    writePackedState(r.app, { target: 'backend' });
    r.git(['add', 'backend/package.json']);
    expect(r.commit('packed').status).not.toBe(0);

    const un = r.cli(['hooks', 'uninstall']);
    expect(un.status, un.output).toBe(0);
    expect(un.stdout).toContain('.husky/pre-commit (husky): guard removed');
    expect(r.read('.husky/pre-commit')).toBe(userHook);
    const again = r.cli(['hooks', 'uninstall']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('no guard installed');
    expect(r.read('.husky/pre-commit')).toBe(userHook);
    // Without the guard the packed manifest goes through: proof that uninstall removed it.
    expect(r.commit('packed').status).toBe(0);
  });

  it('husky: creates .husky/pre-commit when absent and uninstall deletes exactly that file', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    expect(r.husky().status).toBe(0);
    expect(existsSync(path.join(r.app, '.husky', 'pre-commit'))).toBe(false);
    const res = r.cli(['hooks', 'install', '--json']);
    expect(res.status).toBe(0);
    const data = JSON.parse(res.stdout) as { hooks: { kind: string; file: string; result: string }[] };
    expect(data.hooks).toEqual([{ kind: 'husky', file: '.husky/pre-commit', result: 'created' }]);
    expect(r.cli(['hooks', 'uninstall']).status).toBe(0);
    expect(existsSync(path.join(r.app, '.husky', 'pre-commit'))).toBe(false);
    expect(existsSync(path.join(r.app, '.husky', '_', 'h'))).toBe(true); // husky's own files untouched
  });

  it('plain git hooks: respects core.hooksPath, creates an executable hook, uninstall removes it', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    r.git(['config', 'core.hooksPath', 'tools/githooks']);
    const res = r.cli(['hooks', 'install']);
    expect(res.status, res.output).toBe(0);
    expect(res.stdout).toContain('tools/githooks/pre-commit (git hook): created with the guard');
    expect(existsSync(path.join(r.app, '.git', 'hooks', 'pre-commit'))).toBe(false);
    const hook = r.read('tools/githooks/pre-commit');
    expect(hook.startsWith('#!/bin/sh\n')).toBe(true);
    expect(modeOf(r, 'tools/githooks/pre-commit') & 0o111).not.toBe(0);

    writePackedState(r.app, { target: 'backend' });
    r.git(['add', 'backend/package.json']);
    const blocked = r.commit('packed');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('COMMIT_BLOCKED');

    expect(r.cli(['hooks', 'uninstall']).status).toBe(0);
    expect(existsSync(path.join(r.app, 'tools', 'githooks', 'pre-commit'))).toBe(false);
  });

  it('plain git hooks: never clobbers an existing shell hook, runs before its `exit 0`, restores bytes and mode', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    const original = '#!/usr/bin/env bash\nset -e\necho "lint ran" >> lint.log\nexit 0\n';
    r.write('.git/hooks/pre-commit', original);
    chmodSync(path.join(r.app, '.git/hooks/pre-commit'), 0o750);

    expect(r.cli(['hooks', 'install']).status).toBe(0);
    expect(r.cli(['hooks', 'install']).status).toBe(0);
    const installed = r.read('.git/hooks/pre-commit');
    expect(installed.startsWith('#!/usr/bin/env bash\n# >>> docker-prep guard >>>')).toBe(true);
    expect(installed.endsWith('set -e\necho "lint ran" >> lint.log\nexit 0\n')).toBe(true);
    expect(count(installed, '# >>> docker-prep guard >>>')).toBe(1);
    expect(modeOf(r, '.git/hooks/pre-commit')).toBe(0o750);

    writePackedState(r.app, { target: 'backend' });
    r.git(['add', 'backend/package.json']);
    const blocked = r.commit('packed');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('COMMIT_BLOCKED');
    r.git(['restore', '--staged', 'backend/package.json']);
    r.write('b.txt', 'b\n');
    r.git(['add', 'b.txt']);
    expect(r.commit('b').status).toBe(0);
    expect(r.read('lint.log')).toBe('lint ran\n');

    expect(r.cli(['hooks', 'uninstall']).status).toBe(0);
    expect(bytes(r, '.git/hooks/pre-commit').equals(Buffer.from(original))).toBe(true);
    expect(modeOf(r, '.git/hooks/pre-commit')).toBe(0o750);
  });

  it('refuses to edit a hook that is not a shell script, changing nothing', () => {
    repo = makeGuardRepo();
    const r = repo;
    const original = '#!/usr/bin/env node\nconsole.log("mine");\n';
    r.write('.git/hooks/pre-commit', original);
    chmodSync(path.join(r.app, '.git/hooks/pre-commit'), 0o755);
    const res = r.cli(['hooks', 'install', '--add-gitignore']);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('HOOK_NOT_SHELL');
    expect(res.stderr).toContain('node script');
    expect(res.stderr).toMatch(/hint: .*docker-prep check --staged/);
    expect(r.read('.git/hooks/pre-commit')).toBe(original);
    expect(r.read('.gitignore')).toBe('node_modules\n'); // planned edits are not applied either
  });

  it('--add-gitignore: adds only what is missing, keeps CRLF and a missing final newline, uninstall restores the bytes', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.linkBin();
    const original = 'node_modules\r\n.docker-deps/\r\n# end';
    r.write('.gitignore', original);
    r.git(['add', '.gitignore']);
    r.commit('gitignore');

    const before = r.cli(['check', '--json']);
    expect(JSON.parse(before.stdout).notIgnored).toEqual(['.docker-prep/', '.docker-prep.lock/']);
    expect(r.cli(['check']).stderr).toContain('docker-prep: WARN not git-ignored: .docker-prep/, .docker-prep.lock/');

    const res = r.cli(['hooks', 'install', '--add-gitignore']);
    expect(res.status, res.output).toBe(0);
    expect(res.stdout).toContain('.gitignore: ignores /.docker-prep/, /.docker-prep.lock/');
    const text = r.read('.gitignore');
    expect(text.startsWith(original + '\r\n# >>> docker-prep >>>')).toBe(true);
    expect(text).toContain('\r\n/.docker-prep/\r\n/.docker-prep.lock/\r\n# <<< docker-prep <<<\r\n');
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    const after = r.cli(['check', '--json']);
    expect(JSON.parse(after.stdout).notIgnored).toEqual([]);
    expect(r.cli(['check']).stderr).not.toContain('not git-ignored');
    expect(r.cli(['hooks', 'install', '--add-gitignore']).stdout).not.toContain('.gitignore');

    expect(r.cli(['hooks', 'uninstall']).status).toBe(0);
    expect(bytes(r, '.gitignore').equals(Buffer.from(original))).toBe(true);
  });

  it('installs for an app below the git top level with the right --cwd', () => {
    repo = makeGuardRepo({ init: false });
    const r = repo;
    // One repository holding app/ and common_plat/: the repo root (app/) is not the git top level.
    r.git(['init', '-q'], { cwd: r.base });
    r.git(['add', '-A'], { cwd: r.base });
    r.git(['commit', '-qm', 'mono'], { cwd: r.base });
    r.linkBin();
    const res = r.cli(['hooks', 'install']);
    expect(res.status, res.output).toBe(0);
    const hook = readFileSync(path.join(r.base, '.git', 'hooks', 'pre-commit'), 'utf8');
    expect(hook).toContain('docker_prep_root=app\n');

    writePackedState(r.app, { target: 'backend' });
    r.git(['add', 'app/backend/package.json'], { cwd: r.base });
    const blocked = r.commit('packed', { cwd: r.base });
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toContain('app/backend/package.json: dependencies["@scope/auth"] = file:../.docker-deps/scope-auth-0.3.0.tgz');
    expect(blocked.output).toContain('git restore --staged -- app/backend/package.json');
    // From a subfolder, with git's relative GIT_INDEX_FILE: still judged against the right index.
    const fromSub = r.commit('packed', { cwd: path.join(r.base, 'common_plat') });
    expect(fromSub.status).not.toBe(0);
    expect(fromSub.output).toContain('app/backend/package.json');
  });

  it('the shipped husky-hooks/pre-commit runs the same lines hooks install writes', () => {
    const shipped = readFileSync(path.join(PROJECT_ROOT, 'husky-hooks', 'pre-commit'), 'utf8');
    const lines = guardHookLines({ rootFromTop: '.', out: '.docker-deps' });
    expect(shipped).toContain('docker_prep_root="${DOCKER_PREP_ROOT:-.}"\n' + lines.slice(1).join('\n') + '\n');
    expect(statSync(path.join(PROJECT_ROOT, 'husky-hooks', 'pre-commit')).mode & 0o111).not.toBe(0);
  });
});
