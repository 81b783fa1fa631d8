import { describe, expect, it } from 'vitest';
import { HOOK_MARKERS } from '../../src/core/guard/guard-hook-lines.js';
import { createWithBlock, findBlock, removeBlock, upsertBlock } from '../../src/core/guard/marked-block.js';
import { createOutMatcher } from '../../src/core/guard/out-matcher.js';
import { scanReferences } from '../../src/core/guard/scan-references.js';

describe('output-folder references', () => {
  const m = createOutMatcher('/repo/app', ['.docker-deps']);

  it.each([
    ['file:../.docker-deps/scope-a-1.0.0.tgz', 'backend'],
    ['file:../../.docker-deps/a.tgz', 'apps/x'],
    ['file:./.docker-deps/a.tgz', ''],
    ['link:../.docker-deps/a', 'web'],
    ['npm:@scope/a@file:../.docker-deps/a.tgz', 'web'],
    ['@scope/a@file:../.docker-deps/a.tgz(react@18.2.0)', 'web'],
    ['file:/repo/app/.docker-deps/a.tgz', 'web'],
    ['file:///repo/app/.docker-deps/a.tgz', 'web'],
    ['file:..\\.docker-deps\\a.tgz', 'web'],
    ['../.docker-deps/a.tgz', 'web'],
  ])('%s in %s points into the output folder', (value, dir) => {
    expect(m.match(value, dir)).toBe('.docker-deps');
  });

  it.each([
    ['rm -rf .docker-deps', ''],
    ['file:../vendor/a.tgz', 'web'],
    ['file:.docker-deps/a.tgz', 'web'], // web/.docker-deps is not the root's output folder
    ['workspace:*', 'web'],
    ['^1.2.3', 'web'],
    ['dist/index.js', ''],
    ['file:/elsewhere/.docker-deps/a.tgz', 'web'],
  ])('%s in %s does not', (value, dir) => {
    expect(m.match(value, dir)).toBeNull();
  });

  it('honours a custom output folder and an absolute --out', () => {
    const custom = createOutMatcher('/repo/app', ['/repo/app/vendor/deps/']);
    expect(custom.outs).toEqual(['vendor/deps']);
    expect(custom.match('file:../vendor/deps/a.tgz', 'backend')).toBe('vendor/deps');
    expect(custom.match('file:../.docker-deps/a.tgz', 'backend')).toBeNull();
    expect(custom.needles).toEqual(['deps']);
  });

  it('names keys in JSON and YAML, and lines in text that does not parse', async () => {
    const json = '{\n  "dependencies": {"@scope/a": "file:../.docker-deps/a.tgz", "ms": "^2"},\n  "pnpm": {"overrides": {"@scope/b@1": "file:../.docker-deps/b.tgz"}}\n}\n';
    expect(await scanReferences(json, 'json', 'backend', m)).toEqual([
      { key: 'dependencies["@scope/a"]', value: 'file:../.docker-deps/a.tgz', isKey: false },
      { key: 'pnpm.overrides["@scope/b@1"]', value: 'file:../.docker-deps/b.tgz', isKey: false },
    ]);
    const yaml = "overrides:\n  '@scope/a': file:../.docker-deps/a.tgz\ncatalog:\n  ms: ^2\n";
    expect(await scanReferences(yaml, 'yaml', 'backend', m)).toEqual([{ key: 'overrides["@scope/a"]', value: 'file:../.docker-deps/a.tgz', isKey: false }]);
    const conflicted = '{\n<<<<<<< HEAD\n  "a": "workspace:*"\n=======\n  "a": "file:../.docker-deps/a.tgz"\n>>>>>>> pack\n}\n';
    expect(await scanReferences(conflicted, 'json', 'backend', m)).toEqual([{ key: 'line 5', value: '"a": "file:../.docker-deps/a.tgz"', isKey: false }]);
    expect(await scanReferences('\ufeff{"a": "file:../.docker-deps/a.tgz"}', 'json', 'web', m)).toHaveLength(1);
    expect(await scanReferences('{"a": "workspace:*"}', 'json', 'web', m)).toEqual([]);
  });
});

describe('marked blocks', () => {
  const body = ['echo guard'];

  it('inserts after the shebang and husky bootstrap, replaces in place, removes exactly', () => {
    const hook = '#!/bin/sh\n. "$(dirname -- "$0")/_/husky.sh"\nnpx lint-staged\nexit 0\n';
    const header = (line: string, i: number): boolean => (i === 0 && line.startsWith('#!')) || line.includes('husky.sh');
    const once = upsertBlock(hook, HOOK_MARKERS, body, 'top', header);
    expect(once.split('\n').slice(0, 3)).toEqual(['#!/bin/sh', '. "$(dirname -- "$0")/_/husky.sh"', expect.stringMatching(/^# >>> docker-prep guard >>>/)]);
    expect(once.endsWith('# <<< docker-prep guard <<<\nnpx lint-staged\nexit 0\n')).toBe(true);
    expect(upsertBlock(once, HOOK_MARKERS, body, 'top', header)).toBe(once);
    const updated = upsertBlock(once, HOOK_MARKERS, ['echo guard v2'], 'top', header);
    expect(updated).toBe(once.replace('echo guard\n', 'echo guard v2\n'));
    expect(removeBlock(updated, HOOK_MARKERS)).toEqual({ text: hook, deleteFile: false });
  });

  it('keeps CRLF, a BOM and a missing final newline, and undoes all of it', () => {
    const text = '\ufeffnode_modules\r\ndist';
    const added = upsertBlock(text, HOOK_MARKERS, body, 'end');
    expect(added.startsWith('\ufeffnode_modules\r\ndist\r\n# >>> docker-prep guard >>>')).toBe(true);
    expect(added.replace(/\r\n/g, '')).not.toContain('\n');
    expect(findBlock(added, HOOK_MARKERS)?.addedNewline).toBe(true);
    expect(removeBlock(added, HOOK_MARKERS)).toEqual({ text, deleteFile: false });
  });

  it('deletes a file it created only while nothing else was added to it', () => {
    const created = createWithBlock(HOOK_MARKERS, body, ['#!/bin/sh']);
    expect(removeBlock(created, HOOK_MARKERS, ['#!/bin/sh'])).toEqual({ text: '#!/bin/sh\n', deleteFile: true });
    const extended = created + 'echo mine\n';
    expect(removeBlock(extended, HOOK_MARKERS, ['#!/bin/sh'])).toEqual({ text: '#!/bin/sh\necho mine\n', deleteFile: false });
    expect(removeBlock('echo mine\n', HOOK_MARKERS)).toBeNull();
  });
});
