import { DockerPrepError } from '../../core/errors.js';
import { findRepoRoot } from '../../core/plan/find-repo-root.js';
import { readJournalState } from '../../core/txn/journal.js';
import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { withRepoLock } from '../repo-session.js';
import { packUnderLock } from './pack.js';

export interface LockfileCommandData {
  command: 'lockfile';
  root: string;
  /** Lockfiles written, repo-relative. */
  lockfiles: string[];
  /** Patch files copied into the output folder, repo-relative. */
  patches: string[];
  verified: boolean;
}

/**
 * `docker-prep lockfile`: adds the flattened pnpm-lock.yaml to an ACTIVE pack. The journal records a
 * pack as one transaction, so this re-packs the same targets into the same folder with --lockfile
 * (from the original files; the tarballs come out byte-identical) and the lockfiles land under the
 * journal like every other write, undone by `restore`. With --verify, a sandboxed frozen install of
 * each target must pass before anything is written, or pnpm's message is reported.
 */
export async function run(opts: CommonOptions & Record<string, unknown>, _args: string[], ctx: CliContext): Promise<CommandResult<LockfileCommandData>> {
  const root = await findRepoRoot(ctx.cwd);
  return withRepoLock(root, ctx, async () => {
    const state = await readJournalState(root);
    if (state.status !== 'active') {
      throw new DockerPrepError('NO_ACTIVE_PACK', 'no pack is active, so there is nothing to write a lockfile for', {
        kind: 'usage',
        hint: 'run `docker-prep pack --lockfile` (it packs and writes the lockfiles in one go)',
      });
    }
    const journal = state.journal;
    const packOpts = { ...opts, lockfile: true, force: true, project: opts.project ?? journal.targets, out: opts.out ?? journal.out };
    // With --verify, packUnderLock runs the sandboxed frozen install before anything is written.
    const { plan } = await packUnderLock(root, packOpts, ctx);
    const rel = (p: string): string => p.slice(root.length + 1).split('\\').join('/');
    const lockfiles = plan.writes.filter((w) => w.role === 'lockfile').map((w) => rel(w.path));
    const patches = plan.writes.filter((w) => w.role === 'patch').map((w) => rel(w.path));
    const data: LockfileCommandData = { command: 'lockfile', root, lockfiles, patches, verified: Boolean(opts.verify) };
    const lines = [`wrote ${lockfiles.length} lockfile(s): ${lockfiles.join(', ') || 'none'}`];
    if (patches.length > 0) lines.push(`copied ${patches.length} patch file(s): ${patches.join(', ')}`);
    if (data.verified) lines.push('verified: a frozen install of each target passed in a sandbox with the scope registry unreachable');
    lines.push('undo with `docker-prep restore`');
    return { data, text: lines.join('\n'), exitCode: ExitCode.ok };
  });
}
