import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/cli/progress.js';

function sink(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  return { stream, text: () => out };
}

describe('progress on a terminal', () => {
  it('stays silent for work under a second, then shows and clears a progress line', () => {
    let now = 0;
    const s = sink();
    const p = createProgress(s.stream, true, () => now);
    now = 400;
    p.update({ done: 1, total: 20, name: '@scope/a' });
    expect(s.text()).toBe('');
    now = 1200;
    p.update({ done: 7, total: 20, name: '@scope/g' });
    expect(s.text()).toContain('packing 7/20 @scope/g');
    p.done();
    expect(s.text().endsWith('\r\x1b[K')).toBe(true);
  });

  it('never writes when disabled (pipes, --json)', () => {
    let now = 0;
    const s = sink();
    const p = createProgress(s.stream, false, () => now);
    now = 5000;
    p.update({ done: 1, total: 2, name: 'x' });
    p.done();
    expect(s.text()).toBe('');
  });
});
