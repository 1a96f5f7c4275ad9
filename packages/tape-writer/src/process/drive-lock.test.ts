import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DriveLockedError, lockDrive } from './drive-lock';

const dir = mkdtempSync(join(tmpdir(), 'drive-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lockDrive', () => {
  it('refuses a drive held by a live process and frees it on release', async () => {
    const path = join(dir, 'a.lock');
    const lock = await lockDrive(path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ pid: process.pid, host: hostname() });
    await expect(lockDrive(path)).rejects.toBeInstanceOf(DriveLockedError);
    await expect(lockDrive(path)).rejects.toMatchObject({ code: 'DRIVE_LOCKED', ownerPid: process.pid });
    await lock.release();
    const again = await lockDrive(path);
    again.releaseSync();
  });

  it('takes over the lock of a process that no longer exists', async () => {
    const path = join(dir, 'b.lock');
    // A pid that existed and is gone: a child that already exited.
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    writeFileSync(path, JSON.stringify({ pid: Number(dead), host: hostname() }));
    const lock = await lockDrive(path);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });
});
