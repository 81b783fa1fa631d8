import { chmodSync, existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { DockerPrepError } from '../../src/core/errors.js';
import type { Mutation, MutationHooks } from '../../src/core/fs/tree-writer.js';
import { applyPlan, type ApplyMeta } from '../../src/core/txn/apply-plan.js';
import { assertInsideRoot } from '../../src/core/txn/containment.js';
import { readJournalState } from '../../src/core/txn/journal.js';
import { detectDrift, recoverInterrupted } from '../../src/core/txn/recover.js';
import { restore } from '../../src/core/txn/restore.js';
import { makePlanTree, type PlanTree } from '../helpers/txn-tree.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const meta: ApplyMeta = { out: '.docker-deps', targets: ['svc'], packages: [], command: 'test' };
let tree: PlanTree;
afterEach(() => tree?.cleanup());

async function caught(p: Promise<unknown>): Promise<DockerPrepError> {
  try {
    await p;
  } catch (err) {
    return err as DockerPrepError;
  }
  throw new Error('expected a rejection');
}

/** Hooks that fail (like an I/O error) on the mutations `pick` selects. */
function failing(pick: (m: Mutation, n: number) => boolean): MutationHooks & { seen: Mutation[] } {
  const seen: Mutation[] = [];
  return {
    seen,
    before(m) {
      seen.push(m);
      if (pick(m, seen.length)) throw Object.assign(new Error(`EIO: injected, ${m.kind} ${m.path}`), { code: 'EIO' });
    },
  };
}

describe('applyPlan + restore', () => {
  test('apply then restore gives the pre-state byte for byte (content, mode, symlinks), nothing of docker-prep left', async () => {
    tree = makePlanTree();
    const before = snapshotTree(tree.base);
    const journal = await applyPlan(tree.root, tree.writes, { meta });
    expect(journal.phase).toBe('active');
    expect(journal.createdDirs).toEqual(['.docker-deps', 'deep', 'deep/er']);
    // The symlinked manifest was written through: the link stays a link, its target changed.
    expect(readlinkSync(path.join(tree.root, 'svc/linked.json'))).toBe('../shared/real.json');
    expect(readFileSync(path.join(tree.root, 'shared/real.json'), 'utf8')).toContain('"x": 1');
    expect(journal.entries.find((e) => e.path === 'shared/real.json')?.action).toBe('modify');
    expect(lstatSync(path.join(tree.root, 'svc/run.sh')).mode & 0o777).toBe(0o755);
    expect(lstatSync(path.join(tree.root, 'secret.txt')).mode & 0o777).toBe(0o600);
    expect(lstatSync(path.join(tree.root, 'deep/er/new.yaml')).mode & 0o777).toBe(0o640);
    expect((await readJournalState(tree.root)).status).toBe('active');
    expect(snapshotTree(tree.base)).not.toEqual(before);

    const report = await restore(tree.root, {});
    expect(report.action).toBe('restored');
    expect(report.restored.sort()).toEqual(['secret.txt', 'shared/real.json', 'svc/package.json', 'svc/run.sh']);
    expect(report.removedDirs).toEqual(['deep/er', 'deep', '.docker-deps']);
    expect(snapshotTree(tree.base)).toEqual(before);
    expect((await restore(tree.root, {})).action).toBe('none');
  });

  test('a created folder that gained a user file is kept and reported', async () => {
    tree = makePlanTree();
    await applyPlan(tree.root, tree.writes, { meta });
    writeFileSync(path.join(tree.root, '.docker-deps', 'mine.txt'), 'user');
    const report = await restore(tree.root, {});
    expect(report.keptDirs).toEqual(['.docker-deps']);
    expect(readdirSync(path.join(tree.root, '.docker-deps'))).toEqual(['mine.txt']);
    expect(existsSync(path.join(tree.root, '.docker-prep'))).toBe(false);
  });

  test('refuses to apply over an existing journal', async () => {
    tree = makePlanTree();
    await applyPlan(tree.root, tree.writes, { meta });
    const err = await caught(applyPlan(tree.root, tree.writes, { meta }));
    expect(err.code).toBe('PACK_ACTIVE');
    expect(err.kind).toBe('active');
  });

  test('an error at any mutation rolls back to the pre-state and rethrows it', async () => {
    tree = makePlanTree();
    const before = snapshotTree(tree.base);
    const total = failing(() => false);
    await applyPlan(tree.root, tree.writes, { meta, hooks: total });
    const count = total.seen.length;
    await restore(tree.root, {});
    expect(count).toBeGreaterThan(20);
    for (let n = 1; n <= count; n++) {
      const err = await caught(applyPlan(tree.root, tree.writes, { meta, hooks: failing((_m, i) => i === n) }));
      expect(err.code, `mutation ${n}`).toBe('IO_EIO');
      expect(snapshotTree(tree.base), `mutation ${n}`).toEqual(before);
    }
  });

  test('abort between operations rolls back and rethrows signal.reason', async () => {
    tree = makePlanTree();
    const before = snapshotTree(tree.base);
    for (const at of [1, 5, 12, 20]) {
      const controller = new AbortController();
      const reason = new DockerPrepError('INTERRUPTED', 'interrupted by SIGINT', { kind: 'interrupted' });
      const hooks: MutationHooks = { before: (m) => (m.seq === at ? controller.abort(reason) : undefined) };
      const err = await caught(applyPlan(tree.root, tree.writes, { meta, hooks, signal: controller.signal }));
      expect(err).toBe(reason);
      expect(snapshotTree(tree.base)).toEqual(before);
    }
  });

  test('--keep leaves the partial state and an applying journal; recovery then restores', async () => {
    tree = makePlanTree();
    const before = snapshotTree(tree.base);
    // Writes go to temp files first and are renamed into place in order: failing the rename of the
    // last one leaves the others in place, a real partial state.
    const err = await caught(applyPlan(tree.root, tree.writes, { meta, keep: true, hooks: failing((m) => m.kind === 'rename' && m.path === path.join(tree.root, 'secret.txt')) }));
    expect(err.code).toBe('IO_EIO');
    const state = await readJournalState(tree.root);
    expect(state.status).toBe('interrupted');
    expect(readFileSync(path.join(tree.root, 'svc/package.json'), 'utf8')).toContain('file:../.docker-deps');
    const rec = await recoverInterrupted(tree.root, {});
    expect(rec?.action).toBe('rolled-back');
    expect(snapshotTree(tree.base)).toEqual(before);
  });

  test('a failing write during rollback does not stop the rollback; what failed is listed, and the next run finishes', async () => {
    tree = makePlanTree();
    const before = snapshotTree(tree.base);
    let rollingBack = false;
    const hooks: MutationHooks = {
      before(m) {
        // Fail the final journal write (so the run rolls back), then fail restoring svc/run.sh only.
        if (!rollingBack && m.kind === 'rename' && m.path.endsWith('journal.json') && m.seq > 10) {
          rollingBack = true;
          throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
        }
        if (rollingBack && m.path.endsWith('run.sh')) throw Object.assign(new Error('EACCES: injected'), { code: 'EACCES' });
      },
    };
    const err = await caught(applyPlan(tree.root, tree.writes, { meta, hooks }));
    expect(err.code).toBe('ROLLBACK_INCOMPLETE');
    expect(err.message).toContain('ENOSPC');
    expect(err.problems.map((p) => p.path)).toEqual(['svc/run.sh']);
    // Everything else was restored despite the failure.
    expect(readFileSync(path.join(tree.root, 'svc/package.json'), 'utf8')).toContain('workspace:*');
    expect(existsSync(path.join(tree.root, '.docker-deps'))).toBe(false);
    expect(readFileSync(path.join(tree.root, 'svc/run.sh'), 'utf8')).toContain('new');
    const rec = await recoverInterrupted(tree.root, {});
    expect(rec?.restored).toEqual(['svc/run.sh']);
    expect(snapshotTree(tree.base)).toEqual(before);
  });
});

describe('journal integrity', () => {
  for (const damage of ['truncate', 'flip-byte', 'delete-journal-keep-backups', 'bad-backup'] as const) {
    test(`${damage}: recovery and restore refuse, change nothing, and give manual steps`, async () => {
      tree = makePlanTree();
      await caught(applyPlan(tree.root, tree.writes, { meta, keep: true, hooks: failing((m) => m.kind === 'rename' && m.path.endsWith('new.yaml')) }));
      const journalFile = path.join(tree.root, '.docker-prep/journal.json');
      const text = readFileSync(journalFile, 'utf8');
      if (damage === 'truncate') truncateSync(journalFile, Math.floor(text.length / 2));
      if (damage === 'flip-byte') writeFileSync(journalFile, text.replace('"svc/package.json"', '"svc/package.jsoN"'));
      if (damage === 'delete-journal-keep-backups') unlinkSync(journalFile);
      if (damage === 'bad-backup') {
        const dir = path.join(tree.root, '.docker-prep/backups');
        const first = readdirSync(dir).find((n) => n.endsWith('package.json'))!;
        writeFileSync(path.join(dir, first), 'not the original');
      }
      const snap = snapshotTree(tree.base);
      const state = await readJournalState(tree.root);
      expect(state.status).toBe(damage === 'bad-backup' ? 'interrupted' : 'corrupt');
      const err = await caught(recoverInterrupted(tree.root, {}));
      expect(err.code).toBe(damage === 'bad-backup' ? 'BACKUP_CORRUPT' : 'JOURNAL_CORRUPT');
      expect(err.hint).toContain('rm -rf');
      expect(err.hint).toContain('--strip-overrides');
      expect((await caught(restore(tree.root, { force: true }))).code).toBe(err.code);
      expect(snapshotTree(tree.base)).toEqual(snap);
    });
  }

  test('an orphan state folder (killed before its journal existed) is cleaned', async () => {
    tree = makePlanTree();
    const before = snapshotTree(tree.base);
    const killedEarly = failing((m, n) => n === 4);
    await caught(applyPlan(tree.root, tree.writes, { meta, keep: true, hooks: killedEarly }));
    expect((await readJournalState(tree.root)).status).toBe('orphan');
    const rec = await recoverInterrupted(tree.root, {});
    expect(rec?.action).toBe('cleaned');
    expect(snapshotTree(tree.base)).toEqual(before);
  });
});

describe('drift', () => {
  test('detected per file; restore refuses (kind check) without force and reports what --force discarded', async () => {
    tree = makePlanTree();
    const before = snapshotTree(tree.base);
    await applyPlan(tree.root, tree.writes, { meta });
    const j = (await readJournalState(tree.root)) as { journal: Parameters<typeof detectDrift>[1] };
    expect(await detectDrift(tree.root, j.journal)).toEqual([]);
    writeFileSync(path.join(tree.root, 'svc/package.json'), 'edited by hand');
    chmodSync(path.join(tree.root, 'svc/run.sh'), 0o700);
    unlinkSync(path.join(tree.root, '.docker-deps/b-2.0.0.tgz'));
    const drift = await detectDrift(tree.root, j.journal);
    expect(drift).toEqual([
      { path: '.docker-deps/b-2.0.0.tgz', reason: 'deleted after the pack' },
      { path: 'svc/package.json', reason: 'edited after the pack' },
      { path: 'svc/run.sh', reason: 'mode changed after the pack (755 -> 700)' },
    ]);
    const snap = snapshotTree(tree.base);
    const err = await caught(restore(tree.root, {}));
    expect(err.code).toBe('RESTORE_DRIFT');
    expect(err.kind).toBe('check');
    expect(err.hint).toContain('--force');
    expect(snapshotTree(tree.base)).toEqual(snap);
    const report = await restore(tree.root, { force: true });
    expect(report.discarded.map((d) => d.path)).toEqual(drift.map((d) => d.path));
    expect(snapshotTree(tree.base)).toEqual(before);
  });
});

describe('containment', () => {
  test('a symlinked manifest pointing outside the repo is refused before anything is written', async () => {
    tree = makePlanTree();
    symlinkSync(path.join(tree.outside, 'package.json'), path.join(tree.root, 'svc', 'evil.json'));
    const before = snapshotTree(tree.base);
    const writes = [...tree.writes, { path: path.join(tree.root, 'svc/evil.json'), contents: Buffer.from('{}'), role: 'manifest' as const }];
    const err = await caught(applyPlan(tree.root, writes, { meta }));
    expect(err.code).toBe('PATH_OUTSIDE_ROOT');
    expect(err.kind).toBe('config');
    expect(err.message).toContain(path.join(tree.outside, 'package.json'));
    expect(snapshotTree(tree.base)).toEqual(before);
  });

  test('a symlinked state folder is never followed: apply and recovery refuse, nothing outside changes', async () => {
    tree = makePlanTree();
    symlinkSync(tree.outside, path.join(tree.root, '.docker-prep'));
    const before = snapshotTree(tree.base);
    expect((await readJournalState(tree.root)).status).toBe('corrupt');
    expect((await caught(applyPlan(tree.root, tree.writes, { meta }))).code).toBe('PACK_ACTIVE');
    expect((await caught(recoverInterrupted(tree.root, {}))).code).toBe('JOURNAL_CORRUPT');
    expect(snapshotTree(tree.base)).toEqual(before);
  });

  test('an output folder outside the repo (directly, via .., or via a symlinked folder) is refused', async () => {
    tree = makePlanTree();
    symlinkSync(tree.outside, path.join(tree.root, 'linked-out'));
    const before = snapshotTree(tree.base);
    for (const out of ['../outside', 'linked-out', 'svc/../../outside/x']) {
      const err = await caught(applyPlan(tree.root, [{ path: path.join(tree.root, out, 'a.tgz'), contents: Buffer.from('x'), role: 'tarball' }], { meta: { ...meta, out } }));
      expect(err.code, out).toBe('PATH_OUTSIDE_ROOT');
    }
    await expect(assertInsideRoot(tree.root, [path.join(tree.root, 'linked-out/sub/deeper/a.tgz')])).rejects.toThrow(/outside the repo root/);
    await expect(assertInsideRoot(tree.root, [path.join(tree.root, 'not/yet/there.tgz'), path.join(tree.root, 'svc/linked.json')])).resolves.toBeUndefined();
    expect(snapshotTree(tree.base)).toEqual(before);
  });
});
