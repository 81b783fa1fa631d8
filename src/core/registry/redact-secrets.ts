/** What replaces a secret in any output. */
export const REDACTED = '***';

/**
 * Replaces every occurrence of every secret in `text`. Longest secrets first, so that a token that
 * contains another secret is not left half-visible. Secrets shorter than 3 characters are not
 * replaced: they cannot be told apart from ordinary text, and no real token is that short.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  // Belt and braces: whatever a server or a library echoes, an Authorization value never survives.
  return out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`);
}

/** `redactSecrets` applied to every string inside a JSON-like value (objects, arrays), returning a copy. */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactSecrets(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[redactSecrets(k, secrets)] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
