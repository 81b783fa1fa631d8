/**
 * The one error type of docker-prep. The core throws it (or returns Problems as data); only the CLI
 * turns a `kind` into an exit code (src/cli/exit-codes.ts), so the core never decides how to exit.
 */
export type ErrorKind =
  | 'usage' // bad flag or argument                          -> 2
  | 'config' // malformed manifest/workspace, unsatisfiable -> 2
  | 'check' // a guard or verification failed               -> 1
  | 'io' // an operating-system error while working          -> 1
  | 'locked' // another run holds the lock                   -> 3
  | 'active' // a pack is already active                     -> 4
  | 'interrupted'; // a signal arrived                       -> 128 + signal number

/** One thing wrong, as data: plans collect all of them before failing, so users see every problem at once. */
export interface Problem {
  code: string;
  message: string;
  hint?: string;
  /** The file the problem is about, relative to the repo root where possible. */
  path?: string;
}

export interface DockerPrepErrorOptions {
  hint?: string;
  kind?: ErrorKind;
  problems?: Problem[];
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class DockerPrepError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly kind: ErrorKind;
  readonly problems: Problem[];
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, opts: DockerPrepErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DockerPrepError';
    this.code = code;
    this.hint = opts.hint;
    this.kind = opts.kind ?? 'config';
    this.problems = opts.problems ?? [];
    this.details = opts.details;
  }
}

export function isDockerPrepError(err: unknown): err is DockerPrepError {
  return err instanceof DockerPrepError;
}

/** Throws one error listing every problem; the first problem's code and hint lead. */
export function failWithProblems(problems: Problem[], kind: ErrorKind = 'config'): never {
  const first = problems[0];
  if (first === undefined) throw new Error('failWithProblems called without problems');
  const message =
    problems.length === 1 ? first.message : `${problems.length} problems found:\n` + problems.map((p) => `  - ${p.message}`).join('\n');
  throw new DockerPrepError(first.code, message, { hint: first.hint, kind, problems });
}

/** Wraps a Node error (ENOENT, EACCES, ...) into a DockerPrepError that names the file. */
export function ioError(err: unknown, action: string, file: string): DockerPrepError {
  if (err instanceof DockerPrepError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  const reason = err instanceof Error ? err.message : String(err);
  return new DockerPrepError(`IO_${code}`, `could not ${action} ${file}: ${reason}`, {
    kind: 'io',
    hint: ioHint(code),
    cause: err,
  });
}

function ioHint(code: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'check the file permissions; docker-prep needs to write the files it rewrites';
    case 'ENOSPC':
      return 'free some disk space and run the command again';
    case 'EROFS':
      return 'the file system is read-only';
    default:
      return 'fix the cause above and run the command again; `docker-prep status` shows what is active';
  }
}
