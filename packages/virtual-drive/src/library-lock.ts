/**
 * A cross-process lock file: created with O_EXCL (`wx`), holding the owner's pid and host. A lock
 * whose owner process no longer exists on this host is stale and is taken over.
 */

import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { LibraryLockedError } from './library-errors';

interface LockOwner {
  pid: number;
  host: string;
}

export interface LockOptions {
  /** Give up with `LibraryLockedError` after waiting this long. */
  timeoutMs: number;
}

/** Releases the lock; idempotent. */
export type ReleaseLock = () => Promise<void>;

const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 100;

/** Acquires `path`, waiting (with capped backoff) while a live process holds it. */
export async function acquireLock(path: string, options: LockOptions): Promise<ReleaseLock> {
  const deadline = performance.now() + options.timeoutMs;
  const me: LockOwner = { pid: process.pid, host: hostname() };
  let wait = FIRST_RETRY_MS;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(path);
    if (owner !== undefined && isStale(owner)) {
      await takeOverStale(path, owner);
      continue;
    }
    if (performance.now() >= deadline) throw new LibraryLockedError(path, owner?.pid);
    // Polling is inherent to lock files; the backoff keeps it cheap.
    await delay(Math.min(wait, Math.max(1, deadline - performance.now())));
    wait = Math.min(wait * 2, MAX_RETRY_MS);
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      Number.isInteger((parsed as LockOwner).pid) &&
      typeof (parsed as LockOwner).host === 'string'
    ) {
      return parsed as LockOwner;
    }
  } catch {
    // Missing (just released) or half written (just created): treat as live and retry.
  }
  return undefined;
}

function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes a stale lock without racing another process that takes it over at the same time: the lock
 * is first renamed to a private name (atomic, so only one process gets it), then checked again. If
 * what we moved turns out to be a fresh lock, it is put back with link(), which fails rather than
 * overwrite a lock created in the meantime.
 */
async function takeOverStale(path: string, stale: LockOwner): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else moved it first
  }
  const moved = await readOwner(aside);
  if (moved !== undefined && (moved.pid !== stale.pid || moved.host !== stale.host)) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}
