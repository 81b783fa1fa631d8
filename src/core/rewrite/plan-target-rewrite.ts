import path from 'node:path';
import { Document, isMap, parseDocument } from 'yaml';
import { resolveSpecifier } from '../closure/resolve-specifier.js';
import type { Problem } from '../errors.js';
import type { DepField, Manifest, PackedPackage, Workspace, WorkspaceProject } from '../types.js';
import { overridesLiveInWorkspaceYaml, type PnpmMajor } from './detect-pnpm-major.js';
import { editJsonText, parseJsonText, type JsonEdit } from './edit-json-text.js';
import { applyTextFormat, detectTextFormat } from './text-format.js';

export interface TargetRewriteInput {
  ws: Workspace;
  target: WorkspaceProject;
  /** Current text of the target's package.json. */
  manifestText: string;
  /** Current text of `<target>/pnpm-workspace.yaml`, or null when there is none. */
  workspaceYamlText: string | null;
  /** The packed closure. */
  packed: PackedPackage[];
  /** Absolute output folder. */
  outDir: string;
  pnpm: PnpmMajor;
  /** Overrides the workspace root applies to every project; in the image there is no root, so the target carries them. */
  inheritedOverrides: Record<string, string>;
  /**
   * Dependency keys that packed packages use as aliases of other packed packages (`"log":
   * "npm:@scope/logger@^1"`): pnpm matches overrides on the key, so each alias needs its own.
   */
  aliases: Record<string, string>;
  /**
   * Patches the target needs, as the flattened lockfile copied them (key -> path relative to the
   * target): the image has no workspace root to carry `patchedDependencies`, so the target does.
   */
  patchedDependencies?: Record<string, string>;
}

export interface SpecifierChange {
  field: DepField | 'overrides';
  name: string;
  from: string | null;
  to: string;
}

export interface TargetRewrite {
  target: WorkspaceProject;
  pnpm: PnpmMajor;
  manifestPath: string;
  manifestBefore: string;
  manifestAfter: string;
  /** The manifest as it reads after the rewrite. */
  manifest: Manifest;
  /** Set for pnpm 11+: the folder-level pnpm-workspace.yaml carrying the overrides (created when absent). */
  workspaceYaml: { path: string; before: string | null; after: string } | null;
  /** Every override the rewritten config holds, the user's included, as pnpm will read them. */
  overrides: Record<string, string>;
  changes: SpecifierChange[];
  problems: Problem[];
}

const REWRITTEN_FIELDS: DepField[] = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

/** Plans the rewrite of one target as text edits; pure, so dry-run and apply see the same bytes. */
export function planTargetRewrite(input: TargetRewriteInput): TargetRewrite {
  const { ws, target, packed, outDir } = input;
  const problems: Problem[] = [];
  const changes: SpecifierChange[] = [];
  const edits: JsonEdit[] = [];
  const manifestPath = target.manifestPath;
  const rel = path.relative(ws.root, manifestPath).split(path.sep).join('/');
  const byName = new Map(packed.map((p) => [p.name, p]));
  const tarballSpec = (p: PackedPackage): string => `file:${path.relative(target.dir, path.join(outDir, p.fileName)).split(path.sep).join('/')}`;

  const parsed = parseJsonText(input.manifestText);
  const manifest = parsed.value as Manifest;

  for (const field of REWRITTEN_FIELDS) {
    const deps = manifest[field];
    if (!deps) continue;
    for (const [name, spec] of Object.entries(deps)) {
      const res = resolveSpecifier(name, spec, ws, target.dir);
      let next: string | undefined;
      if (res.kind === 'error') {
        problems.push({ code: 'SPECIFIER_UNRESOLVED', message: `${rel}: ${res.message}`, hint: 'fix the specifier or the workspace catalogs', path: rel });
        continue;
      }
      if (res.kind === 'workspace') {
        const p = byName.get(res.project.manifest.name ?? '');
        if (p && field !== 'peerDependencies') next = tarballSpec(p);
        // A peer stays a range: the tarball arrives through the override, peers only constrain it.
        else next = res.exported;
      } else if (res.exported !== spec) {
        next = res.exported; // a catalog: specifier, resolved because the image has no workspace file
      }
      if (next !== undefined && next !== spec) {
        edits.push({ path: [field, name], value: next });
        changes.push({ field, name, from: spec, to: next });
      }
    }
  }

  // Overrides: the workspace's, then the target's own, then one per packed package (ours win, so no
  // transitive request for a sibling can reach a registry).
  const ours: Record<string, string> = {};
  for (const p of packed) ours[p.name] = tarballSpec(p);
  for (const [alias, name] of Object.entries(input.aliases)) {
    const p = byName.get(name);
    if (p && !(alias in ours)) ours[alias] = tarballSpec(p);
  }
  const inYaml = overridesLiveInWorkspaceYaml(input.pnpm.major);
  let workspaceYaml: TargetRewrite['workspaceYaml'] = null;
  let overrides: Record<string, string>;

  const patches = input.patchedDependencies ?? {};
  if (!inYaml) {
    const ownPatches = (manifest.pnpm?.patchedDependencies ?? {}) as Record<string, string>;
    for (const [key, value] of Object.entries(patches)) {
      if (ownPatches[key] === value) continue;
      edits.push({ path: ['pnpm', 'patchedDependencies', key], value });
    }
    const own = { ...(manifest.pnpm?.overrides ?? {}) };
    overrides = { ...input.inheritedOverrides, ...own, ...ours };
    for (const [key, value] of Object.entries(overrides)) {
      if (own[key] === value) continue;
      edits.push({ path: ['pnpm', 'overrides', key], value });
      changes.push({ field: 'overrides', name: key, from: own[key] ?? null, to: value });
    }
  } else {
    const yamlPath = path.join(target.dir, 'pnpm-workspace.yaml');
    const result = rewriteWorkspaceYaml(input.workspaceYamlText, input.inheritedOverrides, ours, patches, rel, problems);
    overrides = result.overrides;
    changes.push(...result.changes);
    workspaceYaml = { path: yamlPath, before: input.workspaceYamlText, after: result.text };
  }

  const manifestAfter = edits.length > 0 ? editJsonText(input.manifestText, edits) : input.manifestText;
  return {
    target,
    pnpm: input.pnpm,
    manifestPath,
    manifestBefore: input.manifestText,
    manifestAfter,
    manifest: parseJsonText(manifestAfter).value as Manifest,
    workspaceYaml,
    overrides,
    changes,
    problems,
  };
}

function rewriteWorkspaceYaml(
  before: string | null,
  inherited: Record<string, string>,
  ours: Record<string, string>,
  patches: Record<string, string>,
  label: string,
  problems: Problem[],
): { text: string; overrides: Record<string, string>; changes: SpecifierChange[] } {
  const format = before === null ? { bom: false, eol: '\n' as const, indent: '  ', finalNewline: true } : detectTextFormat(before);
  const doc = before === null ? new Document({}) : parseDocument(before.replace(/^\ufeff/, ''));
  if (doc.errors.length > 0) {
    problems.push({ code: 'WORKSPACE_INVALID', message: `${label}: the target's pnpm-workspace.yaml does not parse: ${doc.errors[0]!.message}`, hint: 'fix the YAML' });
  }
  const existing = doc.get('overrides');
  const own: Record<string, string> = isMap(existing) ? (existing.toJSON() as Record<string, string>) : {};
  const overrides = { ...inherited, ...own, ...ours };
  const changes: SpecifierChange[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    if (own[key] === value) continue;
    doc.setIn(['overrides', key], value);
    changes.push({ field: 'overrides', name: key, from: own[key] ?? null, to: value });
  }
  for (const [key, value] of Object.entries(patches)) doc.setIn(['patchedDependencies', key], value);
  const text = applyTextFormat(doc.toString({ lineWidth: 0 }), { ...format, bom: format.bom });
  return { text, overrides, changes };
}
