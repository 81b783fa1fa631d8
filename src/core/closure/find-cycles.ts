/**
 * Cycles of a directed graph, each reported once (rotated to start at its smallest node), found by
 * one depth-first search: every back edge yields the cycle it closes. That is not every elementary
 * cycle (those can be exponentially many) but it names at least one cycle through every strongly
 * connected component, which is what a message needs, and it runs in O(nodes + edges).
 */
export function findCycles(nodes: Iterable<string>, successors: (node: string) => Iterable<string>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found = new Map<string, string[]>();

  const visit = (start: string): void => {
    // Explicit stack of iterators: a long dependency chain must not overflow the call stack.
    const work: Array<{ node: string; next: Iterator<string> }> = [{ node: start, next: successors(start)[Symbol.iterator]() }];
    state.set(start, 'open');
    stack.push(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const step = top.next.next();
      if (step.done) {
        state.set(top.node, 'done');
        stack.pop();
        work.pop();
        continue;
      }
      const to = step.value;
      const s = state.get(to);
      if (s === 'open') {
        const cycle = stack.slice(stack.lastIndexOf(to));
        const canonical = rotateToSmallest(cycle);
        found.set(canonical.join('\u0000'), canonical);
      } else if (s === undefined) {
        state.set(to, 'open');
        stack.push(to);
        work.push({ node: to, next: successors(to)[Symbol.iterator]() });
      }
    }
  };

  for (const n of [...nodes].sort()) if (!state.has(n)) visit(n);
  return [...found.values()].sort((a, b) => (a.join('\u0000') < b.join('\u0000') ? -1 : 1));
}

function rotateToSmallest(cycle: string[]): string[] {
  let best = 0;
  for (let i = 1; i < cycle.length; i++) if (cycle[i]! < cycle[best]!) best = i;
  return [...cycle.slice(best), ...cycle.slice(0, best)];
}
