import type { Manifest } from '../types.js';

export interface PnpmMajor {
  major: number;
  /** Where the major came from, for the plan output: `backend/package.json packageManager`, ... */
  source: string;
}

/** pnpm 10 is the default when nothing pins a version: it reads overrides from package.json like 9. */
export const DEFAULT_PNPM_MAJOR = 10;

/**
 * The rule (documented in README): the target's `packageManager`, else the repo root's, else
 * `devEngines.packageManager` of either; `pnpm@<major>...` gives the major. Anything else: 10.
 */
export function detectPnpmMajor(candidates: { label: string; manifest: Manifest | undefined }[]): PnpmMajor {
  for (const { label, manifest } of candidates) {
    const pm = manifest?.packageManager;
    const m = typeof pm === 'string' ? /^pnpm@(\d+)/.exec(pm) : null;
    if (m) return { major: Number(m[1]), source: `${label} packageManager` };
  }
  for (const { label, manifest } of candidates) {
    const dev = (manifest?.devEngines as { packageManager?: { name?: string; version?: string } } | undefined)?.packageManager;
    const m = dev?.name === 'pnpm' && typeof dev.version === 'string' ? /(\d+)/.exec(dev.version) : null;
    if (m) return { major: Number(m[1]), source: `${label} devEngines.packageManager` };
  }
  return { major: DEFAULT_PNPM_MAJOR, source: 'default (no packageManager field)' };
}

/** pnpm 11 and later ignore the package.json `pnpm` field and read overrides from pnpm-workspace.yaml. */
export const overridesLiveInWorkspaceYaml = (major: number): boolean => major >= 11;
