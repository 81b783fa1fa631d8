import type { Writable } from 'node:stream';

/**
 * Progress on a terminal, and only once work has taken over a second: fast runs stay silent, and
 * pipes and --json never see control characters.
 */
export function createProgress(stream: Writable, enabled: boolean, now: () => number = Date.now) {
  const started = now();
  let shown = false;
  return {
    update(e: { done: number; total: number; name: string }): void {
      if (!enabled || now() - started < 1000) return;
      shown = true;
      stream.write(`\r\x1b[Kpacking ${e.done}/${e.total} ${e.name}`);
    },
    done(): void {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
