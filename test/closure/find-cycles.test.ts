import { describe, expect, it } from 'vitest';
import { findCycles } from '../../src/core/closure/find-cycles.js';

const graphOf = (edges: Record<string, string[]>) => (n: string) => edges[n] ?? [];

describe('findCycles', () => {
  it('reports each cycle once, rotated to its smallest node', () => {
    const edges = { c: ['a'], a: ['b'], b: ['c', 'b'], d: ['e'], e: [] };
    expect(findCycles(Object.keys(edges), graphOf(edges))).toEqual([['a', 'b', 'c'], ['b']]);
  });

  it('finds a cycle through every strongly connected component of a graph with shared nodes', () => {
    const edges = { a: ['b'], b: ['a', 'c'], c: ['b'], x: ['y'], y: ['x'] };
    const cycles = findCycles(Object.keys(edges), graphOf(edges));
    expect(cycles).toContainEqual(['a', 'b']);
    expect(cycles).toContainEqual(['b', 'c']);
    expect(cycles).toContainEqual(['x', 'y']);
  });

  it('walks a 100k-node chain closing into a ring without overflowing the stack', () => {
    const n = 100_000;
    const name = (i: number) => `p${String(i).padStart(6, '0')}`;
    const nodes = Array.from({ length: n }, (_, i) => name(i));
    const cycles = findCycles(nodes, (node) => [name((Number(node.slice(1)) + 1) % n)]);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(n);
    expect(cycles[0]![0]).toBe(name(0));
  });

  it('returns nothing for a DAG', () => {
    const edges = { a: ['b', 'c'], b: ['d'], c: ['d'], d: [] };
    expect(findCycles(Object.keys(edges), graphOf(edges))).toEqual([]);
  });
});
