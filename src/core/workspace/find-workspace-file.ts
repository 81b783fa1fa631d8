import path from 'node:path';
import { DockerPrepError } from '../errors.js';
import { pathExists } from '../fs/path-exists.js';
import { WORKSPACE_FILE } from './workspace-file-name.js';

/**
 * The nearest pnpm-workspace.yaml from `startDir` upward, as pnpm finds it. A `.yml` spelling is
 * reported instead of skipped: pnpm refuses it too, and walking past it would silently pick an
 * outer workspace as the Docker context.
 */
export async function findWorkspaceFile(startDir: string): Promise<string> {
  let dir = startDir;
  for (;;) {
    const candidate = path.join(dir, WORKSPACE_FILE);
    if (await pathExists(candidate, { followSymlinks: false })) return candidate;
    const misnamed = path.join(dir, 'pnpm-workspace.yml');
    if (await pathExists(misnamed, { followSymlinks: false })) {
      throw new DockerPrepError('WORKSPACE_INVALID', `${misnamed}: the workspace file must be named ${WORKSPACE_FILE}; pnpm ignores the .yml spelling`, {
        kind: 'config',
        hint: `rename it to ${WORKSPACE_FILE}`,
        problems: [{ code: 'WORKSPACE_INVALID', message: `${misnamed}: must be named ${WORKSPACE_FILE}`, hint: `rename it to ${WORKSPACE_FILE}`, path: misnamed }],
      });
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new DockerPrepError('NO_WORKSPACE', `no ${WORKSPACE_FILE} found in ${startDir} or any folder above it`, {
    kind: 'config',
    hint: `run docker-prep at the root of an app repo whose ${WORKSPACE_FILE} lists its projects and the outside packages (e.g. ../common_plat/packages/*), or pass --cwd`,
  });
}
