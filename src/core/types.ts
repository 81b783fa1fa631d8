/** Domain types shared across the core. Kept free of I/O so every layer can import them cheaply. */

export type DepField = 'dependencies' | 'devDependencies' | 'optionalDependencies' | 'peerDependencies';
export const DEP_FIELDS: readonly DepField[] = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

export interface Manifest {
  name?: string;
  version?: string;
  main?: string;
  module?: string;
  types?: string;
  typings?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  files?: string[];
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  publishConfig?: Record<string, unknown>;
  packageManager?: string;
  pnpm?: { overrides?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** Catalog name -> (package name -> range). The unnamed `catalog:` of pnpm-workspace.yaml is `default`. */
export type Catalogs = Record<string, Record<string, string>>;

export interface WorkspaceProject {
  /** Absolute real path of the project folder. */
  dir: string;
  /** Folder relative to the repo root, POSIX separators ('' for the root, '../common_plat/packages/db' outside). */
  relDir: string;
  manifestPath: string;
  manifest: Manifest;
  /** Whether the folder lies inside the repo root (the Docker context). */
  inside: boolean;
}

export interface Workspace {
  /** Absolute real path of the folder that holds pnpm-workspace.yaml: the Docker context. */
  root: string;
  workspaceFile: string;
  packageGlobs: string[];
  catalogs: Catalogs;
  projects: WorkspaceProject[];
  byName: Map<string, WorkspaceProject>;
}

export interface ClosureEdge {
  /** Package name of the requester, or the target's relDir for a target. */
  from: string;
  to: string;
  field: DepField;
  specifier: string;
  /** The range requested after resolving `workspace:`/`catalog:` forms (`workspace:^` -> `^1.2.0`), as a registry would have to satisfy it. */
  range?: string;
  /** The dependency key when it differs from the package name (`workspace:name@range` and `npm:` aliases). */
  alias?: string;
  /** Whether the requester is a target (`from` is then its relDir) rather than a packed package. */
  fromTarget?: boolean;
}

export interface Closure {
  targets: WorkspaceProject[];
  /** Every workspace package the targets need (transitively), sorted by name. */
  packages: WorkspaceProject[];
  edges: ClosureEdge[];
  /** Each cycle once, as package names in order, for reporting; cycles are legal in pnpm. */
  cycles: string[][];
}

export interface PackedFile {
  /** Path inside the package, POSIX, without the `package/` prefix. */
  path: string;
  size: number;
  mode: number;
}

export interface PackedPackage {
  name: string;
  version: string;
  /** `<scope>-<name>-<version>.tgz`, e.g. `scope-db-2.0.1.tgz`. */
  fileName: string;
  /** Absolute path of the tarball in the content cache (outside the repo). */
  cachePath: string;
  sha256: string;
  /** `sha512-<base64>` of the tarball bytes, as lockfiles record it. */
  integrity: string;
  size: number;
  unpackedSize: number;
  files: PackedFile[];
  /** The manifest as written into the tarball (workspace:/catalog: resolved, publishConfig applied). */
  manifest: Manifest;
  fromCache: boolean;
}

/** One file the plan wants written (created or replaced) in the repo. */
export interface PlannedWrite {
  /** Absolute path inside the repo root. */
  path: string;
  contents: Buffer;
  /** Mode for the written file; an existing file keeps its mode when omitted. */
  mode?: number;
  role: 'manifest' | 'workspace' | 'lockfile' | 'tarball' | 'patch' | 'other';
}
