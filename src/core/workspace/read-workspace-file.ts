import { promises as fsp } from 'node:fs';
import YAML, { isMap, isScalar, isSeq, LineCounter, type Node as YamlNode } from 'yaml';
import type { Problem } from '../errors.js';
import type { InputLog } from '../plan/input-log.js';
import type { Catalogs } from '../types.js';
import { MAX_MANIFEST_BYTES } from './max-manifest-bytes.js';
import { WORKSPACE_FILE } from './workspace-file-name.js';

export { WORKSPACE_FILE };

export interface WorkspaceFileContents {
  packageGlobs: string[];
  catalogs: Catalogs;
}

export type WorkspaceFileResult = { ok: true; value: WorkspaceFileContents } | { ok: false; problems: Problem[] };

const HINT = `fix ${WORKSPACE_FILE} (see https://pnpm.io/pnpm-workspace_yaml), then run docker-prep again`;

/**
 * Reads and validates pnpm-workspace.yaml with the rules pnpm's own reader applies
 * (@pnpm/workspace.read-manifest): `packages` a list of non-empty strings, `catalog` a map of
 * strings, `catalogs` a map of such maps, no default catalog defined twice. Other keys are settings
 * of pnpm 10/11 and are none of docker-prep's business. Errors carry line and column.
 */
export async function readWorkspaceFile(file: string, shownPath: string = WORKSPACE_FILE, inputs?: InputLog): Promise<WorkspaceFileResult> {
  const problems: Problem[] = [];
  const lineCounter = new LineCounter();
  const add = (message: string, node?: YamlNode | null): void => {
    const at = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
    const where = at ? `:${at.line}:${at.col}` : '';
    problems.push({ code: 'WORKSPACE_INVALID', message: `${shownPath}${where}: ${message}`, hint: HINT, path: shownPath });
  };

  let text: string;
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) {
      add('is not a regular file');
      return { ok: false, problems };
    }
    if (st.size > MAX_MANIFEST_BYTES) {
      problems.push({
        code: 'WORKSPACE_TOO_LARGE',
        message: `${shownPath}: is ${st.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`,
        hint: 'a workspace file should be a few KiB; remove the generated content from it',
        path: shownPath,
      });
      return { ok: false, problems };
    }
    text = await fsp.readFile(file, 'utf8');
    inputs?.file(file, text);
  } catch (err) {
    add(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return { ok: false, problems };
  }

  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      const where = pos ? `:${pos.line}:${pos.col}` : '';
      const reason = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      problems.push({ code: 'WORKSPACE_INVALID', message: `${shownPath}${where}: invalid YAML: ${reason}`, hint: HINT, path: shownPath });
    }
    return { ok: false, problems };
  }

  const root = doc.contents;
  // An empty file (or one holding only comments or a BOM) is a workspace of the root project alone, as in pnpm.
  if (root === null || (isScalar(root) && root.value === null)) return { ok: true, value: { packageGlobs: [], catalogs: {} } };
  if (!isMap(root)) {
    add(`must be a mapping (packages:, catalog:, ...), found ${isSeq(root) ? 'a list' : 'a scalar'}`, root);
    return { ok: false, problems };
  }

  // toJS resolves aliases; its alias-count limit stops "billion laughs" documents.
  let data: Record<string, unknown>;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  } catch (err) {
    add(`cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    return { ok: false, problems };
  }

  const packageGlobs: string[] = [];
  const packagesNode = root.get('packages', true) as YamlNode | undefined;
  const packages = data.packages;
  if (packages !== undefined && packages !== null) {
    if (!Array.isArray(packages)) {
      add(`"packages" must be a list of globs, found ${describe(packages)}`, packagesNode);
    } else {
      packages.forEach((p, i) => {
        const itemNode = isSeq(packagesNode) ? (packagesNode.items[i] as YamlNode | undefined) : undefined;
        if (typeof p !== 'string') add(`"packages" entry ${i + 1} must be a string glob, found ${describe(p)}`, itemNode);
        else if (p.trim() === '' || p.trim() === '!') add(`"packages" entry ${i + 1} is empty`, itemNode);
        else packageGlobs.push(p.trim());
      });
    }
  }

  const catalogs: Catalogs = {};
  const readCatalog = (value: unknown, label: string, node: YamlNode | undefined): Record<string, string> | null => {
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      add(`${label} must be a map of package name -> version range, found ${describe(value)}`, node);
      return null;
    }
    const out: Record<string, string> = {};
    for (const [dep, range] of Object.entries(value as Record<string, unknown>)) {
      const entryNode = isMap(node) ? (node.get(dep, true) as YamlNode | undefined) : undefined;
      if (typeof range !== 'string') add(`${label} entry "${dep}" must be a string version range, found ${describe(range)}`, entryNode ?? node);
      else out[dep] = range;
    }
    return out;
  };

  const catalogNode = root.get('catalog', true) as YamlNode | undefined;
  if (data.catalog !== undefined) {
    const c = readCatalog(data.catalog, '"catalog"', catalogNode);
    if (c) catalogs.default = c;
  }
  const catalogsNode = root.get('catalogs', true) as YamlNode | undefined;
  const named = data.catalogs;
  if (named !== undefined && named !== null) {
    if (typeof named !== 'object' || Array.isArray(named)) {
      add(`"catalogs" must be a map of catalog name -> catalog, found ${describe(named)}`, catalogsNode);
    } else {
      for (const [name, value] of Object.entries(named as Record<string, unknown>)) {
        const node = isMap(catalogsNode) ? (catalogsNode.get(name, true) as YamlNode | undefined) : undefined;
        if (name === 'default' && data.catalog !== undefined && data.catalog !== null) {
          add('the default catalog is defined twice ("catalog" and "catalogs.default"); pnpm refuses this', node);
          continue;
        }
        const c = readCatalog(value, `"catalogs.${name}"`, node);
        if (c) catalogs[name] = c;
      }
    }
  }

  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { packageGlobs, catalogs } };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}
