import type { OutMatcher } from './out-matcher.js';

/** One place in a file that points into an output folder. */
export interface Reference {
  /** Where, e.g. `dependencies["@scope/auth"]`, `overrides["@scope/db"]`, or `line 12` for unparsed text. */
  key: string;
  /** The offending string (for a key hit, the key itself). */
  value: string;
  /** The hit is an object key (lockfile `packages` entries), not a value. */
  isKey: boolean;
}

export type ScannedKind = 'json' | 'yaml' | 'text';

/** Which files the guard reads, and how. */
export function scanKindFor(fileName: string): ScannedKind | null {
  switch (fileName) {
    case 'package.json':
    case 'package-lock.json':
    case 'npm-shrinkwrap.json':
      return 'json';
    case 'pnpm-workspace.yaml':
    case 'pnpm-lock.yaml':
      return 'yaml';
    case 'yarn.lock':
      return 'text';
    default:
      return null;
  }
}

/**
 * Lists every reference into an output folder in one file's text. Structured files are walked so the
 * message can name the key; text that does not parse (a conflict marker, yarn.lock) is scanned by line.
 */
export async function scanReferences(text: string, kind: ScannedKind, fileDir: string, matcher: OutMatcher): Promise<Reference[]> {
  if (!matcher.mayReference(text)) return [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let doc: unknown;
  let parsed = false;
  if (kind === 'json') {
    try {
      doc = JSON.parse(body);
      parsed = true;
    } catch {
      // scanned as text below
    }
  } else if (kind === 'yaml') {
    // Loaded only here: most commits never reach this line, and the guard must start fast.
    const { parse } = (await import('yaml')).default;
    try {
      doc = parse(body, { uniqueKeys: false, maxAliasCount: -1, logLevel: 'error' });
      parsed = true;
    } catch {
      // scanned as text below
    }
  }
  return parsed ? walk(doc, fileDir, matcher) : scanLines(body, fileDir, matcher);
}

function walk(doc: unknown, fileDir: string, matcher: OutMatcher): Reference[] {
  const refs: Reference[] = [];
  const visit = (node: unknown, keyPath: (string | number)[]): void => {
    if (typeof node === 'string') {
      if (matcher.match(node, fileDir)) refs.push({ key: formatKeyPath(keyPath), value: node, isKey: false });
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, [...keyPath, i]));
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (matcher.match(k, fileDir)) refs.push({ key: formatKeyPath([...keyPath, k]), value: k, isKey: true });
        visit(v, [...keyPath, k]);
      }
    }
  };
  visit(doc, []);
  return refs;
}

const TOKEN_SEPARATORS = /[\s'"`,;{}[\]()<>=]+/;

function scanLines(text: string, fileDir: string, matcher: OutMatcher): Reference[] {
  const refs: Reference[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (!matcher.mayReference(line)) return;
    for (const raw of line.split(TOKEN_SEPARATORS)) {
      const token = raw.replace(/:$/, '');
      if (token && matcher.match(token, fileDir)) {
        const trimmed = line.trim();
        refs.push({ key: `line ${i + 1}`, value: trimmed.length > 160 ? trimmed.slice(0, 157) + '...' : trimmed, isKey: false });
        return;
      }
    }
  });
  return refs;
}

/** `dependencies["@scope/auth"]`, `pnpm.overrides["@scope/db"]`, `packages[0]`. */
export function formatKeyPath(keyPath: (string | number)[]): string {
  let out = '';
  for (const k of keyPath) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(k)) out += out === '' ? k : `.${k}`;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out || '(document)';
}
