import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { DockerPrepError } from '../../core/errors.js';
import { findRepoRoot } from '../../core/plan/find-repo-root.js';
import { pollSignals } from '../../core/txn/poll-signals.js';
import { restore } from '../../core/txn/restore.js';
import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { SIGNAL_EXIT } from '../exit-codes.js';
import { withRepoLock } from '../repo-session.js';
import { packUnderLock } from './pack.js';

export interface ExecReport {
  command: 'exec';
  cmd: string[];
  exitCode: number;
  packed: string[];
  restored: boolean;
}

export async function run(opts: CommonOptions & Record<string, unknown>, args: string[], ctx: CliContext): Promise<CommandResult<ExecReport>> {
  const exitCode = await execWithPack(opts, args, ctx, { DOCKER_PREP_MODE: 'tarballs' });
  return { data: { command: 'exec', cmd: args, exitCode, packed: [], restored: true }, text: '', exitCode };
}

/**
 * Pack, run CMD with inherited stdio, and always restore (success, failure, signals). Signals that
 * arrive while CMD runs are forwarded to it; docker-prep restores once CMD is gone. Returns CMD's
 * exit code, or 128+n when docker-prep itself was interrupted.
 */
export async function execWithPack(opts: CommonOptions & Record<string, unknown>, cmd: string[], ctx: CliContext, extraEnv: Record<string, string>): Promise<number> {
  if (cmd.length === 0) {
    throw new DockerPrepError('NO_COMMAND', 'no command given to run', { kind: 'usage', hint: 'put the command after --, e.g. `docker-prep exec -- docker compose build`' });
  }
  const root = await findRepoRoot(ctx.cwd);
  return withRepoLock(root, ctx, async () => {
    ctx.hooks.checkpoint?.('exec:pack');
    await packUnderLock(root, opts, ctx);
    let code: number;
    try {
      ctx.hooks.checkpoint?.('exec:spawn');
      if (ctx.signal.aborted) throw ctx.signal.reason;
      code = await runChild(cmd, ctx, extraEnv);
      ctx.hooks.checkpoint?.('exec:restore');
    } finally {
      // CMD may have touched the rewritten files (e.g. `pnpm add`): the promise is the pre-state, so force.
      await restore(root, { force: true, hooks: ctx.hooks });
    }
    await pollSignals(); // one that arrived during the (synchronous) restore writes still counts
    const sig = ctx.signalName();
    return sig ? (SIGNAL_EXIT[sig] ?? 130) : code;
  });
}

function runChild(cmd: string[], ctx: CliContext, extraEnv: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    // With --json, stdout carries only docker-prep's document: CMD's stdout goes to stderr.
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ctx.cwd, stdio: ['inherit', ctx.json ? 2 : 'inherit', 'inherit'], env: { ...ctx.env, ...extraEnv } });
    const forward = (): void => {
      const sig = ctx.signalName() ?? 'SIGTERM';
      child.kill(sig);
    };
    ctx.signal.addEventListener('abort', forward, { once: true });
    child.on('error', (err) => {
      ctx.signal.removeEventListener('abort', forward);
      reject(new DockerPrepError('COMMAND_NOT_FOUND', `could not run ${cmd[0]}: ${err.message}`, { kind: 'check', hint: 'check the command after -- and your PATH' }));
    });
    child.on('exit', (code, signal) => {
      ctx.signal.removeEventListener('abort', forward);
      if (code !== null) resolve(code);
      else resolve(128 + (signal ? (osConstants.signals[signal] ?? 15) : 15));
    });
  });
}
