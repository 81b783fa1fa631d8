import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { DockerPrepError } from '../../src/core/errors.js';

/** File contents: an object is written as 2-space JSON with a final newline, a string or Buffer as is. */
export type FileSpec = string | Buffer | Record<string, unknown> | unknown[];

export interface TempTree {
  base: string;
  at(rel: string): string;
  write(rel: string, contents: FileSpec): string;
  symlink(rel: string, target: string): void;
  cleanup(): void;
}

/** A fresh real temp folder holding `files` (paths relative to it, POSIX). */
export function tempTree(files: Record<string, FileSpec> = {}): TempTree {
  const base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-ws-')));
  const at = (rel: string): string => path.join(base, ...rel.split('/'));
  const write = (rel: string, contents: FileSpec): string => {
    const file = at(rel);
    mkdirSync(path.dirname(file), { recursive: true });
    const data = typeof contents === 'string' || Buffer.isBuffer(contents) ? contents : JSON.stringify(contents, null, 2) + '\n';
    writeFileSync(file, data);
    return file;
  };
  for (const [rel, contents] of Object.entries(files)) write(rel, contents);
  return {
    base,
    at,
    write,
    symlink: (rel, target) => {
      mkdirSync(path.dirname(at(rel)), { recursive: true });
      symlinkSync(target, at(rel));
    },
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

/** `app/` with a workspace file listing `globs`, plus `projects` (relDir from base -> manifest). */
export function workspaceTree(opts: { globs?: string[]; yaml?: string; projects: Record<string, FileSpec> }): TempTree {
  const yaml = opts.yaml ?? `packages:\n${(opts.globs ?? []).map((g) => `  - '${g}'\n`).join('')}`;
  const files: Record<string, FileSpec> = { 'app/pnpm-workspace.yaml': yaml };
  if (!('app' in opts.projects)) files['app/package.json'] = { name: 'app', private: true };
  for (const [dir, manifest] of Object.entries(opts.projects)) files[`${dir}/package.json`] = manifest;
  return tempTree(files);
}

/** Runs `fn`, expects a DockerPrepError and returns it for further assertions. */
export async function expectDockerPrepError(fn: () => unknown): Promise<DockerPrepError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DockerPrepError);
    const e = err as DockerPrepError;
    expect(e.hint, `error ${e.code} must carry a hint`).toBeTruthy();
    for (const p of e.problems) expect(p.hint, `problem ${p.code} must carry a hint`).toBeTruthy();
    return e;
  }
  throw new Error('expected a DockerPrepError, but nothing was thrown');
}

/** The codes of every problem in an error (or its own code when it lists none). */
export function codesOf(e: DockerPrepError): string[] {
  return e.problems.length > 0 ? e.problems.map((p) => p.code) : [e.code];
}

/** Registers temp trees (or ecosystems) to clean up after each test of the calling file. */
export function trackTrees(): <T extends { cleanup(): void }>(t: T) => T {
  const trees: { cleanup(): void }[] = [];
  afterEach(() => {
    for (const t of trees.splice(0)) t.cleanup();
  });
  return (t) => {
    trees.push(t);
    return t;
  };
}
