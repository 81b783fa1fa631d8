import type { Writable } from 'node:stream';
import { isDockerPrepError, type DockerPrepError } from '../core/errors.js';
import type { CommandResult } from './context.js';

export function printResult(result: CommandResult, out: { stdout: Writable; stderr: Writable; json: boolean }): void {
  if (out.json) {
    out.stdout.write(JSON.stringify({ ok: result.exitCode === 0, ...asObject(result.data), warnings: result.warnings ?? [] }, null, 2) + '\n');
    return;
  }
  for (const w of result.warnings ?? []) out.stderr.write(`docker-prep: WARN ${w}\n`);
  if (result.text) out.stdout.write(result.text.endsWith('\n') ? result.text : result.text + '\n');
}

export function printError(err: unknown, out: { stdout: Writable; stderr: Writable; json: boolean }): void {
  const e = normalize(err);
  if (out.json) {
    const body = { ok: false, error: { code: e.code, message: e.message, hint: e.hint ?? null, kind: e.kind, problems: e.problems, details: e.details ?? null } };
    out.stdout.write(JSON.stringify(body, null, 2) + '\n');
    return;
  }
  out.stderr.write(`docker-prep: ERROR [${e.code}] ${e.message}\n`);
  if (e.hint) out.stderr.write(`hint: ${e.hint}\n`);
  if (!isDockerPrepError(err) && err instanceof Error && err.stack) out.stderr.write(`${err.stack}\n`);
}

function normalize(err: unknown): Pick<DockerPrepError, 'code' | 'message' | 'hint' | 'kind' | 'problems' | 'details'> {
  if (isDockerPrepError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, hint: 'this is a bug in docker-prep; please report it with the output above', kind: 'io', problems: [], details: undefined };
}

function asObject(data: unknown): Record<string, unknown> {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : { result: data };
}
