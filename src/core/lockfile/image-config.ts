import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Manifest } from '../types.js';

/** The lockfile settings pnpm compares on a frozen install, with pnpm's defaults. */
export interface LockfileSettingsValues {
  autoInstallPeers: boolean;
  dedupePeers: boolean;
  excludeLinksFromLockfile: boolean;
  peersSuffixMaxLength: number;
  injectWorkspacePackages: boolean;
}

export const DEFAULT_SETTINGS: LockfileSettingsValues = {
  autoInstallPeers: true,
  dedupePeers: false,
  excludeLinksFromLockfile: false,
  peersSuffixMaxLength: 1000,
  injectWorkspacePackages: false,
};

/** What pnpm reads from one place of configuration, as far as the lockfile is concerned. */
export interface ConfigSource {
  settings: Partial<LockfileSettingsValues>;
  packageExtensions?: Record<string, unknown>;
  ignoredOptionalDependencies?: string[];
  patchedDependencies?: Record<string, string>;
}

async function readYamlFile(file: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return null;
  }
  const value: unknown = parseYaml(text.replace(/^\ufeff/, ''));
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function pickSource(obj: Record<string, unknown> | undefined | null): ConfigSource {
  const src: ConfigSource = { settings: {} };
  if (!obj) return src;
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof LockfileSettingsValues)[]) {
    const v = obj[key];
    if (v !== undefined) (src.settings as Record<string, unknown>)[key] = v;
  }
  if (obj.packageExtensions && typeof obj.packageExtensions === 'object') src.packageExtensions = obj.packageExtensions as Record<string, unknown>;
  if (Array.isArray(obj.ignoredOptionalDependencies)) src.ignoredOptionalDependencies = obj.ignoredOptionalDependencies as string[];
  if (obj.patchedDependencies && typeof obj.patchedDependencies === 'object') src.patchedDependencies = obj.patchedDependencies as Record<string, string>;
  return src;
}

function merge(...sources: ConfigSource[]): ConfigSource {
  const out: ConfigSource = { settings: {} };
  for (const s of sources) {
    Object.assign(out.settings, s.settings);
    if (s.packageExtensions) out.packageExtensions = s.packageExtensions;
    if (s.ignoredOptionalDependencies) out.ignoredOptionalDependencies = s.ignoredOptionalDependencies;
    if (s.patchedDependencies) out.patchedDependencies = s.patchedDependencies;
  }
  return out;
}

/**
 * The configuration pnpm sees inside the image: the Dockerfile copies only the target's
 * package.json, pnpm-lock.yaml and pnpm-workspace.yaml, so no root `.npmrc`, root manifest or
 * root workspace file. pnpm 9 reads the `pnpm` field of package.json; pnpm 10 also reads
 * pnpm-workspace.yaml (which wins); pnpm 11 reads only pnpm-workspace.yaml.
 */
export async function readImageConfig(targetDir: string, targetManifest: Manifest, major: number): Promise<ConfigSource> {
  const fromManifest = major <= 10 ? pickSource(targetManifest.pnpm as Record<string, unknown> | undefined) : { settings: {} };
  const yaml = major >= 10 ? await readYamlFile(path.join(targetDir, 'pnpm-workspace.yaml')) : null;
  // Settings such as autoInstallPeers never live in package.json#pnpm.
  fromManifest.settings = {};
  return merge(fromManifest, pickSource(yaml));
}

/** The configuration the workspace install saw at the repo root (for packageExtensions and patches). */
export async function readRootConfig(root: string): Promise<ConfigSource> {
  let manifest: Manifest | null = null;
  try {
    manifest = JSON.parse((await fsp.readFile(path.join(root, 'package.json'), 'utf8')).replace(/^\ufeff/, '')) as Manifest;
  } catch {
    manifest = null;
  }
  const fromManifest = pickSource(manifest?.pnpm as Record<string, unknown> | undefined);
  fromManifest.settings = {};
  return merge(fromManifest, pickSource(await readYamlFile(path.join(root, 'pnpm-workspace.yaml'))));
}

export function effectiveSettings(src: ConfigSource): LockfileSettingsValues {
  return { ...DEFAULT_SETTINGS, ...src.settings };
}

/** Deep equality for plain JSON data, insensitive to key order (pnpm hashes packageExtensions sorted). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}
