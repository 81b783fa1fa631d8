import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeJournal } from '../../src/core/txn/journal.js';
import type { Journal } from '../../src/core/txn/journal-types.js';
import { BIN, PROJECT_ROOT } from '../helpers/paths.js';
import { makeGuardRepo, writePackedState, type GuardRepo } from './guard-repo.js';

let repo: GuardRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

interface Finding {
  file: string;
  kind: string;
  key?: string;
  value?: string;
}
interface Report {
  ok: boolean;
  mode: string;
  findings: Finding[];
  files: string[];
  notIgnored: string[];
  pack: string;
  warnings: string[];
}

function checkJson(r: GuardRepo, args: string[], cwd = r.app): { status: number | null; report: Report } {
  const res = r.cli(['check', ...args, '--json'], { cwd });
  return { status: res.status, report: JSON.parse(res.stdout) as Report };
}

describe('docker-prep check', () => {
  it('names the offending keys in staged pnpm-lock.yaml, package-lock.json and yarn.lock', () => {
    repo = makeGuardRepo();
    const r = repo;
    writePackedState(r.app, { target: 'backend', pnpm: 11, lockfile: true });
    r.write(
      'web/package-lock.json',
      JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/@scope/logger': { version: '1.2.0', resolved: 'file:../.docker-deps/scope-logger-1.2.0.tgz' } } }, null, 2) + '\n',
    );
    r.write('web/yarn.lock', '# yarn lockfile v1\n\n"@scope/db@file:../.docker-deps/scope-db-2.0.1.tgz":\n  version "2.0.1"\n  resolved "file:../.docker-deps/scope-db-2.0.1.tgz"\n');
    r.git(['add', 'backend/pnpm-lock.yaml', 'backend/pnpm-workspace.yaml', 'web/package-lock.json', 'web/yarn.lock']);
    const { status, report } = checkJson(r, ['--staged']);
    expect(status).toBe(1);
    expect(report.ok).toBe(false);
    const keys = report.findings.map((f) => `${f.file} ${f.key}`);
    expect(keys).toContain('backend/pnpm-lock.yaml importers["."].dependencies["@scope/auth"].specifier');
    expect(keys).toContain('backend/pnpm-lock.yaml packages["@scope/auth@file:../.docker-deps/scope-auth-0.3.0.tgz"]');
    expect(keys).toContain('backend/pnpm-lock.yaml packages["@scope/auth@file:../.docker-deps/scope-auth-0.3.0.tgz"].resolution.tarball');
    expect(keys).toContain('backend/pnpm-workspace.yaml overrides["@scope/auth"]');
    expect(keys).toContain('web/package-lock.json packages["node_modules/@scope/logger"].resolved');
    expect(keys).toContain('web/yarn.lock line 3');
    expect(keys).toContain('web/yarn.lock line 5');
    expect(report.files).toEqual(['backend/pnpm-lock.yaml', 'backend/pnpm-workspace.yaml', 'web/package-lock.json', 'web/yarn.lock']);
  });

  it('passes manifests that only mention the output folder in scripts or prose, and non-manifest files', () => {
    repo = makeGuardRepo();
    const r = repo;
    const manifest = JSON.parse(r.read('package.json')) as Record<string, unknown>;
    manifest.scripts = { clean: 'rm -rf .docker-deps', 'docker:build': 'docker-prep exec -- docker compose build' };
    manifest.description = 'tarballs go to .docker-deps/ during a build';
    r.write('package.json', JSON.stringify(manifest, null, 2) + '\n');
    r.write('docs/docker.md', 'The Dockerfile copies file:../.docker-deps/scope-auth-0.3.0.tgz\n');
    // A manifest referring to a tarball elsewhere is not ours either.
    r.write('web/package.json', r.read('web/package.json').replace(/"@scope\/logger":\s*"[^"]*"/, '"@scope/logger": "file:../vendor/logger.tgz"'));
    r.git(['add', '-A']);
    const { status, report } = checkJson(r, ['--staged']);
    expect(report.findings).toEqual([]);
    expect(status).toBe(0);
    const text = r.cli(['check', '--staged']);
    expect(text.stdout).toMatch(/^docker-prep check: ok \(2 staged files inspected/);
  });

  it('checks the working tree without --staged (CI), on the real pack output', () => {
    repo = makeGuardRepo();
    const r = repo;
    expect(r.cli(['check']).status).toBe(0);
    expect(r.cli(['pack']).status).toBe(0);
    const packed = checkJson(r, []);
    expect(packed.status).toBe(1);
    expect(packed.report.mode).toBe('worktree');
    expect(packed.report.pack).toBe('active');
    // .docker-deps/ is not ignored in the fixture: the tarballs would be committed by `git add -A`.
    expect(packed.report.findings.filter((f) => f.kind === 'output-file').map((f) => f.file)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\.docker-deps\/scope-auth-[\d.]+\.tgz$/)]),
    );
    expect(packed.report.findings).toContainEqual(expect.objectContaining({ file: 'backend/package.json', key: 'dependencies["@scope/auth"]' }));
    expect(packed.report.notIgnored).toContain('.docker-deps/');
    const text = r.cli(['check']);
    expect(text.stdout).toContain('PACKED_STATE_FOUND');
    expect(text.stderr).toContain('docker-prep: WARN not git-ignored: .docker-deps/');
    expect(r.cli(['restore']).status).toBe(0);
    expect(r.cli(['check']).status).toBe(0);
  });

  it('judges the index, not the working tree: restoring the files without re-staging still blocks', () => {
    repo = makeGuardRepo();
    const r = repo;
    expect(r.cli(['pack']).status).toBe(0);
    r.git(['add', 'backend/package.json', 'web/package.json']);
    expect(r.cli(['restore']).status).toBe(0);
    expect(r.read('backend/package.json')).toContain('workspace:*'); // the disk is clean again...
    const stillStaged = checkJson(r, ['--staged']);
    expect(stillStaged.status).toBe(1); // ...but the index still holds the rewritten manifests
    expect(stillStaged.report.files).toEqual(['backend/package.json', 'web/package.json']);
    expect(stillStaged.report.pack).toBe('none');
    // And the other way round: a rewritten working tree over a clean index passes.
    r.git(['add', 'backend/package.json', 'web/package.json']);
    writePackedState(r.app, { target: 'backend' });
    expect(checkJson(r, ['--staged']).status).toBe(0);
    expect(checkJson(r, []).status).toBe(1);
  });

  it('works outside git for the working tree, and refuses --staged there', () => {
    repo = makeGuardRepo({ init: false });
    const r = repo;
    writePackedState(r.app, { target: 'backend' });
    const wt = checkJson(r, []);
    expect(wt.status).toBe(1);
    expect(wt.report.findings.map((f) => `${f.file} ${f.key}`)).toEqual([
      'backend/package.json dependencies["@scope/auth"]',
      'backend/package.json pnpm.overrides["@scope/auth"]',
    ]);
    const staged = r.cli(['check', '--staged']);
    expect(staged.status).toBe(2);
    expect(staged.stderr).toContain('[NOT_A_GIT_REPO]');
    expect(staged.stderr).toContain('hint:');
  });

  it('uses the journal: blocks a staged file in exactly the form the pack wrote, and docker-prep state files', () => {
    repo = makeGuardRepo();
    const r = repo;
    // A file pack rewrote whose content names no tarball (e.g. a patched .npmrc), judged by its checksum.
    const written = 'registry=http://localhost:4873/\n';
    r.write('backend/.npmrc', 'registry=https://npm.example.com/\n');
    r.git(['add', '-A']);
    r.commit('npmrc');
    const journal: Journal = {
      version: 1,
      phase: 'active',
      root: r.app,
      out: '.docker-deps',
      createdDirs: [],
      entries: [
        {
          path: 'backend/.npmrc',
          action: 'modify',
          originalSha256: createHash('sha256').update('registry=https://npm.example.com/\n').digest('hex'),
          originalMode: 0o644,
          backup: 'backups/0',
          newSha256: createHash('sha256').update(written).digest('hex'),
          newMode: 0o644,
          role: 'other',
        },
      ],
      targets: ['backend'],
      packages: [],
      createdAt: new Date(0).toISOString(),
      command: 'docker-prep pack',
    };
    mkdirSync(path.join(r.app, '.docker-prep', 'backups'), { recursive: true });
    writeFileSync(path.join(r.app, '.docker-prep', 'journal.json'), serializeJournal(journal));
    writeFileSync(path.join(r.app, '.docker-prep', 'backups', '0'), 'registry=https://npm.example.com/\n');

    r.write('backend/.npmrc', written);
    r.git(['add', 'backend/.npmrc']);
    r.git(['add', '-f', '.docker-prep/journal.json']);
    const { status, report } = checkJson(r, ['--staged']);
    expect(status).toBe(1);
    expect(report.findings).toEqual([
      expect.objectContaining({ file: '.docker-prep/journal.json', kind: 'state-file' }),
      expect.objectContaining({ file: 'backend/.npmrc', kind: 'rewritten-by-pack' }),
    ]);
    // The user's own edit of that file is theirs to commit.
    r.git(['rm', '-q', '--cached', '.docker-prep/journal.json']);
    r.write('backend/.npmrc', written + 'always-auth=true\n');
    r.git(['add', 'backend/.npmrc']);
    expect(checkJson(r, ['--staged']).status).toBe(0);
    rmSync(path.join(r.app, '.docker-prep'), { recursive: true });
  });

  it('finds the repo root above an injected pnpm-workspace.yaml when started inside a target (pnpm 11)', () => {
    repo = makeGuardRepo({ commit: false });
    const r = repo;
    r.write('package.json', r.read('package.json').replace(/pnpm@[\d.]+/, 'pnpm@11.0.0'));
    r.git(['add', '-A']);
    r.commit('initial');
    expect(r.cli(['pack']).status).toBe(0);
    r.git(['add', 'backend']);
    const { status, report } = checkJson(r, ['--staged'], path.join(r.app, 'backend'));
    expect(status).toBe(1);
    expect(report.findings).toContainEqual(expect.objectContaining({ file: 'backend/pnpm-workspace.yaml', kind: 'created-by-pack' }));
    expect(report.findings).toContainEqual(expect.objectContaining({ file: 'backend/package.json', key: 'dependencies["@scope/auth"]' }));
  });

  it('loads no packing code: the check command imports only the guard', () => {
    repo = makeGuardRepo();
    const r = repo;
    r.write('web/package.json', r.read('web/package.json').replace('"private"', '"description": "x",\n\t"private"'));
    r.git(['add', '-A']);
    const tracer = path.join(r.base, 'trace-hooks.mjs');
    const register = path.join(r.base, 'trace-register.mjs');
    const log = path.join(r.base, 'trace.log');
    writeFileSync(
      tracer,
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');\n  return result;\n}\n`,
    );
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify('file://' + tracer)});\n`);
    const res = spawnSync(process.execPath, ['--import', 'file://' + register, BIN, 'check', '--staged'], { cwd: r.app, env: r.env, encoding: 'utf8' });
    expect(res.status, res.stdout + res.stderr).toBe(0);
    // The CLI runs from the bundle (dist/bundle): map every loaded chunk back to its sources with the
    // bundler's metafile.
    const meta = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'dist', 'bundle', 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const bundleDir = path.join(PROJECT_ROOT, 'dist', 'bundle') + path.sep;
    const chunks = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((u) => (u.startsWith('file://') ? fileURLToPath(u) : u)).filter((f) => f.startsWith(bundleDir));
    expect(chunks.length).toBeGreaterThan(0);
    const loaded = chunks.flatMap((f) => Object.keys(meta.outputs[path.relative(PROJECT_ROOT, f).split(path.sep).join('/')]?.inputs ?? {}));
    expect(loaded).toContain('src/core/guard/run-guard.ts');
    const heavy = loaded.filter((u) =>
      /^src\/core\/(pack|workspace|closure|rewrite|plan|lockfile|registry)\/|@pnpm\/|fast-glob|tar-stream|proper-lockfile|node_modules\/(semver|diff|yaml)\//.test(u),
    );
    expect(heavy).toEqual([]);
  });
});
