import { createPeerDepGraphHash } from '@pnpm/dependency-path';
import semver from 'semver';

/**
 * One package in the flattened graph, before peer resolution. Its non-peer children are fixed (they
 * come from the workspace lockfile or from a packed manifest); only the peer suffix of its dep path
 * depends on where it sits in the tree, so that is all this module computes.
 */
export interface GraphNode {
  /** Unique per node (a packed tarball id, or the workspace dep path of an external variant). */
  key: string;
  /** The dep path without peer suffix (`name@version`, with `(patch_hash=...)` when patched). */
  pkgId: string;
  name: string;
  version: string;
  children: Map<string, GraphNode>;
  optionalChildren: Set<string>;
  peers: Record<string, { range: string; optional: boolean }>;
  /**
   * Where the workspace resolved a peer that nothing around the package provided: pnpm auto-installs
   * such a peer next to the importer, so it resolves from outside and shows in every suffix above.
   */
  fallbackPeers?: Map<string, GraphNode>;
}

export interface PeerSettings {
  dedupePeers: boolean;
  peersSuffixMaxLength: number;
}

/** A package placed in the tree: the node plus the names its subtree's peers resolve against. */
interface Ref {
  id: number;
  node: GraphNode;
  ctx: Map<string, Ref>;
}

interface Resolution {
  depPath: string;
  /** Peers resolved from outside the node (propagate to the parent), by peer name. */
  resolvedPeers: Map<string, Ref>;
  missingPeers: Map<string, { range: string; optional: boolean }>;
  transitivePeerDependencies: string[];
  childRefs: Map<string, Ref>;
  /** The node's own peers that resolved, by peer name (written as dependencies of the snapshot). */
  ownPeerRefs: Map<string, Ref>;
}

export interface ResolvedSnapshot {
  depPath: string;
  node: GraphNode;
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
  transitivePeerDependencies: string[];
}

export interface MissingPeer {
  /** The package that declares the peer, and the chain of packages that leads to it. */
  path: string[];
  peer: string;
  range: string;
}

export interface PeerResolutionResult {
  importer: Map<string, string>;
  snapshots: Map<string, ResolvedSnapshot>;
  /** Non-optional peers nothing above provides: pnpm would auto-install them from a registry. */
  missing: MissingPeer[];
  /** Two placements produced one dep path with different dependencies. */
  conflicts: string[];
}

/**
 * pnpm's peer resolution (resolvePeers.ts) over a fixed graph: a node's own peers resolve against
 * its parent's children, its own children and everything above; peers its children resolve from
 * outside the node propagate up into the node's suffix. Packages without peers anywhere below them
 * are "pure" and keep their plain id, which keeps the common case linear.
 */
export function resolvePeers(direct: Map<string, GraphNode>, settings: PeerSettings): PeerResolutionResult {
  const peerNames = computeSubtreePeerNames(direct);
  let rootCtx: Map<string, Ref> = EMPTY;
  const resolutions = new Map<number, Resolution | 'busy'>();
  let nextId = 1;

  // Refs are interned per node, keyed by the ids of what the node's subtree can look up.
  const refsByNode = new Map<GraphNode, Map<string, Ref> | Ref>();
  const intern = (node: GraphNode, ctx: Map<string, Ref>): Ref => {
    const names = peerNames.get(node)!;
    if (names.length === 0) {
      let ref = refsByNode.get(node) as Ref | undefined;
      if (!ref) refsByNode.set(node, (ref = { id: nextId++, node, ctx: EMPTY }));
      return ref;
    }
    let byKey = refsByNode.get(node) as Map<string, Ref> | undefined;
    if (!byKey) refsByNode.set(node, (byKey = new Map()));
    let key = '';
    for (const n of names) key += `${ctx.get(n)?.id ?? ''},`;
    let ref = byKey.get(key);
    if (!ref) {
      // Keep only what the subtree can look up: small contexts, stable memo keys.
      const own = new Map<string, Ref>();
      for (const n of names) {
        const r = ctx.get(n);
        if (r) own.set(n, r);
      }
      ref = { id: nextId++, node, ctx: own };
      byKey.set(key, ref);
    }
    return ref;
  };

  /**
   * The context a node's children (and the node's own peers) resolve against: the parent's context
   * plus the node's children, visible under their alias and their real name. A child's placement
   * depends on its siblings' placements (react-dom needs react next to it), so iterate to a fixed
   * point; acyclic peer relations settle in as many rounds as the longest peer chain.
   */
  const childCtxCache = new Map<GraphNode, Map<string, Map<string, Ref>>>();
  function childContext(node: GraphNode, base: Map<string, Ref>): Map<string, Ref> {
    const names = peerNames.get(node)!;
    if (names.length === 0) return EMPTY;
    let byKey = childCtxCache.get(node);
    if (!byKey) childCtxCache.set(node, (byKey = new Map()));
    let cacheKey = '';
    for (const n of names) cacheKey += `${base.get(n)?.id ?? ''},`;
    const hit = byKey.get(cacheKey);
    if (hit) return hit;
    const nameSet = new Set(names);
    const ctx = new Map<string, Ref>();
    for (const n of names) {
      const r = base.get(n);
      if (r) ctx.set(n, r);
    }
    byKey.set(cacheKey, ctx);
    const providers: [string, GraphNode][] = [];
    for (const [alias, child] of node.children) {
      if (nameSet.has(alias) || (alias !== child.name && nameSet.has(child.name))) providers.push([alias, child]);
    }
    for (let round = 0; round <= providers.length + 1; round++) {
      const placed = new Map<string, { ref: Ref; aliased: boolean }>();
      for (const [alias, child] of providers) {
        const ref = intern(child, ctx);
        const put = (name: string, aliased: boolean): void => {
          if (!nameSet.has(name)) return;
          const existing = placed.get(name);
          // pnpm's updateParentRefs: an unaliased child wins; between aliases the higher version.
          if (existing && !existing.aliased) return;
          if (existing && aliased && semverGte(existing.ref.node.version, ref.node.version)) return;
          placed.set(name, { ref, aliased });
        };
        put(alias, false);
        if (alias !== child.name) put(child.name, true);
      }
      let changed = false;
      for (const [n, { ref }] of placed) {
        if (ctx.get(n) !== ref) {
          ctx.set(n, ref);
          changed = true;
        }
      }
      if (!changed) break;
    }
    return ctx;
  }

  const resolve = (ref: Ref): Resolution | null => {
    const done = resolutions.get(ref.id);
    if (done === 'busy') return null;
    if (done) return done;
    const { node } = ref;
    if (peerNames.get(node)!.length === 0) {
      const childRefs = new Map<string, Ref>();
      for (const [alias, child] of node.children) childRefs.set(alias, intern(child, EMPTY));
      const pure: Resolution = {
        depPath: node.pkgId,
        resolvedPeers: new Map(),
        missingPeers: new Map(),
        transitivePeerDependencies: [],
        childRefs,
        ownPeerRefs: new Map(),
      };
      resolutions.set(ref.id, pure);
      return pure;
    }
    resolutions.set(ref.id, 'busy');
    const ctx = childContext(node, ref.ctx);
    const childRefs = new Map<string, Ref>();
    const fromChildren = new Map<string, Ref>();
    const missingOfChildren = new Map<string, { range: string; optional: boolean }>();
    for (const [alias, child] of node.children) {
      const cref = intern(child, ctx);
      childRefs.set(alias, cref);
      const r = resolve(cref);
      if (!r) continue; // a dependency cycle: pnpm truncates the repeated subtree the same way
      for (const [n, p] of r.resolvedPeers) fromChildren.set(n, p);
      for (const [n, m] of r.missingPeers) missingOfChildren.set(n, m);
    }
    const all = new Map<string, Ref>();
    for (const [n, p] of fromChildren) if (!node.children.has(n)) all.set(n, p);
    const ownPeerRefs = new Map<string, Ref>();
    const missing = new Map(missingOfChildren);
    for (const [peer, meta] of Object.entries(node.peers)) {
      const fallback = node.fallbackPeers?.get(peer);
      const p = ctx.get(peer) ?? (fallback ? intern(fallback, rootCtx) : undefined);
      if (p) {
        ownPeerRefs.set(peer, p);
        all.set(peer, p);
      } else missing.set(peer, meta);
    }
    all.delete(node.name);

    let depPath = node.pkgId;
    if (all.size > 0) {
      const ids: string[] = [];
      for (const [, p] of all) {
        if (settings.dedupePeers || p.id === ref.id) ids.push(`${p.node.name}@${p.node.version}`);
        else {
          const pr = resolve(p);
          // A peer that is still being resolved is a peer cycle: pnpm falls back to name@version.
          ids.push(pr ? pr.depPath : `${p.node.name}@${p.node.version}`);
        }
      }
      depPath = `${node.pkgId}${createPeerDepGraphHash(ids, settings.peersSuffixMaxLength)}`;
    }
    const transitive = new Set<string>();
    for (const n of all.keys()) if (!node.peers[n]) transitive.add(n);
    for (const n of missingOfChildren.keys()) if (!node.peers[n]) transitive.add(n);
    const res: Resolution = {
      depPath,
      resolvedPeers: all,
      missingPeers: missing,
      transitivePeerDependencies: [...transitive].sort(),
      childRefs,
      ownPeerRefs,
    };
    resolutions.set(ref.id, res);
    return res;
  };

  // The importer: its direct dependencies are each other's peer providers.
  const rootNode: GraphNode = { key: '\0importer', pkgId: '.', name: '\0importer', version: '0.0.0', children: direct, optionalChildren: new Set(), peers: {} };
  peerNames.set(rootNode, [...new Set([...direct.values()].flatMap((c) => peerNames.get(c)!))].sort());
  rootCtx = childContext(rootNode, EMPTY);

  const result: PeerResolutionResult = { importer: new Map(), snapshots: new Map(), missing: [], conflicts: [] };
  // Breadth-first over placed packages; `parent` indexes the queue, for the path in messages.
  const queue: { ref: Ref; parent: number }[] = [];
  const seen = new Set<number>();
  const pathTo = (qi: number): string[] => {
    const out: string[] = [];
    for (let i = qi; i !== -1; i = queue[i]!.parent) out.unshift(queue[i]!.ref.node.name);
    return out;
  };
  for (const [alias, child] of direct) {
    const ref = intern(child, rootCtx);
    const r = resolve(ref)!;
    result.importer.set(alias, r.depPath);
    queue.push({ ref, parent: -1 });
  }
  // Peers a direct dependency misses are missing at the importer level too.
  for (let qi = 0, n = queue.length; qi < n; qi++) checkMissing(queue[qi]!.ref, [], rootCtx);

  for (let qi = 0; qi < queue.length; qi++) {
    const { ref } = queue[qi]!;
    if (seen.has(ref.id)) continue;
    seen.add(ref.id);
    const r = resolve(ref)!;
    const dependencies: Record<string, string> = {};
    const optionalDependencies: Record<string, string> = {};
    const place = (alias: string, target: Ref, optional: boolean): void => {
      const tr = resolve(target);
      const depPath = tr ? tr.depPath : target.node.pkgId;
      const refText = depPathToRef(depPath, alias, target.node.name);
      if (optional) optionalDependencies[alias] = refText;
      else dependencies[alias] = refText;
      if (!seen.has(target.id)) queue.push({ ref: target, parent: qi });
    };
    for (const [alias, cref] of r.childRefs) place(alias, cref, ref.node.optionalChildren.has(alias));
    for (const [peer, pref] of r.ownPeerRefs) place(peer, pref, ref.node.peers[peer]?.optional === true);
    if (r.childRefs.size > 0 && peerNames.get(ref.node)!.length > 0) {
      const ctx = childContext(ref.node, ref.ctx);
      for (const [, cref] of r.childRefs) if (Object.keys(cref.node.peers).length > 0) checkMissing(cref, pathTo(qi), ctx);
    }

    const snap: ResolvedSnapshot = { depPath: r.depPath, node: ref.node, dependencies, optionalDependencies, transitivePeerDependencies: r.transitivePeerDependencies };
    const prev = result.snapshots.get(r.depPath);
    if (!prev) result.snapshots.set(r.depPath, snap);
    else if (!sameDeps(prev, snap)) result.conflicts.push(r.depPath);
  }
  return result;

  // pnpm auto-installs a missing non-optional peer from the registry before it resolves peers; the
  // provider has to be in the parent's context (the node's own children do not count there).
  function checkMissing(ref: Ref, path: string[], parentCtx: Map<string, Ref>): void {
    for (const [peer, meta] of Object.entries(ref.node.peers)) {
      if (meta.optional || parentCtx.has(peer) || ref.node.fallbackPeers?.has(peer)) continue;
      result.missing.push({ path: [...path, ref.node.name], peer, range: meta.range });
    }
  }
}

const EMPTY = new Map<string, Ref>();

function sameDeps(a: ResolvedSnapshot, b: ResolvedSnapshot): boolean {
  return JSON.stringify([a.dependencies, a.optionalDependencies]) === JSON.stringify([b.dependencies, b.optionalDependencies]);
}

function semverGte(a: string, b: string): boolean {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  return va && vb ? semver.gte(va, vb) : a >= b;
}

/** pnpm's depPathToRef: `1.0.0` for `foo@1.0.0` under alias foo, the full dep path under another alias. */
export function depPathToRef(depPath: string, alias: string, realName: string): string {
  if (alias === realName && depPath.startsWith(`${realName}@`)) return depPath.slice(realName.length + 1);
  return depPath;
}

/** Peer names used anywhere in each node's subtree (own peers plus those of all descendants). */
function computeSubtreePeerNames(direct: Map<string, GraphNode>): Map<GraphNode, string[]> {
  const all: GraphNode[] = [];
  const parents = new Map<GraphNode, GraphNode[]>();
  const visited = new Set<GraphNode>();
  const stack = [...direct.values()];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (visited.has(n)) continue;
    visited.add(n);
    all.push(n);
    for (const c of n.children.values()) {
      let ps = parents.get(c);
      if (!ps) parents.set(c, (ps = []));
      ps.push(n);
      stack.push(c);
    }
    // Auto-installed peer providers sit at the importer, not below this node.
    if (n.fallbackPeers) for (const f of n.fallbackPeers.values()) stack.push(f);
  }
  const sets = new Map<GraphNode, Set<string>>();
  const work: GraphNode[] = [];
  for (const n of all) {
    const s = new Set(Object.keys(n.peers));
    sets.set(n, s);
    if (s.size > 0) work.push(n);
  }
  while (work.length > 0) {
    const n = work.pop()!;
    const s = sets.get(n)!;
    for (const p of parents.get(n) ?? []) {
      const ps = sets.get(p)!;
      let grew = false;
      for (const name of s) {
        if (!ps.has(name)) {
          ps.add(name);
          grew = true;
        }
      }
      if (grew) work.push(p);
    }
  }
  const out = new Map<GraphNode, string[]>();
  for (const [n, s] of sets) out.set(n, [...s].sort());
  return out;
}
