import os from 'node:os';
import { acquireLock, type LockHolder } from '../core/txn/lock.js';
import { recoverInterrupted } from '../core/txn/recover.js';
import type { CliContext } from './context.js';

export interface RepoSession {
  /** What recovery rolled back before this command started, if anything. */
  recovered: string[];
}

/**
 * Runs `fn` holding the repo lock, after rolling back whatever a killed run left behind; the lock
 * is released on every path out.
 */
export async function withRepoLock<T>(root: string, ctx: CliContext, fn: (session: RepoSession) => Promise<T>): Promise<T> {
  const release = await acquireLock(root, lockHolder(ctx));
  try {
    const report = await recoverInterrupted(root, { hooks: ctx.hooks });
    return await fn({ recovered: report ? describeRecovery(report) : [] });
  } finally {
    await release();
  }
}

/** Who holds the lock, as a second run will name it. */
export function lockHolder(ctx: CliContext): LockHolder {
  return { pid: process.pid, command: `docker-prep ${ctx.argv.join(' ')}`.trim(), since: new Date().toISOString(), host: os.hostname() };
}

function describeRecovery(report: unknown): string[] {
  const r = report as { message?: string; restored?: string[]; removed?: string[] };
  if (typeof r.message === 'string') return [r.message];
  return [`recovered an interrupted run: restored ${(r.restored ?? []).length} file(s), removed ${(r.removed ?? []).length}`];
}
