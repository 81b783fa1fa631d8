import { promises as fsp, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathExists } from '../fs/path-exists.js';
import { LOCK_DIR } from './journal-types.js';

// Light on purpose (no proper-lockfile): `status` reads the holder without taking the lock.

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
  host: string;
}

/**
 * What a lock folder records about its holder. Besides the pid it records what makes the pid
 * unambiguous on Linux: the boot (a pid from before a reboot is meaningless), the pid namespace (a
 * container on the same host sees other pids) and the process start time (pids are reused).
 */
export interface HolderRecord extends LockHolder {
  /** Random per acquisition: names this lock instance for single-winner reclaim. */
  token: string;
  bootId?: string;
  pidNs?: string;
  startTicks?: string;
}

export const HOLDER_FILE = 'holder.json';
/** A holder this machine cannot probe (another host or pid namespace) is stale after this long without a refresh. */
export const FOREIGN_STALE_MS = 30_000;
/** How often a live holder refreshes the lock folder's mtime (proper-lockfile's `update`). */
export const LOCK_UPDATE_MS = 5_000;

export const lockPathOf = (root: string): string => path.join(root, LOCK_DIR);

function readTrim(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime, clock ticks since boot) and field 3 (state) of /proc/<pid>/stat. */
function procStat(pid: number): { state: string; startTicks: string } | null | undefined {
  const text = readTrim(`/proc/${pid}/stat`);
  if (text === undefined) return existsProc() ? null : undefined;
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', startTicks: rest[19] ?? '' };
}

let procAvailable: boolean | undefined;
function existsProc(): boolean {
  procAvailable ??= readTrim('/proc/self/stat') !== undefined;
  return procAvailable;
}

export interface MachineIdentity {
  host: string;
  bootId?: string;
  pidNs?: string;
}

let machine: MachineIdentity | undefined;
export function machineIdentity(): MachineIdentity {
  if (!machine) {
    let pidNs: string | undefined;
    try {
      pidNs = readlinkSync('/proc/self/ns/pid');
    } catch {
      pidNs = undefined;
    }
    machine = { host: os.hostname(), bootId: readTrim('/proc/sys/kernel/random/boot_id'), pidNs };
  }
  return machine;
}

/** The record a process with `holder.pid` on this machine writes into a lock folder. */
export function holderRecord(holder: LockHolder, token: string): HolderRecord {
  const m = machineIdentity();
  const st = procStat(holder.pid);
  const rec: HolderRecord = { ...holder, token };
  if (m.bootId) rec.bootId = m.bootId;
  if (m.pidNs) rec.pidNs = m.pidNs;
  if (st) rec.startTicks = st.startTicks;
  return rec;
}

export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * Whether the holder process still exists. `unknown` when this machine cannot tell (another host or
 * pid namespace): the caller then falls back to the lock's mtime, which a live holder refreshes.
 */
export function holderLiveness(rec: HolderRecord): Liveness {
  const m = machineIdentity();
  if (rec.host !== m.host) return 'unknown';
  if (rec.bootId && m.bootId && rec.bootId !== m.bootId) return 'dead';
  if (rec.pidNs && m.pidNs && rec.pidNs !== m.pidNs) return 'unknown';
  const st = procStat(rec.pid);
  if (st === null) return 'dead';
  if (st !== undefined) {
    // A zombie has exited (its parent just has not reaped it); another start time means a reused pid.
    if (st.state === 'Z' || st.state === 'X') return 'dead';
    if (rec.startTicks && st.startTicks !== rec.startTicks) return 'dead';
    return 'alive';
  }
  // No /proc (macOS, BSD): signal 0 probes existence without delivering anything.
  try {
    process.kill(rec.pid, 0);
    return 'alive';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'dead' : 'alive';
  }
}

export interface SlotView {
  /** Null when the folder has no readable holder file (made by something else than docker-prep). */
  record: HolderRecord | null;
  mtimeMs: number;
  ino: number;
}

/** Reads a lock (or reclaim) folder; null when it does not exist. */
export async function inspectSlot(dir: string): Promise<SlotView | null> {
  let st;
  try {
    st = await fsp.stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let record: HolderRecord | null = null;
  try {
    const parsed = JSON.parse(await fsp.readFile(path.join(dir, HOLDER_FILE), 'utf8')) as Partial<HolderRecord>;
    if (typeof parsed.pid === 'number' && typeof parsed.token === 'string') record = parsed as HolderRecord;
  } catch (err) {
    // The folder may have been released between the stat and the read.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await pathExists(dir))) return null;
  }
  return { record, mtimeMs: st.mtimeMs, ino: st.ino };
}


/** The identity a reclaimer pins: the holder's random token, or the folder's inode when it has no holder file. */
export const slotIdentity = (v: SlotView): string => v.record?.token ?? `ino${v.ino}`;

export function isStale(v: SlotView, now: number): boolean {
  const live = v.record ? holderLiveness(v.record) : 'unknown';
  if (live !== 'unknown') return live === 'dead';
  return v.mtimeMs < now - FOREIGN_STALE_MS;
}

export interface LockInspection {
  held: boolean;
  holder: HolderRecord | null;
  /** Held by a process that no longer exists: the next command takes the lock over. */
  stale: boolean;
}

/** For `status`: who holds the repo lock, without touching it. */
export async function inspectLock(root: string, now: number): Promise<LockInspection> {
  const v = await inspectSlot(lockPathOf(root));
  if (!v) return { held: false, holder: null, stale: false };
  return { held: true, holder: v.record, stale: isStale(v, now) };
}
