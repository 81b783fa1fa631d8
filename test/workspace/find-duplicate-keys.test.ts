import { describe, expect, it } from 'vitest';
import { findDuplicateKeys, formatKeyPath } from '../../src/core/workspace/find-duplicate-keys.js';

describe('findDuplicateKeys', () => {
  it('finds nothing in a manifest without repeats, however keys recur in separate objects', () => {
    const text = JSON.stringify({ name: 'a', dependencies: { x: '1' }, devDependencies: { x: '1' }, list: [{ k: 1 }, { k: 2 }], s: 'has "quotes" and { braces } and \\"' }, null, 2);
    expect(findDuplicateKeys(text)).toEqual([]);
  });

  it('reports each repeat with its object path and both lines', () => {
    const text = '{\n  "a": 1,\n  "deps": {\n    "x": "1",\n    "y": "2",\n    "x": "3"\n  },\n  "list": [{ "k": 1, "k": 2 }],\n  "a": 2\n}';
    expect(findDuplicateKeys(text)).toEqual([
      { objectPath: ['deps'], key: 'x', firstLine: 4, line: 6 },
      { objectPath: ['list', '[]'], key: 'k', firstLine: 8, line: 8 },
      { objectPath: [], key: 'a', firstLine: 2, line: 9 },
    ]);
  });

  it('compares keys after unescaping, as JSON.parse does', () => {
    expect(findDuplicateKeys('{"name": 1, "\\u006eame": 2, "na\\"me": 3}').map((d) => d.key)).toEqual(['name']);
  });

  it('renders paths readably', () => {
    expect(formatKeyPath(['dependencies'], '@scope/db')).toBe('dependencies."@scope/db"');
    expect(formatKeyPath([], 'name')).toBe('name');
  });
});
