import { describe, expect, it } from 'vitest';
import { editJsonText, parseJsonText } from '../../src/core/rewrite/edit-json-text.js';
import { detectTextFormat } from '../../src/core/rewrite/text-format.js';

describe('editJsonText keeps the user’s formatting', () => {
  const cases: { name: string; text: string }[] = [
    { name: 'two spaces, LF', text: '{\n  "name": "a",\n  "files": ["dist"],\n  "dependencies": {\n    "x": "workspace:*"\n  }\n}\n' },
    { name: 'tabs', text: '{\n\t"name": "a",\n\t"dependencies": {\n\t\t"x": "workspace:*"\n\t}\n}\n' },
    { name: 'CRLF', text: '{\r\n  "name": "a",\r\n  "dependencies": {\r\n    "x": "workspace:*"\r\n  }\r\n}\r\n' },
    { name: 'BOM and four spaces', text: '\ufeff{\n    "name": "a",\n    "dependencies": {\n        "x": "workspace:*"\n    }\n}\n' },
    { name: 'no final newline', text: '{\n  "name": "a",\n  "dependencies": {\n    "x": "workspace:*"\n  }\n}' },
  ];

  for (const c of cases) {
    it(`${c.name}: changes only the edited value and adds overrides in the same style`, () => {
      const out = editJsonText(c.text, [
        { path: ['dependencies', 'x'], value: 'file:../.docker-deps/x-1.0.0.tgz' },
        { path: ['pnpm', 'overrides', 'x'], value: 'file:../.docker-deps/x-1.0.0.tgz' },
      ]);
      const before = detectTextFormat(c.text);
      const after = detectTextFormat(out);
      expect(after).toEqual(before);
      // Undoing both edits gives back the original bytes: nothing else in the file moved.
      const undone = editJsonText(editJsonText(out, [{ path: ['pnpm'], value: undefined }]), [{ path: ['dependencies', 'x'], value: 'workspace:*' }]);
      expect(undone).toBe(c.text);
      expect(out.split(before.eol).join('').includes('\n')).toBe(false);
      const parsed = parseJsonText(out).value as { dependencies: Record<string, string>; pnpm: { overrides: Record<string, string> } };
      expect(parsed.dependencies.x).toBe('file:../.docker-deps/x-1.0.0.tgz');
      expect(parsed.pnpm.overrides.x).toBe('file:../.docker-deps/x-1.0.0.tgz');
      if (!before.eol.includes('\r')) expect(out).not.toContain('\r');
      expect(out.startsWith('\ufeff')).toBe(before.bom);
    });
  }

  it('keeps an inline array exactly as written', () => {
    const text = '{\n  "files": ["dist", "bin"],\n  "dependencies": { "x": "workspace:^" }\n}\n';
    const out = editJsonText(text, [{ path: ['dependencies', 'x'], value: '^1.0.0' }]);
    expect(out).toBe('{\n  "files": ["dist", "bin"],\n  "dependencies": { "x": "^1.0.0" }\n}\n');
  });

  it('restores exactly when edited back', () => {
    const text = '{\r\n\t"dependencies": {\r\n\t\t"x": "workspace:*",\r\n\t\t"y": "1.0.0"\r\n\t}\r\n}\r\n';
    const out = editJsonText(text, [{ path: ['dependencies', 'x'], value: 'file:x.tgz' }]);
    expect(editJsonText(out, [{ path: ['dependencies', 'x'], value: 'workspace:*' }])).toBe(text);
  });
});
