import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualLibrary, type VirtualLibraryOptions } from './library';
import {
  CartridgeMountedError,
  DriveEmptyError,
  DriveOccupiedError,
  InvalidBarcodeError,
  LibraryLockedError,
  LibraryOptionError,
  LibraryStateError,
  NoScratchMediaError,
  UnknownCartridgeError,
  UnknownDriveError,
  UnknownPoolError,
} from './library-errors';
import { CartridgeWriteProtectedError } from './tgt-errors';

const MiB = 1024 * 1024;
const CHILD = fileURLToPath(new URL('./library-child.fixture.ts', import.meta.url));

let dir: string;
const children: ChildProcessWithoutNullStreams[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlib-'));
});
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const small: VirtualLibraryOptions = { pools: { default: 3, offsite: 2 }, capacityBytes: 8 * MiB, drives: 2 };

function child(...args: string[]): { proc: ChildProcessWithoutNullStreams; lines: AsyncIterator<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: process.cwd() });
  children.push(proc);
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return { proc, lines };
}

async function nextLine(lines: AsyncIterator<string>): Promise<string> {
  const { value, done } = await lines.next();
  if (done) throw new Error('child closed stdout');
  return value;
}

describe('VirtualLibrary creation and persistence', () => {
  it('creates LTO-style barcoded cartridges per pool, all scratch, and drives on first use', async () => {
    const library = await VirtualLibrary.open(dir, { ...small, now: () => 1_700_000_000_000 });
    const list = await library.list();
    expect(list.map((c) => [c.barcode, c.pool, c.state])).toEqual([
      ['TD0001L9', 'default', 'scratch'],
      ['TD0002L9', 'default', 'scratch'],
      ['TD0003L9', 'default', 'scratch'],
      ['TD0004L9', 'offsite', 'scratch'],
      ['TD0005L9', 'offsite', 'scratch'],
    ]);
    expect(list.every((c) => c.capacityBytes === 8 * MiB && c.updatedAt === 1_700_000_000_000)).toBe(true);
    expect(await library.drives()).toEqual([{ name: 'drive0' }, { name: 'drive1' }]);
    expect(await library.pools()).toEqual(['default', 'offsite']);
    expect((await readdir(join(dir, 'cartridges'))).sort()).toEqual(list.map((c) => `${c.barcode}.img`));
    const medium = await library.openMedium('TD0004L9');
    expect(medium.info()).toMatchObject({ barcode: 'TD0004L9', capacityBytes: 8 * MiB });
    expect(medium.mam.mediaPool).toBe('offsite');
    expect(medium.objectCount()).toBe(0);
    await medium.close();
  });

  it('honours barcode prefix, media suffix and named drives', async () => {
    const library = await VirtualLibrary.open(dir, {
      pools: { p: 2 },
      capacityBytes: MiB,
      barcodePrefix: 'ABC',
      mediaSuffix: 'L8',
      drives: ['left', 'right'],
    });
    expect((await library.list()).map((c) => c.barcode)).toEqual(['ABC001L8', 'ABC002L8']);
    expect((await library.drives()).map((d) => d.name)).toEqual(['left', 'right']);
  });

  it('keeps states, mounts and media contents across reopen; creation options no longer apply', async () => {
    const first = await VirtualLibrary.open(dir, small);
    const barcode = await first.allocateScratch('default');
    await first.mount('drive1', barcode);
    await first.setState('TD0002L9', 'frozen', 'write errors');
    const medium = await first.openMedium(barcode);
    await medium.append([
      { kind: 'data', length: 10, data: new Uint8Array(10).fill(7) },
      { kind: 'filemark' },
    ]);
    await medium.close();

    const second = await VirtualLibrary.open(dir, { pools: { other: 9 }, capacityBytes: MiB });
    const list = await second.list();
    expect(list).toHaveLength(5);
    expect(list.find((c) => c.barcode === barcode)).toMatchObject({ state: 'active', drive: 'drive1' });
    expect(list.find((c) => c.barcode === 'TD0002L9')).toMatchObject({
      state: 'frozen',
      reason: 'write errors',
    });
    expect(await second.mountedIn('drive1')).toBe(barcode);
    const reopened = await second.openMedium(barcode);
    expect(reopened.objectCount()).toBe(2);
    expect(await reopened.readData(0)).toEqual(new Uint8Array(10).fill(7));
    await reopened.close();
  });

  it('writes the state as JSON and reports a corrupt state file with a typed error', async () => {
    const library = await VirtualLibrary.open(dir, small);
    const state = JSON.parse(await readFile(join(dir, 'library.json'), 'utf8'));
    expect(state.version).toBe(1);
    expect(state.cartridges).toHaveLength(5);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
    await writeFile(join(dir, 'library.json'), '{"version": 1, "drives": []');
    await expect(library.list()).rejects.toBeInstanceOf(LibraryStateError);
    await writeFile(
      join(dir, 'library.json'),
      JSON.stringify({ ...state, cartridges: [{ barcode: '../x' }] }),
    );
    await expect(library.list()).rejects.toMatchObject({ code: 'LIBRARY_STATE_CORRUPT' });
  });

  it.each([
    ['pools', { pools: {} }],
    ['pools.default', { pools: { default: -1 } }],
    ['pools', { pools: { 'bad name': 1 } }],
    ['capacityBytes', { capacityBytes: 0 }],
    ['barcodePrefix', { barcodePrefix: 'td' }],
    ['barcodePrefix', { barcodePrefix: 'ABCDEF' }],
    ['mediaSuffix', { mediaSuffix: 'LTO9' }],
    ['drives', { drives: 0 }],
    ['drives', { drives: ['a', 'a'] }],
    ['drives', { drives: ['../d'] }],
    ['lockTimeoutMs', { lockTimeoutMs: -1 }],
    ['pools', { pools: { default: 100 }, barcodePrefix: 'ABCD' }],
  ])('rejects a bad %s option naming it', async (option, options) => {
    const error = await VirtualLibrary.open(dir, options as VirtualLibraryOptions).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibraryOptionError);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', option });
  });
});

describe('VirtualLibrary scratch allocation and states', () => {
  it('allocates the lowest scratch barcode of the pool, skipping exclusions, until none is left', async () => {
    const library = await VirtualLibrary.open(dir, small);
    expect(await library.allocateScratch('default')).toBe('TD0001L9');
    expect(await library.allocateScratch('default', { exclude: ['TD0002L9'] })).toBe('TD0003L9');
    expect(await library.allocateScratch('offsite')).toBe('TD0004L9');
    await expect(library.allocateScratch('default', { exclude: ['TD0002L9'] })).rejects.toBeInstanceOf(
      NoScratchMediaError,
    );
    expect(await library.allocateScratch('default')).toBe('TD0002L9');
    await expect(library.allocateScratch('default')).rejects.toMatchObject({
      code: 'NO_SCRATCH_MEDIA',
      pool: 'default',
    });
    await expect(library.allocateScratch('nope')).rejects.toBeInstanceOf(UnknownPoolError);
    const states = (await library.list()).map((c) => c.state);
    expect(states).toEqual(['active', 'active', 'active', 'active', 'scratch']);
  });

  it('returns an expired medium to scratch and allocates it again; full and frozen are never allocated', async () => {
    const library = await VirtualLibrary.open(dir, { ...small, pools: { default: 3 } });
    await library.setState('TD0001L9', 'full', 'end of medium');
    await library.setState('TD0002L9', 'frozen');
    expect(await library.allocateScratch('default')).toBe('TD0003L9');
    await expect(library.allocateScratch('default')).rejects.toBeInstanceOf(NoScratchMediaError);
    await library.setState('TD0001L9', 'scratch', 'expired');
    expect(await library.cartridge('TD0001L9')).toMatchObject({ state: 'scratch', reason: 'expired' });
    expect(await library.allocateScratch('default')).toBe('TD0001L9');
    await expect(library.setState('TD0001L9', 'lost' as never)).rejects.toMatchObject({ option: 'state' });
    await expect(library.setState('TD9999L9', 'full')).rejects.toBeInstanceOf(UnknownCartridgeError);
  });

  it('opens frozen or write-protected media write protected', async () => {
    const library = await VirtualLibrary.open(dir, small);
    await library.setState('TD0001L9', 'frozen');
    const frozen = await library.openMedium('TD0001L9');
    expect(frozen.info().writeProtected).toBe(true);
    await expect(frozen.append([{ kind: 'filemark' }])).rejects.toBeInstanceOf(CartridgeWriteProtectedError);
    await frozen.close();
    await library.setWriteProtected('TD0002L9', true);
    const locked = await library.openMedium('TD0002L9');
    expect(locked.info().writeProtected).toBe(true);
    await locked.close();
    const open = await library.openMedium('TD0003L9');
    expect(open.info().writeProtected).toBe(false);
    await open.close();
  });
});

describe('VirtualLibrary mount rules', () => {
  it('puts a cartridge in at most one drive and at most one cartridge in a drive', async () => {
    const library = await VirtualLibrary.open(dir, small);
    await library.mount('drive0', 'TD0001L9');
    await library.mount('drive0', 'TD0001L9'); // already there: no-op
    await expect(library.mount('drive1', 'TD0001L9')).rejects.toMatchObject({
      code: 'CARTRIDGE_MOUNTED',
      barcode: 'TD0001L9',
      drive: 'drive0',
    });
    const occupied = await library.mount('drive0', 'TD0002L9').catch((e: unknown) => e);
    expect(occupied).toBeInstanceOf(DriveOccupiedError);
    expect(occupied).toMatchObject({ drive: 'drive0', mounted: 'TD0001L9' });
    await library.mount('drive1', 'TD0002L9');
    expect(await library.drives()).toEqual([
      { name: 'drive0', barcode: 'TD0001L9' },
      { name: 'drive1', barcode: 'TD0002L9' },
    ]);
    expect(await library.unmount('drive0')).toBe('TD0001L9');
    expect(await library.mountedIn('drive0')).toBeUndefined();
    await expect(library.unmount('drive0')).rejects.toBeInstanceOf(DriveEmptyError);
    await library.mount('drive0', 'TD0001L9');
    await expect(library.mount('drive9', 'TD0003L9')).rejects.toBeInstanceOf(UnknownDriveError);
    await expect(library.mountedIn('drive9')).rejects.toMatchObject({
      code: 'UNKNOWN_DRIVE',
      drive: 'drive9',
    });
    await expect(library.mount('drive0', 'TD0009L9')).rejects.toBeInstanceOf(UnknownCartridgeError);
    await expect(library.mount('drive1', 'TD0001L9')).rejects.toBeInstanceOf(CartridgeMountedError);
  });
});

describe('VirtualLibrary barcodes', () => {
  it.each(['../TD0001L9', 'a/b', '..', '.hidden', 'TD 01', '', 'x'.repeat(32), 'TD0001L9.img\0'])(
    'rejects %j before touching the file system',
    async (barcode) => {
      const library = await VirtualLibrary.open(dir, small);
      expect(() => library.cartridgePath(barcode)).toThrow(InvalidBarcodeError);
      await expect(library.openMedium(barcode)).rejects.toMatchObject({ code: 'INVALID_BARCODE' });
      await expect(library.mount('drive0', barcode)).rejects.toBeInstanceOf(InvalidBarcodeError);
    },
  );

  it('maps a valid barcode inside the cartridges directory', async () => {
    const library = await VirtualLibrary.open(dir, small);
    expect(library.cartridgePath('TD0001L9')).toBe(join(dir, 'cartridges', 'TD0001L9.img'));
  });
});

describe('VirtualLibrary across processes', () => {
  it('waits for another process holding the lock and times out naming its pid', async () => {
    const library = await VirtualLibrary.open(dir, { ...small, lockTimeoutMs: 150 });
    const patient = await VirtualLibrary.open(dir, { lockTimeoutMs: 20_000 });
    const holder = child('hold', join(dir, 'library.lock'));
    expect(await nextLine(holder.lines)).toBe('locked');
    let settled = false;
    const allocation = patient.allocateScratch('default').finally(() => {
      settled = true;
    });
    const error = await library.allocateScratch('default').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibraryLockedError);
    expect(error).toMatchObject({ code: 'LIBRARY_LOCKED', holderPid: holder.proc.pid });

    // The patient call, started before the impatient one gave up, is still waiting; it completes
    // once the holder lets go.
    expect(settled).toBe(false);
    holder.proc.stdin.write('release\n');
    expect(await nextLine(holder.lines)).toBe('released');
    expect(await allocation).toBe('TD0001L9');
  });

  it('takes over a lock left by a process that died', async () => {
    const library = await VirtualLibrary.open(dir, { ...small, lockTimeoutMs: 5_000 });
    const holder = child('hold', join(dir, 'library.lock'));
    expect(await nextLine(holder.lines)).toBe('locked');
    holder.proc.kill('SIGKILL');
    await once(holder.proc, 'exit');
    expect(JSON.parse(await readFile(join(dir, 'library.lock'), 'utf8')).pid).toBe(holder.proc.pid);
    expect(await library.allocateScratch('default')).toBe('TD0001L9');
    expect((await readdir(dir)).filter((f) => f.includes('lock'))).toEqual([]);
  });

  it('two processes creating and allocating from one new library never hand out a cartridge twice', async () => {
    const a = child('allocate', dir, 'default', '5');
    const b = child('allocate', dir, 'default', '5');
    const [fromA, fromB] = await Promise.all([nextLine(a.lines), nextLine(b.lines)]);
    const all = [...JSON.parse(fromA), ...JSON.parse(fromB)] as string[];
    expect(all).toHaveLength(10);
    expect(new Set(all).size).toBe(10);
    const library = await VirtualLibrary.open(dir);
    const list = await library.list();
    expect(list).toHaveLength(12);
    expect(list.filter((c) => c.state === 'active').map((c) => c.barcode)).toEqual([...all].sort());
  }, 60_000);
});
