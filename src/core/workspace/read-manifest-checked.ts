import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readExactProjectManifest } from '@pnpm/read-project-manifest';
import type { Problem } from '../errors.js';
import type { InputLog } from '../plan/input-log.js';
import { DEP_FIELDS, type Manifest } from '../types.js';
import { findDuplicateKeys, formatKeyPath } from './find-duplicate-keys.js';
import { MAX_MANIFEST_BYTES } from './max-manifest-bytes.js';

export { MAX_MANIFEST_BYTES };

export type ManifestReadResult = { ok: true; manifest: Manifest } | { ok: false; problems: Problem[] };

const FIX_HINT = 'fix the manifest (pnpm itself would fail on it or silently misread it), then run docker-prep again';

/**
 * Reads one project manifest the way pnpm does (`@pnpm/read-project-manifest`), but turns every
 * failure into Problems that name the file, and adds the checks pnpm skips: size, duplicate keys,
 * the shape of the fields docker-prep relies on. `shownPath` is how messages name the file.
 */
export async function readManifestChecked(manifestPath: string, shownPath: string, inputs?: InputLog): Promise<ManifestReadResult> {
  const fail = (code: string, message: string, hint: string = FIX_HINT): ManifestReadResult => ({
    ok: false,
    problems: [{ code, message: `${shownPath}: ${message}`, hint, path: shownPath }],
  });

  let raw: Buffer;
  try {
    const st = await fsp.stat(manifestPath);
    if (!st.isFile()) return fail('MANIFEST_UNREADABLE', 'is not a regular file', 'replace it with a regular package.json file');
    if (st.size > MAX_MANIFEST_BYTES) {
      return fail(
        'MANIFEST_TOO_LARGE',
        `is ${st.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit for a manifest`,
        'a package.json should be a few KiB; remove the generated or pasted content from it',
      );
    }
    raw = await fsp.readFile(manifestPath);
    inputs?.file(manifestPath, raw);
    // The file may have grown between stat and read; the limit must hold for what was read.
    if (raw.length > MAX_MANIFEST_BYTES) return fail('MANIFEST_TOO_LARGE', `is over the ${MAX_MANIFEST_BYTES}-byte limit for a manifest`, 'a package.json should be a few KiB');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('MANIFEST_UNREADABLE', 'is a broken symbolic link or vanished while reading', 'point the link at an existing package.json or remove the folder from the workspace');
    return fail('MANIFEST_UNREADABLE', `cannot be read (${code ?? String(err)})`, 'check the file permissions');
  }

  const isJson = path.basename(manifestPath) === 'package.json';
  if (isJson) {
    let text = raw.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return fail('MANIFEST_PARSE_ERROR', raw.length === 0 ? 'is empty' : 'holds no JSON (only a byte-order mark or white space)');
    try {
      JSON.parse(text);
    } catch (err) {
      return fail('MANIFEST_PARSE_ERROR', `is not valid JSON: ${describeJsonError(err, text)}`);
    }
    const dups = findDuplicateKeys(text);
    if (dups.length > 0) {
      return {
        ok: false,
        problems: dups.map((d) => ({
          code: 'MANIFEST_DUPLICATE_KEY',
          message: `${shownPath}: key ${formatKeyPath(d.objectPath, d.key)} appears twice (lines ${d.firstLine} and ${d.line}); JSON parsers keep only the last one`,
          hint: 'merge the two entries into one; the first one is silently ignored by pnpm and node',
          path: shownPath,
        })),
      };
    }
  }

  let manifest: unknown;
  try {
    manifest = (await readExactProjectManifest(manifestPath)).manifest;
  } catch (err) {
    if (!isObjectLike(err)) return fail('MANIFEST_PARSE_ERROR', String(err));
    // read-project-manifest dereferences the parsed value before checking it: `null` ends up here.
    if (err instanceof TypeError) return fail('MANIFEST_NOT_OBJECT', 'must hold a JSON object, not null');
    const msg = err instanceof Error ? (err.message.split('\n')[0] ?? '').replace(` in ${manifestPath}`, '') : String(err);
    return fail('MANIFEST_PARSE_ERROR', `cannot be parsed: ${msg}`);
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    const what = manifest === null ? 'null' : Array.isArray(manifest) ? 'an array' : `a ${typeof manifest}`;
    return fail('MANIFEST_NOT_OBJECT', `must hold a JSON object, not ${what}`);
  }
  const problems = checkShape(manifest as Record<string, unknown>, shownPath);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, manifest: manifest as Manifest };
}

/** The fields the closure and the packer read must have the types the Manifest type promises. */
function checkShape(m: Record<string, unknown>, shownPath: string): Problem[] {
  const problems: Problem[] = [];
  const add = (message: string): void => {
    problems.push({ code: 'MANIFEST_INVALID', message: `${shownPath}: ${message}`, hint: FIX_HINT, path: shownPath });
  };
  for (const key of ['name', 'version'] as const) {
    if (m[key] !== undefined && typeof m[key] !== 'string') add(`"${key}" must be a string, found ${typeName(m[key])}`);
  }
  for (const field of DEP_FIELDS) {
    const deps = m[field];
    if (deps === undefined) continue;
    if (deps === null || typeof deps !== 'object' || Array.isArray(deps)) {
      add(`"${field}" must be an object of package name -> specifier, found ${typeName(deps)}`);
      continue;
    }
    for (const [dep, spec] of Object.entries(deps)) {
      if (typeof spec !== 'string') add(`"${field}"."${dep}" must be a string specifier, found ${typeName(spec)}`);
    }
  }
  return problems;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function isObjectLike(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** V8 reports a character offset; people need a line and a column. */
function describeJsonError(err: unknown, text: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /at position (\d+)/.exec(msg);
  let where = '';
  if (m) {
    const pos = Number(m[1]);
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    where = ` (line ${line}, column ${col})`;
  } else if (/Unexpected end of JSON input/.test(msg)) {
    where = ` (line ${text.split('\n').length}, at the end of the file)`;
  }
  const firstLine = (msg.split('\n')[0] ?? msg).replace(/ in JSON at position \d+.*$/, '').replace(/ at position \d+.*$/, '');
  return `${firstLine}${where}`;
}
