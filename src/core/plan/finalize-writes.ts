import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { failWithProblems, type Problem } from '../errors.js';
import { assertInsideRoot } from '../txn/containment.js';
import type { PlannedWrite } from '../types.js';

/**
 * The last checks of a plan against the tree as it is now, shared by a fresh plan and a replayed
 * snapshot (the tree may have changed since the snapshot): every write stays inside the repo, no
 * target is read-only, and writes that would leave a file as it already is are dropped.
 */
export async function finalizeWrites(root: string, writes: PlannedWrite[]): Promise<PlannedWrite[]> {
  await assertInsideRoot(root, writes.map((w) => w.path));
  const problems = findReadOnlyFiles(root, writes);
  if (problems.length > 0) failWithProblems(problems);
  return dropUnchanged(writes);
}

// Both checks below are synchronous: a stat or a small read each, cheaper than thread-pool round trips.
function findReadOnlyFiles(root: string, writes: PlannedWrite[]): Problem[] {
  const problems: Problem[] = [];
  for (const w of writes) {
    let st: ReturnType<typeof statSync> | null = null;
    try {
      st = statSync(w.path);
    } catch {
      st = null; // absent (created by the pack) or not stat-able: apply reports what it cannot write
    }
    // Checked on the mode bits: as root, access(W_OK) says yes to everything, but a 0444 manifest is a user's "do not touch".
    if (st && (st.mode & 0o222) === 0) {
      const rel = path.relative(root, w.path).split(path.sep).join('/');
      problems.push({ code: 'FILE_READ_ONLY', message: `${rel} is read-only`, hint: `make it writable (chmod u+w ${rel}) or leave this project out with --project`, path: rel });
    }
  }
  return problems;
}

function dropUnchanged(writes: PlannedWrite[]): PlannedWrite[] {
  const out: PlannedWrite[] = [];
  for (const w of writes) {
    let current: Buffer | null = null;
    try {
      current = readFileSync(w.path);
    } catch {
      current = null;
    }
    if (current && current.equals(w.contents)) continue;
    out.push(w);
  }
  return out;
}
