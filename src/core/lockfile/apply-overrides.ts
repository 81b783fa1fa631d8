import path from 'node:path';
import semver from 'semver';

/**
 * pnpm's `overrides` as its read-package hook applies them, reimplemented because the flattened
 * lockfile has to record exactly what pnpm would record after the hook ran: importer specifiers are
 * written post-override, and pnpm 9 and 10+ differ in how overrides touch `peerDependencies`.
 */
export interface ParsedOverride {
  selector: string;
  parent?: { name: string; range?: string };
  target: { name: string; range?: string };
  newSpec: string;
  /** Set when the new specifier is `file:`/`link:`: pnpm turns it into a path per package. */
  local?: { protocol: 'file:' | 'link:'; absolutePath: string; relative: boolean };
}

export interface DepsManifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

// pnpm: a `>` that is not part of a range (`foo@>1`) separates the parent selector from the target.
const DELIMITER = /[^ |@]>/;
const NAME = /^(?:@[a-z0-9-*~][a-z0-9-*._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/i;

export function parseOverrideSelector(selector: string): Pick<ParsedOverride, 'parent' | 'target'> | null {
  const idx = selector.search(DELIMITER);
  if (idx !== -1) {
    const parent = parsePkgSelector(selector.slice(0, idx + 1));
    const target = parsePkgSelector(selector.slice(idx + 2));
    return parent && target ? { parent, target } : null;
  }
  const target = parsePkgSelector(selector);
  return target ? { target } : null;
}

function parsePkgSelector(raw: string): { name: string; range?: string } | null {
  const at = raw.indexOf('@', 1);
  if (at !== -1) {
    const name = raw.slice(0, at);
    return NAME.test(name) ? { name, range: raw.slice(at + 1) } : null;
  }
  return NAME.test(raw) ? { name: raw } : null;
}

/** `rootDir` anchors relative `file:`/`link:` overrides (the folder holding the config: the lockfile dir). */
export function parseOverrides(overrides: Record<string, string>, rootDir: string): { parsed: ParsedOverride[]; invalid: string[] } {
  const parsed: ParsedOverride[] = [];
  const invalid: string[] = [];
  for (const [selector, newSpec] of Object.entries(overrides)) {
    const sel = parseOverrideSelector(selector);
    if (!sel) {
      invalid.push(selector);
      continue;
    }
    const o: ParsedOverride = { selector, ...sel, newSpec };
    const protocol = newSpec.startsWith('file:') ? 'file:' : newSpec.startsWith('link:') ? 'link:' : null;
    if (protocol) {
      const p = newSpec.slice(protocol.length);
      const relative = !path.isAbsolute(p);
      o.local = { protocol, absolutePath: relative ? path.join(rootDir, p) : p, relative };
    }
    parsed.push(o);
  }
  return { parsed, invalid };
}

function isIntersectingRange(range1: string | undefined, range2: string): boolean {
  if (!range1 || range2 === range1) return true;
  if (semver.validRange(range2) == null || semver.validRange(range1) == null) return false;
  return semver.intersects(range2, range1);
}

/** pnpm's `isValidPeerRange`: overrides replace a peer range only with something that is one. */
export function isValidPeerRange(version: string): boolean {
  return typeof semver.validRange(version) === 'string' || version.includes('workspace:') || version.includes('catalog:');
}

/** pnpm sorts candidates so that the narrowest selector range wins. */
function pickMostSpecific(candidates: ParsedOverride[]): ParsedOverride | undefined {
  return [...candidates].sort((a, b) => (isIntersectingRange(b.target.range ?? '', a.target.range ?? '') ? -1 : 1))[0];
}

export function findOverride(parsed: ParsedOverride[], parent: { name?: string; version?: string }, depName: string, spec: string): ParsedOverride | undefined {
  const withParent = parsed.filter(
    (o) => o.parent && o.parent.name === parent.name && (!o.parent.range || (parent.version !== undefined && semver.satisfies(parent.version, o.parent.range))),
  );
  const generic = parsed.filter((o) => !o.parent);
  const match = (list: ParsedOverride[]): ParsedOverride[] => list.filter((o) => o.target.name === depName && isIntersectingRange(o.target.range, spec));
  return pickMostSpecific(match(withParent)) ?? pickMostSpecific(match(generic));
}

/** The specifier a dependency gets from an override; `dir` is the package folder (projects only). */
export function overriddenSpec(o: ParsedOverride, dir: string | undefined): string {
  if (!o.local) return o.newSpec;
  if (o.local.relative && dir !== undefined) return `${o.local.protocol}${path.relative(dir, o.local.absolutePath).split(path.sep).join('/')}`;
  return `${o.local.protocol}${o.local.absolutePath}`;
}

/**
 * Applies overrides to a manifest the way pnpm `major` does (returns a copy). pnpm 9 rewrites peer
 * ranges too; pnpm 10+ replaces a peer range only with a valid range and otherwise adds the override
 * to `dependencies` (which the resolver then drops again when auto-install-peers is on).
 */
export function applyOverrides<T extends DepsManifest>(manifest: T, parsed: ParsedOverride[], major: number, dir: string | undefined): T {
  if (parsed.length === 0) return manifest;
  const out: T = { ...manifest };
  for (const field of ['dependencies', 'optionalDependencies', 'devDependencies'] as const) {
    if (out[field]) out[field] = overrideDeps(parsed, out, { ...out[field] }, dir);
  }
  if (out.peerDependencies) {
    const peers = { ...out.peerDependencies };
    if (major < 10) {
      out.peerDependencies = overrideDeps(parsed, out, peers, dir);
    } else {
      const deps = { ...(out.dependencies ?? {}) };
      for (const [name, range] of Object.entries(peers)) {
        const o = findOverride(parsed, out, name, range);
        if (!o) continue;
        if (o.newSpec === '-') {
          delete peers[name];
          continue;
        }
        const next = overriddenSpec(o, dir);
        if (isValidPeerRange(next)) peers[name] = next;
        else deps[name] = next;
      }
      out.peerDependencies = peers;
      out.dependencies = deps;
    }
  }
  return out;
}

function overrideDeps(parsed: ParsedOverride[], pkg: DepsManifest, deps: Record<string, string>, dir: string | undefined): Record<string, string> {
  for (const [name, spec] of Object.entries(deps)) {
    const o = findOverride(parsed, pkg, name, spec);
    if (!o) continue;
    if (o.newSpec === '-') delete deps[name];
    else deps[name] = overriddenSpec(o, dir);
  }
  return deps;
}

/** pnpm replaces `$name` override values with the root manifest's specifier for `name`. */
export function replaceVersionReferences(overrides: Record<string, string>, manifest: DepsManifest): { overrides: Record<string, string>; unresolved: string[] } {
  const all = { ...manifest.devDependencies, ...manifest.dependencies, ...manifest.optionalDependencies };
  const out: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const [k, v] of Object.entries(overrides)) {
    if (v.startsWith('$')) {
      const ref = all[v.slice(1)];
      if (ref === undefined) unresolved.push(k);
      out[k] = ref ?? v;
    } else out[k] = v;
  }
  return { overrides: out, unresolved };
}
