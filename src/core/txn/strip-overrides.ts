import { promises as fsp } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { isMap, parseDocument, type Document } from 'yaml';
import { DockerPrepError, failWithProblems, type Problem } from '../errors.js';
import { TreeWriter, type MutationHooks } from '../fs/tree-writer.js';
import { editJsonText, parseJsonText, type JsonEdit } from '../rewrite/edit-json-text.js';
import { applyTextFormat, detectTextFormat } from '../rewrite/text-format.js';
import type { DepField } from '../types.js';
import { isInside } from './containment.js';
import { LOCK_DIR, STATE_DIR } from './journal-types.js';
import { toAbs, toRel } from './journal.js';

export interface StripReport {
  /** Every reference into the output folder that was taken out, per file. */
  changed: { path: string; edits: { key: string; from: string; to: string | null }[] }[];
  /** Files docker-prep created (not in git HEAD) that held nothing else, deleted. */
  deletedFiles: string[];
  /** Tarballs (not in git HEAD) removed from the output folder. */
  removedTarballs: string[];
  removedOut: boolean;
  /** Other differences from git HEAD in dependency fields or overrides, left alone for the user to judge. */
  leftDifferences: { path: string; key: string }[];
}

const DEP_FIELDS: DepField[] = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

interface GitHead {
  show(relToRoot: string): Promise<string | null>;
  tracked(relToRoot: string): Promise<boolean>;
}

/**
 * The safety net for a lost journal (`restore --strip-overrides`): takes out of every manifest and
 * project pnpm-workspace.yaml each `file:` reference and override pointing into the output folder.
 * The original specifier comes from the same key in git HEAD; a key HEAD does not have is removed;
 * a file HEAD does not have cannot be judged and is refused (never guessed). Plans everything first
 * and writes nothing when any file is refused. The caller holds the repo lock.
 */
export async function stripOverrides(root: string, opts: { out: string; hooks?: MutationHooks }): Promise<StripReport> {
  const outAbs = toAbs(root, opts.out);
  const git = await openGitHead(root);
  const ignore = ['**/node_modules/**', '**/.git/**', `${STATE_DIR}/**`, `${LOCK_DIR}*/**`, `${opts.out}/**`];
  const files = (await fg(['**/package.json', '**/pnpm-workspace.yaml'], { cwd: root, ignore, dot: true, followSymbolicLinks: false })).sort();
  const problems: Problem[] = [];
  const report: StripReport = { changed: [], deletedFiles: [], removedTarballs: [], removedOut: false, leftDifferences: [] };
  const writes: { abs: string; text: string | null }[] = [];

  for (const rel of files) {
    const abs = toAbs(root, rel);
    const text = await fsp.readFile(abs, 'utf8');
    const intoOut = (spec: unknown): spec is string => typeof spec === 'string' && spec.startsWith('file:') && isInside(outAbs, path.resolve(path.dirname(abs), spec.slice(5)));
    const head = await git.show(rel);
    if (path.basename(rel) === 'package.json') {
      const cur = parseJsonText(text);
      if (cur.errors.length > 0 || !isRecord(cur.value)) continue; // not ours to judge; pack refuses such files anyway
      const refs = manifestRefs(cur.value).filter((r) => intoOut(r.value));
      const headValue = head === null ? null : (parseJsonText(head).value as unknown);
      const headObj = isRecord(headValue) ? headValue : null;
      if (refs.length > 0 && !headObj) {
        problems.push({
          code: 'STRIP_NOT_IN_HEAD',
          message: `${rel} refers into ${opts.out}/ (${refs.map((r) => r.path.join('.')).join(', ')}) but is not in git HEAD, so its original specifiers are unknown`,
          hint: `edit ${rel} by hand: put back the specifiers it had before docker-prep (e.g. workspace:*) and remove the overrides into ${opts.out}/`,
          path: rel,
        });
        continue;
      }
      const edits: JsonEdit[] = [];
      const fileEdits: StripReport['changed'][number]['edits'] = [];
      for (const r of refs) {
        const original = getIn(headObj, r.path);
        const to = typeof original === 'string' ? original : null;
        edits.push({ path: r.path, value: to ?? undefined });
        fileEdits.push({ key: r.path.join('.'), from: r.value as string, to });
      }
      // Containers docker-prep created and that are empty now go too: `pnpm: {overrides: {}}`.
      const after = structuredClone(cur.value);
      applyEditsTo(after, edits);
      for (const container of [['pnpm', 'overrides'], ['pnpm']]) {
        const v = getIn(after, container);
        if (isRecord(v) && Object.keys(v).length === 0 && getIn(headObj, container) === undefined) {
          edits.push({ path: container, value: undefined });
          applyEditsTo(after, [{ path: container, value: undefined }]);
        }
      }
      for (const r of manifestRefs(after)) {
        if (typeof r.value === 'string' && getIn(headObj, r.path) !== r.value) report.leftDifferences.push({ path: rel, key: r.path.join('.') });
      }
      if (edits.length > 0) {
        writes.push({ abs, text: editJsonText(text, edits) });
        report.changed.push({ path: rel, edits: fileEdits });
      }
    } else {
      if (rel === 'pnpm-workspace.yaml' && head === null) continue; // the repo's own workspace file is never created by pack
      const doc = parseDocument(text.replace(/^\ufeff/, ''));
      if (doc.errors.length > 0) continue;
      const ov = doc.get('overrides');
      if (!isMap(ov)) continue;
      const keys = Object.entries(ov.toJSON() as Record<string, unknown>).filter(([, v]) => intoOut(v)).map(([k]) => k);
      if (keys.length === 0) continue;
      const headDoc = head === null ? null : parseDocument(head.replace(/^\ufeff/, ''));
      const headOv = headDoc?.get('overrides');
      const headMap = isMap(headOv) ? (headOv.toJSON() as Record<string, unknown>) : {};
      const fileEdits: StripReport['changed'][number]['edits'] = [];
      for (const k of keys) {
        const from = String((ov.toJSON() as Record<string, unknown>)[k]);
        const original = headMap[k];
        if (typeof original === 'string') doc.setIn(['overrides', k], original);
        else doc.deleteIn(['overrides', k]);
        fileEdits.push({ key: `overrides.${k}`, from, to: typeof original === 'string' ? original : null });
      }
      const left = doc.get('overrides');
      if (isMap(left) && left.items.length === 0 && !isMap(headOv)) doc.delete('overrides');
      report.changed.push({ path: rel, edits: fileEdits });
      if (head === null && isEmptyDoc(doc)) {
        // A project-level workspace file pack created for pnpm 11 overrides, holding nothing else.
        writes.push({ abs, text: null });
        report.deletedFiles.push(rel);
      } else {
        writes.push({ abs, text: applyTextFormat(doc.toString({ lineWidth: 0 }), detectTextFormat(text)) });
      }
    }
  }
  if (problems.length > 0) failWithProblems(problems, 'check');

  const tarballs: string[] = [];
  for (const name of (await fsp.readdir(outAbs).catch(() => [] as string[])).sort()) {
    const abs = path.join(outAbs, name);
    if (name.endsWith('.tgz') && (await fsp.lstat(abs)).isFile() && !(await git.tracked(toRel(root, abs)))) tarballs.push(abs);
  }

  const writer = new TreeWriter(opts.hooks);
  for (const w of writes) {
    if (w.text === null) await writer.unlink(w.abs);
    else {
      const mode = (await fsp.stat(w.abs)).mode & 0o7777;
      await writer.writeFile(w.abs, w.text, mode);
    }
  }
  for (const t of tarballs) {
    await writer.unlink(t);
    report.removedTarballs.push(toRel(root, t));
  }
  if (tarballs.length > 0 || (await fsp.readdir(outAbs).catch(() => null))?.length === 0) {
    report.removedOut = await writer.rmdirIfEmpty(outAbs).catch(() => false);
  }
  return report;
}

interface Ref {
  path: string[];
  value: unknown;
}

function manifestRefs(m: Record<string, unknown>): Ref[] {
  const out: Ref[] = [];
  for (const f of DEP_FIELDS) {
    const deps = m[f];
    if (isRecord(deps)) for (const [k, v] of Object.entries(deps)) out.push({ path: [f, k], value: v });
  }
  const ov = getIn(m, ['pnpm', 'overrides']);
  if (isRecord(ov)) for (const [k, v] of Object.entries(ov)) out.push({ path: ['pnpm', 'overrides', k], value: v });
  return out;
}

function applyEditsTo(value: Record<string, unknown>, edits: JsonEdit[]): void {
  for (const e of edits) {
    const parent = getIn(value, e.path.slice(0, -1) as string[]);
    if (!isRecord(parent)) continue;
    const key = String(e.path[e.path.length - 1]);
    if (e.value === undefined) delete parent[key];
    else parent[key] = e.value;
  }
}

function getIn(v: unknown, p: string[]): unknown {
  let cur = v;
  for (const k of p) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function isEmptyDoc(doc: Document): boolean {
  const c = doc.contents;
  return c === null || (isMap(c) && c.items.length === 0);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

async function openGitHead(root: string): Promise<GitHead> {
  const { simpleGit } = await import('simple-git');
  const git = simpleGit(root);
  let top: string;
  try {
    top = (await git.revparse(['--show-toplevel'])).trim();
    await git.revparse(['--verify', 'HEAD']);
  } catch (err) {
    throw new DockerPrepError('STRIP_NO_GIT', `--strip-overrides takes the original specifiers from git HEAD, but ${root} is not in a git repository with a commit (${(err as Error).message.trim()})`, {
      kind: 'check',
      hint: 'restore the manifests by hand, or from a backup; docker-prep never guesses specifiers',
    });
  }
  const topReal = await fsp.realpath(top);
  const rel = (r: string): string => toRel(topReal, toAbs(root, r));
  return {
    async show(r) {
      try {
        return await git.show([`HEAD:${rel(r)}`]);
      } catch {
        return null;
      }
    },
    async tracked(r) {
      try {
        return (await git.raw(['ls-tree', '--name-only', 'HEAD', '--', rel(r)])).trim() !== '';
      } catch {
        return false;
      }
    },
  };
}
