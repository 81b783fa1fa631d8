/** A key that appears more than once in one JSON object. */
export interface DuplicateKey {
  /** Keys from the document root to the object holding the duplicate, e.g. `["dependencies"]`. */
  objectPath: string[];
  key: string;
  /** 1-based lines of the first and the repeated occurrence. */
  firstLine: number;
  line: number;
}

/**
 * Finds repeated keys in JSON text that is already known to parse. `JSON.parse` keeps the last
 * occurrence silently (and pnpm does too), so a second `"dependencies"` block drops the first one
 * without a word; this scan is the only way to notice. Keys are compared after unescaping, as
 * JSON.parse compares them (`"a"` and `"\u0061"` are the same key).
 */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  interface Frame {
    kind: 'object' | 'array';
    keys: Map<string, number> | null;
    /** The key under which this container sits in its parent (for reporting). */
    name: string | null;
    /** For objects: whether the next string is a key. */
    expectKey: boolean;
    lastKey: string | null;
  }
  const stack: Frame[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;

  const pathOf = (): string[] => stack.slice(1).map((f) => f.name ?? '[]');

  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === '"') {
      const start = i;
      i++;
      while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        const key = JSON.parse(text.slice(start, i)) as string;
        const first = top.keys!.get(key);
        if (first !== undefined) found.push({ objectPath: [...pathOf()], key, firstLine: first, line });
        else top.keys!.set(key, line);
        top.lastKey = key;
        top.expectKey = false;
      }
      continue;
    }
    if (c === '{' || c === '[') {
      const parent = stack[stack.length - 1];
      const name = parent === undefined ? null : parent.kind === 'object' ? parent.lastKey : '[]';
      stack.push({ kind: c === '{' ? 'object' : 'array', keys: c === '{' ? new Map() : null, name, expectKey: c === '{', lastKey: null });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
    }
    i++;
  }
  return found;
}

/** `dependencies."@scope/db"` style rendering of where a duplicate sits. */
export function formatKeyPath(objectPath: string[], key: string): string {
  return [...objectPath, key].map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k))).join('.');
}
