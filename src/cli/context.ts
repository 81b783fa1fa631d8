import type { Writable } from 'node:stream';
import type { MutationHooks } from '../core/fs/tree-writer.js';

/** Everything a command may take from the process, handed over explicitly so the core never reads `process`. */
export interface CliContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  /** Whether stderr is an interactive terminal (progress output is shown only there). */
  isTTY: boolean;
  json: boolean;
  /** Aborted when SIGINT/SIGTERM/SIGHUP arrives; `signalName` then says which. */
  signal: AbortSignal;
  signalName(): NodeJS.Signals | undefined;
  /** Fault and crash injection for the test-suite (DOCKER_PREP_TEST_* variables); empty otherwise. */
  hooks: MutationHooks;
  /** The command line as typed, for lock-holder messages. */
  argv: string[];
}

/** What a command hands back: data (printed as-is with --json) and a text rendering of the same data. */
export interface CommandResult<T = unknown> {
  data: T;
  text: string;
  exitCode: number;
  /** Lines for stderr in text mode (warnings), printed before `text`. */
  warnings?: string[];
}

export interface CommonOptions {
  cwd?: string;
  project?: string[];
  out?: string;
  json?: boolean;
  lockfile?: boolean;
  force?: boolean;
  keep?: boolean;
  dryRun?: boolean;
  stripOverrides?: boolean;
  allowSecrets?: boolean;
  scripts?: boolean;
  verify?: boolean;
}
