import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { DockerPrepError, ioError } from '../errors.js';
import { LOCK_DIR } from './journal-types.js';
import {
  FOREIGN_STALE_MS,
  HOLDER_FILE,
  holderRecord,
  inspectSlot,
  isStale,
  LOCK_UPDATE_MS,
  lockPathOf,
  machineIdentity,
  slotIdentity,
  type HolderRecord,
  type LockHolder,
  type SlotView,
} from './lock-holder.js';

export type { LockHolder } from './lock-holder.js';

/**
 * The repo lock: proper-lockfile on `<root>/.docker-prep.lock`, with proper-lockfile's own stale
 * reclaim replaced, because it is racy (moxystudio/node-proper-lockfile#121: two processes judge the
 * same lock stale; the first removes it and re-creates it, the delayed second then removes the fresh
 * lock too, and both hold it).
 *
 * The protocol (every docker-prep process follows it):
 * - A lock folder is created atomically WITH its holder record: a temp folder holding holder.json is
 *   renamed onto the lock path (rename onto a non-empty folder fails), so a lock never exists without
 *   saying whose it is. The record has a random token naming this lock instance.
 * - Staleness is judged from the holder: on this machine (same host, boot and pid namespace) by
 *   whether its pid still runs with the same start time, instantly; otherwise by the folder's mtime,
 *   which a live holder refreshes every LOCK_UPDATE_MS (stale after FOREIGN_STALE_MS).
 * - A stale lock with token T is removed only under the reclaim mutex `<lock>.reclaim-T` (created the
 *   same atomic way), after re-reading that the lock still has token T. Tokens never repeat, so the
 *   mutex is specific to one dead lock; only mutex holders remove a lock they did not create, so the
 *   lock cannot change between the re-check and the removal. Removal is a rename to a unique name
 *   (then rm), never a non-atomic rm of the live path. The remover does not take the lock itself: it
 *   retries the normal acquisition, which one process wins.
 * - A reclaimer killed while holding a mutex leaves a stale mutex; it is reclaimed by the same rule,
 *   one level down (bounded depth). Leftover mutexes, temp and dead folders are garbage once the lock
 *   has a different token, and the next holder removes them.
 * Residual assumptions: rename is atomic and fails onto a non-empty folder (true on local POSIX file
 * systems, not on every network file system); every process touching the lock uses this protocol
 * (an empty lock folder from a foreign tool can be replaced); a holder on another host or pid
 * namespace that cannot refresh its mtime for FOREIGN_STALE_MS (frozen VM) loses the lock.
 */

export interface LockTestSeams {
  /** Test-only: awaited at the protocol's race windows so stress tests can widen them. */
  pause?: (point: 'judged-stale' | 'holding-reclaim' | 'before-remove') => Promise<void>;
}

const MAX_ATTEMPTS = 8;
const MAX_RECLAIM_DEPTH = 3;
const PREFIX = `${LOCK_DIR}.`;

export async function acquireLock(root: string, holder: LockHolder, seams: LockTestSeams = {}): Promise<() => Promise<void>> {
  const lockPath = lockPathOf(root);
  const token = randomBytes(12).toString('hex');
  const record = holderRecord(holder, token);
  let compromised = false;
  let last: SlotView | null = null;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lockfile.lock(root, {
        lockfilePath: lockPath,
        realpath: false,
        retries: 0,
        stale: FOREIGN_STALE_MS,
        update: LOCK_UPDATE_MS,
        fs: lockFs(root, record),
        // Someone removed or touched our lock (only possible when a foreign holder was judged stale
        // wrongly): stop refreshing it and never remove what may now be another process's lock.
        onCompromised: () => {
          compromised = true;
        },
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ELOCKED' && code !== 'EEXIST') throw ioError(err, 'take the lock', lockPath);
    }
    if (release) {
      await collectGarbage(root, token);
      const unlock = release;
      let released = false;
      return async () => {
        if (released || compromised) return;
        released = true;
        try {
          await unlock();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ERELEASED' && code !== 'ENOTACQUIRED' && code !== 'ELOCKED') throw ioError(err, 'release the lock', lockPath);
        }
      };
    }
    try {
      last = await inspectSlot(lockPath);
      if (!last) continue; // released meanwhile
      if (!isStale(last, Date.now())) break;
      await seams.pause?.('judged-stale');
      await removeStale(root, lockPath, slotIdentity(last), holder, 0, seams);
    } catch (err) {
      throw ioError(err, 'take over the stale lock', lockPath);
    }
  }
  throw lockedError(lockPath, last);
}

function lockedError(lockPath: string, seen: SlotView | null): DockerPrepError {
  const h = seen?.record;
  const who = h
    ? `pid ${h.pid}${h.host !== machineIdentity().host ? ` on ${h.host}` : ''} (${h.command}), since ${h.since}`
    : `an unknown process (no holder recorded in ${lockPath})`;
  return new DockerPrepError('LOCKED', `another docker-prep run holds the lock of this repo: ${who}`, {
    kind: 'locked',
    hint: h
      ? `wait for it to finish, or stop process ${h.pid}; a lock left by a killed run is taken over automatically`
      : `if no docker-prep is running, remove ${lockPath}`,
    details: { holder: h ?? null, lockPath },
  });
}

/** Creates `slot` atomically with `record` inside; false when it already exists. */
async function createSlot(root: string, slot: string, record: HolderRecord): Promise<boolean> {
  // The creator's pid is in the name: a temp folder can be judged before its holder file exists.
  const tmp = path.join(root, `${PREFIX}tmp-${record.pid}-${randomBytes(8).toString('hex')}`);
  await fsp.mkdir(tmp);
  try {
    await fsp.writeFile(path.join(tmp, HOLDER_FILE), JSON.stringify(record) + '\n');
    // Keeps `git status` quiet while a run holds the lock.
    await fsp.writeFile(path.join(tmp, '.gitignore'), '*\n');
    await fsp.rename(tmp, slot);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    // ENOENT: another holder's garbage collection took our temp folder for a dead one; just retry.
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return false;
    throw err;
  }
}

/** Atomically moves `slot` out of the way, then deletes it. */
async function removeSlot(root: string, slot: string): Promise<void> {
  const dead = path.join(root, `${PREFIX}dead-${randomBytes(8).toString('hex')}`);
  try {
    await fsp.rename(slot, dead);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await fsp.rm(dead, { recursive: true, force: true });
}

/** Removes `slot` if it still is the stale instance `identity`; at most one process does so. */
async function removeStale(root: string, slot: string, identity: string, holder: LockHolder, depth: number, seams: LockTestSeams): Promise<void> {
  const mutex = `${slot}.reclaim-${identity}`;
  const me = holderRecord({ ...holder, command: `reclaim (${holder.command})`, since: new Date().toISOString() }, randomBytes(12).toString('hex'));
  if (!(await createSlot(root, mutex, me))) {
    // Another process is reclaiming this very lock; if it died doing so, reclaim its mutex.
    const other = await inspectSlot(mutex);
    if (other && isStale(other, Date.now()) && depth < MAX_RECLAIM_DEPTH) await removeStale(root, mutex, slotIdentity(other), holder, depth + 1, seams);
    return;
  }
  try {
    await seams.pause?.('holding-reclaim');
    const now = await inspectSlot(slot);
    if (now && slotIdentity(now) === identity && isStale(now, Date.now())) {
      await seams.pause?.('before-remove');
      await removeSlot(root, slot);
    }
  } finally {
    await removeSlot(root, mutex);
  }
}

/**
 * Reclaim mutexes are garbage once the lock has another token (tokens never repeat, so a mutex for
 * an old token can never license anything again); dead folders are always garbage; temp folders
 * are garbage once their creator is gone.
 */
async function collectGarbage(root: string, token: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const rest = name.slice(PREFIX.length);
    const abs = path.join(root, name);
    if (rest.startsWith('tmp-')) {
      const v = await inspectSlot(abs).catch(() => null);
      if (!v) continue;
      const pid = Number(/^tmp-(\d+)-/.exec(rest)?.[1]);
      // Killed before its holder file was written: judge the creator by the pid in the name.
      const creator: SlotView = v.record || !Number.isInteger(pid) ? v : { ...v, record: { ...machineIdentity(), pid, command: '', since: '', token: '' } };
      if (!isStale(creator, Date.now())) continue;
    } else if (rest.startsWith('reclaim-')) {
      if (rest.startsWith(`reclaim-${token}`)) continue;
    } else if (!rest.startsWith('dead-')) continue;
    await fsp.rm(abs, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * The fs proper-lockfile uses for the lock folder: `mkdir` creates it atomically with our holder
 * record; `rmdir` removes only OUR lock (proper-lockfile would otherwise remove a lock it judges
 * stale by mtime alone, the racy path), everything else is plain fs.
 */
function lockFs(root: string, record: HolderRecord): typeof fs {
  const ownsLock = (lockPath: string): boolean => {
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(lockPath, HOLDER_FILE), 'utf8')) as Partial<HolderRecord>;
      return rec.token === record.token;
    } catch {
      return false;
    }
  };
  const notOurs = (lockPath: string): NodeJS.ErrnoException => Object.assign(new Error(`lock ${lockPath} is not ours`), { code: 'ELOCKED' });
  const custom = {
    ...fs,
    mkdir: (lockPath: string, cb: (err: NodeJS.ErrnoException | null) => void): void => {
      createSlot(root, lockPath, record).then(
        (ok) => cb(ok ? null : Object.assign(new Error(`${lockPath} exists`), { code: 'EEXIST' })),
        (err: NodeJS.ErrnoException) => cb(err),
      );
    },
    rmdir: (lockPath: string, cb: (err: NodeJS.ErrnoException | null) => void): void => {
      if (!ownsLock(lockPath)) return cb(fs.existsSync(lockPath) ? notOurs(lockPath) : null);
      removeSlot(root, lockPath).then(() => cb(null), (err: NodeJS.ErrnoException) => cb(err));
    },
    // proper-lockfile releases held locks from an exit handler, synchronously.
    rmdirSync: (lockPath: string): void => {
      if (!ownsLock(lockPath)) return;
      const dead = path.join(root, `${PREFIX}dead-${randomBytes(8).toString('hex')}`);
      fs.renameSync(lockPath, dead);
      fs.rmSync(dead, { recursive: true, force: true });
    },
  };
  return custom as unknown as typeof fs;
}
