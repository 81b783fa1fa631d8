import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES } from './paths.js';

export interface Ecosystem {
  /** Temp folder holding `app/` and `common_plat/`. */
  base: string;
  app: string;
  plat: string;
  cleanup(): void;
}

/** Copies fixtures/ecosystem (or another fixture folder) into a fresh temp dir; optionally `git init`s both repos. */
export function makeEcosystem(opts: { fixture?: string; git?: boolean } = {}): Ecosystem {
  const base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-eco-')));
  cpSync(path.join(FIXTURES, opts.fixture ?? 'ecosystem'), base, { recursive: true });
  const app = path.join(base, 'app');
  const plat = path.join(base, 'common_plat');
  if (opts.git) {
    for (const repo of [app, plat]) gitInitCommit(repo);
  }
  return { base, app, plat, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
  });
}

export function gitInitCommit(repo: string): void {
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'config', 'core.autocrlf', 'false');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'initial');
}
