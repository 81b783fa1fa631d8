/**
 * The file name `pnpm pack` gives a tarball: the first `@` dropped and the first `/` turned into `-`,
 * then `-<version>.tgz`. `'@scope/db', '2.0.1'` -> `scope-db-2.0.1.tgz`.
 */
export function tarballFileName(name: string, version: string): string {
  return `${name.replace('@', '').replace('/', '-')}-${version}.tgz`;
}
