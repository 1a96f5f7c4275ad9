/**
 * One writer per drive: a lock file created with O_EXCL holding the owner's pid and host. A lock
 * whose process is gone (same host, ESRCH) is stale and taken over; a live one refuses the drive.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

export class DriveLockedError extends Error {
  override readonly name = 'DriveLockedError';
  readonly code = 'DRIVE_LOCKED';
  constructor(
    readonly path: string,
    readonly ownerPid: number | undefined,
  ) {
    super(`drive is held by another writer${ownerPid === undefined ? '' : ` (pid ${ownerPid})`}: ${path}`);
  }
}

interface Owner {
  pid: number;
  host: string;
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Owner>;
    if (Number.isInteger(parsed.pid) && typeof parsed.host === 'string') return parsed as Owner;
  } catch {
    // Absent or half written.
  }
  return undefined;
}

function alive(owner: Owner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface DriveLock {
  readonly path: string;
  /** Removes the lock if it is still ours. Idempotent. */
  release(): Promise<void>;
  /** Synchronous variant for `process.on('exit')`. */
  releaseSync(): void;
}

/** Takes the drive lock at `path` or throws `DriveLockedError` at once (no waiting). */
export async function lockDrive(path: string): Promise<DriveLock> {
  const me: Owner = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      let released = false;
      const { readFileSync, unlinkSync } = await import('node:fs');
      const ours = (text: string) => {
        try {
          const o = JSON.parse(text) as Owner;
          return o.pid === me.pid && o.host === me.host;
        } catch {
          return false;
        }
      };
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          if (ours(await readFile(path, 'utf8').catch(() => ''))) await unlink(path).catch(() => undefined);
        },
        releaseSync() {
          if (released) return;
          released = true;
          try {
            if (ours(readFileSync(path, 'utf8'))) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(path);
    if (owner === undefined || alive(owner)) throw new DriveLockedError(path, owner?.pid);
    // Stale: move it aside atomically (only one contender wins the rename), then retry.
    await rename(path, `${path}.stale.${process.pid}`).catch(() => undefined);
    await unlink(`${path}.stale.${process.pid}`).catch(() => undefined);
  }
  throw new DriveLockedError(path, undefined);
}
