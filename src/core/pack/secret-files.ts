/**
 * Names that usually hold credentials: `.env*` (dotenv files, `.env.local`, ...), `*.pem` (keys and
 * certificates), `id_rsa*` (SSH keys) and `.npmrc` (registry tokens). Matched on the file's base name,
 * case-insensitively, so `dist/.env` and `config/Server.PEM` are caught too.
 */
const SECRET_NAME = /^(?:\.env.*|.*\.pem|id_rsa.*|\.npmrc)$/i;

/** The package-relative paths in `files` that look like secrets, in the order given. */
export function findSecretFiles(files: Iterable<string>): string[] {
  const found: string[] = [];
  for (const file of files) {
    const base = file.slice(file.lastIndexOf('/') + 1);
    if (SECRET_NAME.test(base)) found.push(file);
  }
  return found;
}
