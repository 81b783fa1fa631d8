/** The one name pnpm reads a workspace from (it ignores `pnpm-workspace.yml`). */
export const WORKSPACE_FILE = 'pnpm-workspace.yaml';
