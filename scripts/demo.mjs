#!/usr/bin/env node
// `npm run demo`: the whole job on the bundled fixtures, in a temp copy so the checkout stays clean.
// dry-run -> pack (with the flattened lockfile) -> status -> the guard blocking a commit -> restore
// -> the tree is byte-identical again.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(project, 'bin', 'docker-prep.js');
const base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'docker-prep-demo-')));
cpSync(path.join(project, 'fixtures', 'ecosystem'), base, { recursive: true });
const app = path.join(base, 'app');
const env = { ...process.env, XDG_CACHE_HOME: path.join(base, '.cache'), GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@example.invalid', GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@example.invalid' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env, encoding: 'utf8' });
for (const repo of [app, path.join(base, 'common_plat')]) {
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'initial');
}

const step = (title, args, expectCode = 0) => {
  console.log(`\n$ docker-prep ${args.join(' ')}    # ${title}`);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: app, env, encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stdout.write(r.stderr);
  if (r.status !== expectCode) {
    console.error(`\ndemo failed: expected exit ${expectCode}, got ${r.status}`);
    process.exit(1);
  }
};

step('print the plan, write nothing', ['pack', '--dry-run']);
step('pack the closure, rewrite the targets, write the Docker lockfile', ['pack', '--lockfile']);
console.log('\n$ git status --short');
console.log(git(app, 'status', '--short', '--untracked-files=all'));
console.log('backend/package.json now reads:');
console.log(readFileSync(path.join(app, 'backend', 'package.json'), 'utf8'));
step('what is active', ['status']);
git(app, 'add', 'backend/package.json');
step('the pre-commit guard blocks the rewritten manifest', ['check', '--staged'], 1);
git(app, 'restore', '--staged', 'backend/package.json');
step('undo, byte for byte', ['restore']);
const left = git(app, 'status', '--porcelain', '--untracked-files=all');
if (left.trim() !== '') {
  console.error(`demo failed: the tree is not clean after restore:\n${left}`);
  process.exit(1);
}
console.log('\ngit status after restore: clean. Demo done.');
rmSync(base, { recursive: true, force: true });
