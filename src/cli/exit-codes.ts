import type { ErrorKind } from '../core/errors.js';

/** The only place that knows the contract's exit codes (../shared/CONTRACT.md). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  locked: 3,
  active: 4,
} as const;

export const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export function exitCodeForKind(kind: ErrorKind, signal?: string): number {
  switch (kind) {
    case 'usage':
    case 'config':
      return ExitCode.usage;
    case 'check':
    case 'io':
      return ExitCode.failed;
    case 'locked':
      return ExitCode.locked;
    case 'active':
      return ExitCode.active;
    case 'interrupted':
      return (signal && SIGNAL_EXIT[signal]) || 130;
  }
}
