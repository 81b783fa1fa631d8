import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PlannedWrite } from '../../src/core/types.js';

/** A small repo tree and a plan over it that exercises every kind of journal entry. */
export interface PlanTree {
  base: string;
  root: string;
  outside: string;
  writes: PlannedWrite[];
  cleanup(): void;
}

export function makePlanTree(): PlanTree {
  const base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'dp-txn-')));
  const root = path.join(base, 'repo');
  const outside = path.join(base, 'outside');
  const w = (rel: string, text: string | Buffer, mode?: number): void => {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    if (mode !== undefined) chmodSync(abs, mode);
  };
  mkdirSync(outside, { recursive: true });
  writeFileSync(path.join(outside, 'package.json'), '{"name":"outside"}\n');
  w('pnpm-workspace.yaml', 'packages:\n  - svc\n');
  w('svc/package.json', '\ufeff{\r\n  "name": "svc",\r\n  "dependencies": {\r\n    "a": "workspace:*"\r\n  }\r\n}\r\n');
  w('svc/run.sh', '#!/bin/sh\necho old\n', 0o755);
  w('secret.txt', 'only owner\n', 0o600);
  // A manifest that is a symlink to a file inside the repo: the write must land in the target.
  w('shared/real.json', '{\n\t"name": "real"\n}\n');
  symlinkSync('../shared/real.json', path.join(root, 'svc', 'linked.json'));
  const p = (rel: string): string => path.join(root, rel);
  const writes: PlannedWrite[] = [
    { path: p('.docker-deps/a-1.0.0.tgz'), contents: Buffer.alloc(70_000, 7), role: 'tarball' },
    { path: p('.docker-deps/b-2.0.0.tgz'), contents: Buffer.from('tarball b'), role: 'tarball' },
    { path: p('svc/package.json'), contents: Buffer.from('\ufeff{\r\n  "name": "svc",\r\n  "dependencies": {\r\n    "a": "file:../.docker-deps/a-1.0.0.tgz"\r\n  }\r\n}\r\n'), role: 'manifest' },
    { path: p('svc/run.sh'), contents: Buffer.from('#!/bin/sh\necho new\n'), role: 'other' },
    { path: p('secret.txt'), contents: Buffer.from('rewritten\n'), role: 'other' },
    { path: p('svc/linked.json'), contents: Buffer.from('{\n\t"name": "real",\n\t"x": 1\n}\n'), role: 'manifest' },
    { path: p('deep/er/new.yaml'), contents: Buffer.from('overrides: {}\n'), mode: 0o640, role: 'workspace' },
  ];
  return { base, root, outside, writes, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
