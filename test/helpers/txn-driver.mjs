#!/usr/bin/env node
// Drives the compiled transaction layer (dist/) from a child process, so tests can SIGKILL it,
// signal it, or run many of it at once. Hooks come from the DOCKER_PREP_TEST_* variables exactly as
// for the CLI (dist/cli/test-hooks.js).
//
//   txn-driver.mjs apply PLAN.json        take the lock, recover, applyPlan, release
//   txn-driver.mjs restore ROOT [--force] take the lock, restore, release
//   txn-driver.mjs lock-stress ROOT LOG DEADLINE_MS    acquire/hold/release until the deadline
//   txn-driver.mjs race-worker            IPC worker for the stale-lock race test
import { appendFileSync, closeSync, openSync, readFileSync, unlinkSync, writeSync, constants as C } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist');
const imp = (p) => import(path.join(DIST, p));
const [cmd, ...args] = process.argv.slice(2);
const holder = (command) => ({ pid: process.pid, command, since: new Date().toISOString(), host: os.hostname() });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withSignals(fn) {
  const { DockerPrepError } = await imp('core/errors.js');
  const { exitCodeForKind, SIGNAL_EXIT } = await imp('cli/exit-codes.js');
  const controller = new AbortController();
  let caught;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (caught) return;
      caught = sig;
      controller.abort(new DockerPrepError('INTERRUPTED', `interrupted by ${sig}`, { kind: 'interrupted', hint: 'run again' }));
    });
  }
  try {
    const out = await fn(controller.signal);
    process.stdout.write(JSON.stringify(out ?? null) + '\n');
    process.exitCode = caught ? SIGNAL_EXIT[caught] : 0;
  } catch (err) {
    process.stderr.write(`ERROR [${err.code}] ${err.message}\nhint: ${err.hint}\n`);
    process.stdout.write(JSON.stringify({ error: { code: err.code, kind: err.kind, problems: err.problems ?? [] } }) + '\n');
    process.exitCode = err.kind ? exitCodeForKind(err.kind, caught) : 1;
  }
}

if (cmd === 'apply' || cmd === 'restore') {
  const { hooksFromEnv } = await imp('cli/test-hooks.js');
  const { acquireLock } = await imp('core/txn/lock.js');
  const { recoverInterrupted } = await imp('core/txn/recover.js');
  const hooks = hooksFromEnv(process.env);
  await withSignals(async (signal) => {
    const plan = cmd === 'apply' ? JSON.parse(readFileSync(args[0], 'utf8')) : { root: args[0] };
    const release = await acquireLock(plan.root, holder(`txn-driver ${cmd}`));
    try {
      if (cmd === 'restore') {
        const { restore } = await imp('core/txn/restore.js');
        return await restore(plan.root, { force: args.includes('--force'), hooks });
      }
      const { applyPlan } = await imp('core/txn/apply-plan.js');
      const recovered = await recoverInterrupted(plan.root, { hooks });
      const writes = plan.writes.map((w) => ({ path: w.path, contents: Buffer.from(w.contents, 'base64'), mode: w.mode, role: w.role ?? 'other' }));
      const journal = await applyPlan(plan.root, writes, { meta: plan.meta, hooks, signal, keep: Boolean(plan.keep) });
      return { recovered, entries: journal.entries.length };
    } finally {
      await release();
    }
  });
} else if (cmd === 'lock-stress') {
  // Mutual exclusion under contention: every holder checks and creates an exclusive marker and logs
  // enter/exit; the test reads the log. The parent may SIGKILL us at any moment (it logs that first).
  const { acquireLock } = await imp('core/txn/lock.js');
  const { holderLiveness } = await imp('core/txn/lock-holder.js');
  const [root, log, deadline] = [args[0], args[1], Number(args[2])];
  const marker = path.join(root, 'holder.marker');
  let held = 0;
  let contended = 0;
  while (Date.now() < deadline) {
    let release;
    try {
      release = await acquireLock(root, holder('lock-stress'));
    } catch (err) {
      if (err.code !== 'LOCKED') throw err;
      contended++;
      await sleep(Math.random() * 4);
      continue;
    }
    appendFileSync(log, `enter ${process.pid}\n`);
    try {
      const fd = openSync(marker, C.O_CREAT | C.O_EXCL | C.O_WRONLY);
      writeSync(fd, JSON.stringify(holder('marker')));
      closeSync(fd);
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A marker left by a holder that was killed is fine; one from a live process is an overlap.
      const other = JSON.parse(readFileSync(marker, 'utf8') || '{}');
      if (other.pid && holderLiveness({ ...other, token: '' }) !== 'dead') appendFileSync(log, `OVERLAP ${process.pid} ${other.pid}\n`);
      unlinkSync(marker);
      const fd = openSync(marker, C.O_CREAT | C.O_EXCL | C.O_WRONLY);
      writeSync(fd, JSON.stringify(holder('marker')));
      closeSync(fd);
    }
    held++;
    await sleep(Math.random() * 3);
    unlinkSync(marker);
    appendFileSync(log, `exit ${process.pid}\n`);
    await release();
    await sleep(Math.random() * 2);
  }
  process.stdout.write(JSON.stringify({ held, contended }) + '\n');
} else if (cmd === 'race-worker') {
  // One contender of the stale-lock race: on {round, root, mode}, try to take the lock once, hold it
  // until told to release. mode 'ours' uses acquireLock; 'native' is the control: proper-lockfile's
  // own mtime-based stale reclaim with the same delays, which is expected to double-hold (#121).
  const { acquireLock } = await imp('core/txn/lock.js');
  const { default: lockfile } = await import('proper-lockfile');
  const fs = await import('node:fs');
  const jitter = () => sleep(Math.random() * 3);
  let release;
  process.on('message', async (msg) => {
    if (msg.type === 'race') {
      try {
        if (msg.mode === 'ours') {
          release = await acquireLock(msg.root, holder(`race ${msg.round}`), { pause: jitter });
        } else {
          const delayed = { ...fs, rmdir: (p, cb) => setTimeout(() => fs.rmdir(p, cb), Math.random() * 3) };
          release = await lockfile.lock(msg.root, { lockfilePath: path.join(msg.root, '.docker-prep.lock'), realpath: false, stale: 2000, retries: 0, fs: delayed, onCompromised: () => {} });
        }
        process.send({ type: 'result', round: msg.round, won: true });
      } catch (err) {
        process.send({ type: 'result', round: msg.round, won: false, code: err.code });
      }
    } else if (msg.type === 'release') {
      try {
        await release?.();
      } catch {
        // the native control may find its lock compromised
      }
      release = undefined;
      process.send({ type: 'released', round: msg.round });
    } else if (msg.type === 'exit') {
      process.exit(0);
    }
  });
  process.send({ type: 'ready' });
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exitCode = 2;
}
