import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { Mutation, MutationHooks } from '../core/fs/tree-writer.js';

/**
 * Crash, fault and signal injection for the test-suite, read from the environment by the CLI edge
 * only (the core just calls the hooks). Mutations are numbered per process from 1 in the order the
 * TreeWriter starts them (or across processes, see COUNTER); checkpoints likewise, separately.
 *
 *   DOCKER_PREP_TEST_KILL=before:N | after:N | midWrite:N | checkpoint:N | checkpoint:NAME
 *       SIGKILL this process just before / just after / half-way through the bytes of mutation N,
 *       or at checkpoint number N or named NAME (first occurrence).
 *   DOCKER_PREP_TEST_FAULT=EACCES:N | ENOSPC:N | EIO:N        (append :persistent to keep failing)
 *       Mutation N fails with that errno (once), or every mutation from N on (persistent).
 *   DOCKER_PREP_TEST_SIGNAL=SIGINT|SIGTERM|SIGHUP:mutation:N | ...:checkpoint:N | ...:checkpoint:NAME
 *       Send this process a real signal just before mutation N or at the checkpoint.
 *   DOCKER_PREP_TEST_TRACE=FILE      append `mutation N KIND PATH` and `checkpoint N NAME` lines.
 *   DOCKER_PREP_TEST_COUNTER=FILE    number mutations across processes (the file holds the last
 *       number), so a persistent fault keeps hitting the next command too, like a full disk would.
 */
export function hooksFromEnv(env: NodeJS.ProcessEnv): MutationHooks {
  const kill = parseKill(env.DOCKER_PREP_TEST_KILL);
  const fault = parseFault(env.DOCKER_PREP_TEST_FAULT);
  const signal = parseSignal(env.DOCKER_PREP_TEST_SIGNAL);
  const trace = env.DOCKER_PREP_TEST_TRACE;
  const counterFile = env.DOCKER_PREP_TEST_COUNTER;
  if (!kill && !fault && !signal && !trace && !counterFile) return {};

  let mutations = 0;
  let checkpoints = 0;
  const numbers = new WeakMap<Mutation, number>();
  const nextNumber = (): number => {
    if (!counterFile) return ++mutations;
    let last = 0;
    try {
      last = Number.parseInt(readFileSync(counterFile, 'utf8'), 10) || 0;
    } catch {
      last = 0;
    }
    writeFileSync(counterFile, String(last + 1));
    return last + 1;
  };
  const record = (line: string): void => {
    if (trace) appendFileSync(trace, line + '\n');
  };
  const die = (): never => {
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is delivered before kill() returns for the calling process; never reached.
    throw new Error('unreachable');
  };

  return {
    before(m) {
      const n = nextNumber();
      numbers.set(m, n);
      record(`mutation ${n} ${m.kind} ${m.path}`);
      if (kill?.point === 'before' && kill.n === n) die();
      if (signal?.point === 'mutation' && signal.n === n) process.kill(process.pid, signal.sig);
      if (fault && (fault.persistent ? n >= fault.n : n === fault.n)) {
        const err = new Error(`${fault.code}: ${FAULT_TEXT[fault.code]} (injected by DOCKER_PREP_TEST_FAULT), ${m.kind} '${m.path}'`);
        throw Object.assign(err, { code: fault.code, errno: FAULT_ERRNO[fault.code], syscall: m.kind, path: m.path });
      }
    },
    midWrite(m) {
      if (kill?.point === 'midWrite' && kill.n === numbers.get(m)) die();
    },
    after(m) {
      if (kill?.point === 'after' && kill.n === numbers.get(m)) die();
    },
    checkpoint(name) {
      const n = ++checkpoints;
      record(`checkpoint ${n} ${name}`);
      const hit = (spec: { n?: number; name?: string }): boolean => spec.n === n || spec.name === name;
      if (kill?.point === 'checkpoint' && hit(kill)) die();
      if (signal?.point === 'checkpoint' && hit(signal)) {
        process.kill(process.pid, signal.sig);
        if (signal.name !== undefined) signal.name = undefined; // first occurrence only
      }
    },
  };
}

const FAULT_ERRNO = { EACCES: -13, ENOSPC: -28, EIO: -5 } as const;
const FAULT_TEXT = { EACCES: 'permission denied', ENOSPC: 'no space left on device', EIO: 'i/o error' } as const;
type FaultCode = keyof typeof FAULT_ERRNO;

function parseKill(v: string | undefined): { point: 'before' | 'after' | 'midWrite' | 'checkpoint'; n?: number; name?: string } | undefined {
  if (!v) return undefined;
  const m = /^(before|after|midWrite|checkpoint):(.+)$/.exec(v);
  if (!m) throw new Error(`DOCKER_PREP_TEST_KILL: cannot parse ${v}`);
  const point = m[1] as 'before' | 'after' | 'midWrite' | 'checkpoint';
  return { point, ...numberOrName(m[2]!, point !== 'checkpoint') };
}

function parseFault(v: string | undefined): { code: FaultCode; n: number; persistent: boolean } | undefined {
  if (!v) return undefined;
  const m = /^(EACCES|ENOSPC|EIO):(\d+)(:persistent)?$/.exec(v);
  if (!m) throw new Error(`DOCKER_PREP_TEST_FAULT: cannot parse ${v}`);
  return { code: m[1] as FaultCode, n: Number(m[2]), persistent: Boolean(m[3]) };
}

function parseSignal(v: string | undefined): { sig: NodeJS.Signals; point: 'mutation' | 'checkpoint'; n?: number; name?: string } | undefined {
  if (!v) return undefined;
  const m = /^(SIGINT|SIGTERM|SIGHUP):(mutation|checkpoint):(.+)$/.exec(v);
  if (!m) throw new Error(`DOCKER_PREP_TEST_SIGNAL: cannot parse ${v}`);
  const point = m[2] as 'mutation' | 'checkpoint';
  return { sig: m[1] as NodeJS.Signals, point, ...numberOrName(m[3]!, point === 'mutation') };
}

function numberOrName(s: string, numeric: boolean): { n?: number; name?: string } {
  if (/^\d+$/.test(s)) return { n: Number(s) };
  if (numeric) throw new Error(`expected a mutation number, got ${s}`);
  return { name: s };
}
