/** One `key=value` line of an npmrc, after `${VAR}` expansion. */
export interface NpmrcEntry {
  key: string;
  value: string;
  /** Where the line came from: a path, or `env:<VARIABLE>` for npm_config_* variables. */
  file: string;
  /** 1-based; 0 for the environment. */
  line: number;
  /** Names of `${VAR}` references that were not set (left as written in the value). */
  unset: string[];
  /** Whether the value came (at least partly) from `${VAR}` expansion, i.e. it is not a literal in the file. */
  expanded: boolean;
}

export interface UnsetVariable {
  name: string;
  file: string;
  line: number;
  key: string;
}

// npm's and pnpm's env-replace: `${VAR}`, optionally `${VAR:-default}`; a backslash escapes the `$`.
const ENV_REF = /(\\*)\$\{([^${}]+)\}/g;

/**
 * Expands `${VAR}` the way npm and pnpm do. Unlike npm (which throws), an unset variable is reported
 * and its reference left in place, so the caller can say which file and line needs it.
 */
export function expandEnv(text: string, env: Record<string, string | undefined>): { value: string; unset: string[]; expanded: boolean } {
  const unset: string[] = [];
  let expanded = false;
  const value = text.replace(ENV_REF, (whole, slashes: string, body: string) => {
    // An odd number of backslashes escapes the reference; the escaping backslash is dropped.
    if (slashes.length % 2 === 1) return slashes.slice((slashes.length - 1) / 2 + 1) + whole.slice(slashes.length);
    const prefix = slashes.slice(slashes.length / 2);
    const sep = body.indexOf(':-');
    const name = sep >= 0 ? body.slice(0, sep) : body;
    const fallback = sep >= 0 ? body.slice(sep + 2) : undefined;
    const v = env[name];
    if (v !== undefined && v !== '') {
      expanded = true;
      return prefix + v;
    }
    if (fallback !== undefined) {
      expanded = true;
      return prefix + fallback;
    }
    unset.push(name);
    return prefix + '${' + body + '}';
  });
  return { value, unset, expanded };
}

/**
 * Parses npmrc text as npm's `ini` reader does for the keys that matter here: `key=value` lines,
 * `;`/`#` comments, optional quotes. Keys inside an `[section]` are not top-level npm config and are
 * skipped, as npm effectively does. Both keys and values are `${VAR}`-expanded.
 */
export function parseNpmrc(text: string, file: string, env: Record<string, string | undefined>): { entries: NpmrcEntry[]; unset: UnsetVariable[] } {
  const entries: NpmrcEntry[] = [];
  const unsetVars: UnsetVariable[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  let inSection = false;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    if (/^\[.*\]$/.test(line)) {
      inSection = true;
      return;
    }
    if (inSection) return;
    const eq = line.indexOf('=');
    const rawKey = (eq < 0 ? line : line.slice(0, eq)).trim();
    const rawValue = eq < 0 ? 'true' : unquote(line.slice(eq + 1).trim());
    if (rawKey === '' || rawKey.endsWith('[]')) return;
    const k = expandEnv(rawKey, env);
    const v = expandEnv(rawValue, env);
    const unset = [...k.unset, ...v.unset];
    for (const name of unset) unsetVars.push({ name, file, line: i + 1, key: k.value });
    entries.push({ key: k.value, value: v.value, file, line: i + 1, unset, expanded: v.expanded });
  });
  return { entries, unset: unsetVars };
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) {
    if (v.startsWith('"')) {
      try {
        const parsed: unknown = JSON.parse(v);
        if (typeof parsed === 'string') return parsed;
      } catch {
        // not valid JSON: fall through to a plain strip, as ini does
      }
    }
    return v.slice(1, -1);
  }
  // ini strips an unquoted trailing comment only after whitespace.
  return v.replace(/\s+[;#].*$/, '');
}

/**
 * npm_config_* / NPM_CONFIG_* variables as npmrc entries, the way npm maps them: the prefix is
 * case-insensitive, `_` (but a leading one) becomes `-` and the key is lower-cased, except for
 * `//host/:...` keys which are taken as written; empty values are ignored.
 */
export function npmrcFromEnv(env: Record<string, string | undefined>): NpmrcEntry[] {
  const out: NpmrcEntry[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '' || !/^npm_config_/i.test(name)) continue;
    const rest = name.slice('npm_config_'.length);
    if (rest === '') continue;
    // Exactly @npmcli/config's mapping: a leading `_` stays (`_auth`), nerf-darted keys are untouched.
    const key = rest.startsWith('//') ? rest : rest.replace(/(?!^)_/g, '-').toLowerCase();
    out.push({ key, value, file: `env:${name}`, line: 0, unset: [], expanded: true });
  }
  // Deterministic order; NPM_CONFIG_X and npm_config_x both set is npm-undefined, lower-case wins here.
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
