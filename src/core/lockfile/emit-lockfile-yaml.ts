/**
 * pnpm-lock.yaml text, byte-identical to what pnpm's writer (`@pnpm/lockfile.fs`: sortLockfileKeys,
 * then @zkochan/js-yaml with blankLines/noRefs/lineWidth -1) produces for the same LockfileFile, but
 * without its generic dumper and deep key sorting, which cost most of a second on 5,000 packages.
 * The rules below are ported from that dumper for the shapes lockfiles have; anything outside them
 * (multi-line or non-printable strings, keys over 1024 chars, unusual values) throws
 * `UnsupportedLockfileShape` so the caller can fall back to pnpm's writer.
 */
export class UnsupportedLockfileShape extends Error {}

type Json = string | number | boolean | null | undefined | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const ORDERED_KEYS: Record<string, number> = {
  resolution: 1,
  id: 2,
  name: 3,
  version: 4,
  engines: 5,
  cpu: 6,
  os: 7,
  libc: 8,
  deprecated: 9,
  hasBin: 10,
  prepare: 11,
  requiresBuild: 12,
  bundleDependencies: 13,
  peerDependencies: 14,
  peerDependenciesMeta: 15,
  dependencies: 16,
  optionalDependencies: 17,
  transitivePeerDependencies: 18,
  dev: 19,
  optional: 20,
};
const ROOT_KEYS = ['lockfileVersion', 'settings', 'catalogs', 'overrides', 'packageExtensionsChecksum', 'pnpmfileChecksum', 'patchedDependencies', 'importers', 'packages'];
const ROOT_ORDER: Record<string, number> = Object.fromEntries(ROOT_KEYS.map((k, i) => [k, i]));
const SINGLE_LINE_KEYS = new Set(['cpu', 'engines', 'os', 'libc']);

const lex = (a: string, b: string): number => (a > b ? 1 : a < b ? -1 : 0);
const byPriority =
  (priority: Record<string, number>) =>
  (a: string, b: string): number => {
    const pa = priority[a];
    const pb = priority[b];
    if (pa !== undefined && pb !== undefined) return pa - pb;
    if (pa !== undefined) return -1;
    if (pb !== undefined) return 1;
    return lex(a, b);
  };
const rootCompare = byPriority(ROOT_ORDER);
const entryCompare = byPriority(ORDERED_KEYS);

function isObj(v: Json): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** How the keys of a mapping (and, when deep, of everything below it) are ordered on output. */
interface Order {
  compare: ((a: string, b: string) => number) | null;
  deep: boolean;
}
const NONE: Order = { compare: null, deep: false };

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;
const isArrayIndex = (k: string): boolean => ARRAY_INDEX.test(k) && Number(k) < 4294967295;

/**
 * pnpm sorts into a new object, and JavaScript enumerates integer-like keys ("1") first, in numeric
 * order, whatever the insertion order: the written file has them first too.
 */
function keysOf(o: Obj, order: Order): string[] {
  const keys = Object.keys(o);
  if (!order.compare) return keys;
  keys.sort(order.compare);
  if (!keys.some(isArrayIndex)) return keys;
  return [...keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isArrayIndex(k))];
}

/**
 * The order pnpm's sortLockfileKeys gives each part of the file: importers, packages, snapshots,
 * catalogs, time and patchedDependencies by name, entries deep by priority, the root by ROOT_KEYS.
 */
function rootChildOrders(key: string): { self: Order; child: Order } {
  switch (key) {
    case 'importers':
      return { self: { compare: lex, deep: false }, child: { compare: rootCompare, deep: true } };
    case 'packages':
    case 'snapshots':
      return { self: { compare: lex, deep: false }, child: { compare: entryCompare, deep: true } };
    case 'catalogs':
      return { self: { compare: lex, deep: false }, child: { compare: lex, deep: true } };
    case 'time':
    case 'patchedDependencies':
      return { self: { compare: lex, deep: false }, child: NONE };
    default:
      return { self: NONE, child: NONE };
  }
}

/** Emits a LockfileFile object as pnpm's writer would (sorting keys on the way, copying nothing). */
export function emitLockfileYaml(lockfile: Obj): string {
  return blockMapping(lockfile, 0, true, true, { compare: rootCompare, deep: false }, true) + '\n';
}

const INDENTS: string[] = [];
function nextLine(level: number, doubleLine: boolean): string {
  const indent = (INDENTS[level] ??= ' '.repeat(2 * level));
  return (doubleLine ? '\n\n' : '\n') + indent;
}

function blockMapping(o: Obj, level: number, compact: boolean, doubleLine: boolean, order: Order, isRoot = false, childOrder: Order = order.deep ? order : NONE): string {
  let out = '';
  for (const key of keysOf(o, order)) {
    const value = o[key];
    if (value === undefined) continue;
    let pair = !compact || out !== '' ? nextLine(level, doubleLine) : '';
    const k = scalar(key, true);
    if (k.length > 1024) throw new UnsupportedLockfileShape('key longer than 1024 characters');
    pair += k;
    let v: string;
    if (isRoot && isObj(value)) {
      const { self, child } = rootChildOrders(key);
      v = Object.keys(value).length === 0 ? '{}' : blockMapping(value, level + 1, false, key === 'packages' || key === 'importers' || key === 'snapshots', self, false, child);
    } else v = node(value, level + 1, key, childOrder);
    pair += v.charCodeAt(0) === 10 ? ':' : ': ';
    out += pair + v;
  }
  return out === '' ? '{}' : out;
}

function node(value: Json, level: number, key: string, order: Order): string {
  if (typeof value === 'string') return scalar(value, true);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new UnsupportedLockfileShape('non-integer number');
    return String(value);
  }
  if (Array.isArray(value)) {
    if (value.length === 0 || SINGLE_LINE_KEYS.has(key)) return flowSequence(value, order);
    let out = '';
    for (const item of value) {
      if (typeof item !== 'string') throw new UnsupportedLockfileShape('non-string array item');
      out += nextLine(level, false) + '- ' + scalar(item, true);
    }
    return out;
  }
  if (isObj(value)) {
    const res = value as { type?: unknown };
    const singleLine = SINGLE_LINE_KEYS.has(key) || (key === 'resolution' && res.type !== 'variations' && res.type !== 'binary');
    if (Object.keys(value).length === 0 || singleLine) return flowMapping(value, order);
    const doubleLine = key === 'packages' || key === 'importers' || key === 'snapshots';
    return blockMapping(value, level, false, doubleLine, order);
  }
  throw new UnsupportedLockfileShape(`value of type ${value === null ? 'null' : typeof value}`);
}

function flowValue(value: Json, order: Order): string {
  if (typeof value === 'string') return scalar(value, false);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (Array.isArray(value)) return flowSequence(value, order);
  if (isObj(value)) return flowMapping(value, order);
  throw new UnsupportedLockfileShape('unsupported flow value');
}

function flowSequence(items: Json[], order: Order): string {
  return '[' + items.map((v) => flowValue(v, order)).join(', ') + ']';
}

function flowMapping(o: Obj, order: Order): string {
  let out = '';
  for (const key of keysOf(o, order)) {
    if (o[key] === undefined) continue;
    const k = scalar(key, false);
    if (k.length > 1024) throw new UnsupportedLockfileShape('key longer than 1024 characters');
    out += (out === '' ? '' : ', ') + k + ': ' + flowValue(o[key], order.deep ? order : NONE);
  }
  return '{' + out + '}';
}

/** js-yaml's chooseScalarStyle for single-line strings: plain when safe and unambiguous, else single-quoted. */
// Strings made only of these characters are plain-safe in block and flow context alike (first
// character not an indicator, no `: `, ` #`, flow punctuation or trailing colon): the common case.
const FAST_PLAIN = /^[A-Za-z0-9_./~^+(][A-Za-z0-9_./~^+()=@:-]*$/;

/** `inblock`: the string sits in block context (flow punctuation allowed unquoted). */
function scalar(s: string, inblock: boolean): string {
  if (s.length === 0) return "''";
  if (FAST_PLAIN.test(s) && s.charCodeAt(s.length - 1) !== 0x3a) return isAmbiguous(s) ? `'${s}'` : s;
  let plain = isPlainSafeFirst(s.charCodeAt(0)) && isPlainSafeLast(s.charCodeAt(s.length - 1));
  let prev = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Surrogates, line breaks and non-printables take the dumper's other styles: leave them to it.
    if (c === 10 || c >= 0xd800 || !isPrintable(c)) throw new UnsupportedLockfileShape('string needs a block or double-quoted style');
    if (plain) plain = isPlainSafe(c, prev, inblock);
    prev = c;
  }
  if (plain && !isAmbiguous(s)) return s;
  return "'" + s.replace(/'/g, "''") + "'";
}

function isPrintable(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || (c >= 0xa1 && c <= 0xd7ff && c !== 0x2028 && c !== 0x2029) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isNsCharOrWhitespace(c: number): boolean {
  return isPrintable(c) && c !== 0xfeff && c !== 0x0d && c !== 0x0a;
}

function isPlainSafe(c: number, prev: number, inblock: boolean): boolean {
  const nsOrWs = isNsCharOrWhitespace(c);
  const ns = nsOrWs && !isWhitespace(c);
  return (
    ((inblock ? nsOrWs : nsOrWs && c !== 0x2c && c !== 0x5b && c !== 0x5d && c !== 0x7b && c !== 0x7d) && c !== 0x23 && !(prev === 0x3a && !ns)) ||
    (prev !== -1 && isNsCharOrWhitespace(prev) && !isWhitespace(prev) && c === 0x23) ||
    (prev === 0x3a && ns)
  );
}

function isPlainSafeFirst(c: number): boolean {
  return (
    isPrintable(c) &&
    c !== 0xfeff &&
    !isWhitespace(c) &&
    // - ? : , [ ] { } # & * ! | = > ' " % @ `
    ![0x2d, 0x3f, 0x3a, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x23, 0x26, 0x2a, 0x21, 0x7c, 0x3d, 0x3e, 0x27, 0x22, 0x25, 0x40, 0x60].includes(c)
  );
}

function isPlainSafeLast(c: number): boolean {
  return !isWhitespace(c) && c !== 0x3a;
}

const FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const DATE = /^([0-9][0-9][0-9][0-9])-([0-9][0-9])-([0-9][0-9])$/;
const TIMESTAMP =
  /^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?$/;

/** Would the string read back as null, bool, int, float, timestamp or merge (js-yaml's default schema)? */
function isAmbiguous(s: string): boolean {
  if (s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return true;
  if (s === 'true' || s === 'True' || s === 'TRUE' || s === 'false' || s === 'False' || s === 'FALSE') return true;
  if (s === '<<') return true;
  if (isYamlInt(s)) return true;
  if (FLOAT.test(s) && s[s.length - 1] !== '_') return true;
  return DATE.test(s) || TIMESTAMP.test(s);
}

function isYamlInt(data: string): boolean {
  const max = data.length;
  let index = 0;
  let hasDigits = false;
  let ch = data[index];
  if (ch === '-' || ch === '+') ch = data[++index];
  if (ch === '0') {
    if (index + 1 === max) return true;
    ch = data[++index];
    const radix = ch === 'b' ? /[01]/ : ch === 'x' ? /[0-9a-fA-F]/ : ch === 'o' ? /[0-7]/ : null;
    if (radix) {
      index++;
      for (; index < max; index++) {
        ch = data[index]!;
        if (ch === '_') continue;
        if (!radix.test(ch)) return false;
        hasDigits = true;
      }
      return hasDigits && ch !== '_';
    }
  }
  if (ch === '_') return false;
  for (; index < max; index++) {
    ch = data[index];
    if (ch === '_') continue;
    if (!(ch! >= '0' && ch! <= '9')) return false;
    hasDigits = true;
  }
  return hasDigits && ch !== '_';
}
