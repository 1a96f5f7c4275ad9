/**
 * The st driver without hardware: syscalls injected, errno and MTIOCGET status bits mapped to
 * typed errors and positions by the real StTapeDevice.
 */
import { describe, expect, it } from 'vitest';
import type { MtGet, MtOps } from '../native/src/addon';
import { Gmt, type StSyscalls, StTapeDevice, stErrorFromErrno } from '../native/src/index';
import { ScsiError, ScsiTimeoutError, ScsiTransportError } from '../packages/scsi/src/index';

const OPS: MtOps = {
  MTFSF: 1,
  MTBSF: 2,
  MTFSR: 3,
  MTBSR: 4,
  MTWEOF: 5,
  MTREW: 6,
  MTOFFL: 7,
  MTEOM: 12,
  MTSETBLK: 20,
  MTSEEK: 22,
  MTLOAD: 30,
  MTUNLOAD: 31,
  MTWEOFI: 35,
};

function errnoError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

interface Script {
  write?: (block: Uint8Array, call: number) => Promise<number>;
  read?: (maxLength: number) => Promise<Uint8Array>;
  mtop?: (op: number, count: number) => Promise<void>;
  gstat?: number;
  resid?: number;
  open?: () => Promise<number>;
}

function fakeSt(script: Script): StSyscalls & { ops: MtOps; mtops: Array<[number, number]> } {
  const mtops: Array<[number, number]> = [];
  let writes = 0;
  const status = (): MtGet => ({
    type: 0,
    resid: script.resid ?? 0,
    dsreg: 0,
    gstat: script.gstat ?? Gmt.ONLINE,
    erreg: 0,
    fileno: 2,
    blkno: 5,
  });
  return {
    ops: OPS,
    mtops,
    open: script.open ?? (async () => 3),
    close: async () => undefined,
    write: async (_fd, block) => (script.write ? script.write(block, writes++) : block.length),
    read: async (_fd, max) => (script.read ? script.read(max) : new Uint8Array(max)),
    mtop: async (_fd, op, count) => {
      mtops.push([op, count]);
      if (script.mtop) await script.mtop(op, count);
    },
    mtpos: async () => 42,
    mtget: async () => status(),
    identity: async () => ({
      peripheralDeviceType: 1,
      vendor: 'ACME',
      product: 'LTO',
      revision: '1',
      serial: '',
    }),
  };
}

async function open(script: Script, extra: { timeoutMs?: number } = {}) {
  const sys = fakeSt(script);
  const device = new StTapeDevice({ path: '/dev/nst0', syscalls: sys, ...extra });
  await device.open();
  return { device, sys };
}

async function rejection(p: Promise<unknown>): Promise<ScsiError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(ScsiError);
  return e as ScsiError;
}

describe('st device with injected syscalls', () => {
  it('switches to variable blocks at open and writes immediate vs synchronous filemarks', async () => {
    const { device, sys } = await open({});
    expect(sys.mtops[0]).toEqual([OPS.MTSETBLK, 0]);
    await device.writeFilemarks(1, { immediate: true });
    await device.writeFilemarks(0, { immediate: false });
    await device.writeFilemarks(2, { immediate: false });
    expect(sys.mtops.slice(1)).toEqual([
      [OPS.MTWEOFI, 1],
      [OPS.MTWEOF, 0],
      [OPS.MTWEOF, 2],
    ]);
  });

  it('EIO on write is a medium error; with GMT_EOT it is volume overflow', async () => {
    const medium = await open({ write: async () => Promise.reject(errnoError('EIO')) });
    expect((await rejection(medium.device.writeBlock(new Uint8Array(10)))).category).toBe('medium');
    const full = await open({
      write: async () => Promise.reject(errnoError('EIO')),
      gstat: Gmt.ONLINE | Gmt.EOT,
    });
    expect((await rejection(full.device.writeBlock(new Uint8Array(10)))).category).toBe('volume-overflow');
  });

  it('ENOSPC once is early warning (st lets the retry through); ENOSPC twice is end of medium', async () => {
    const once = await open({
      write: async (b, call) => (call === 0 ? Promise.reject(errnoError('ENOSPC')) : b.length),
    });
    expect(await once.device.writeBlock(new Uint8Array(10))).toEqual({ earlyWarning: true });
    const twice = await open({ write: async () => Promise.reject(errnoError('ENOSPC')) });
    const error = await rejection(twice.device.writeBlock(new Uint8Array(10)));
    expect(error.category).toBe('volume-overflow');
    expect(error.code).toBe('ST_END_OF_MEDIUM');
  });

  it('EROFS is data-protect; ENOMEDIUM is not-ready', async () => {
    const ro = await open({ write: async () => Promise.reject(errnoError('EROFS')) });
    expect((await rejection(ro.device.writeBlock(new Uint8Array(1)))).category).toBe('data-protect');
    const nm = await open({
      mtop: async (op) => (op === OPS.MTREW ? Promise.reject(errnoError('ENOMEDIUM')) : undefined),
    });
    const error = await rejection(nm.device.rewind());
    expect(error.category).toBe('not-ready');
    expect(error.retryable).toBe(true);
  });

  it('reads: data, a zero-length read at a filemark, end of data from GMT_EOD', async () => {
    const data = await open({ read: async () => new Uint8Array([1, 2, 3]) });
    expect(await data.device.readBlock(100)).toEqual({
      kind: 'data',
      data: new Uint8Array([1, 2, 3]),
      overlength: false,
      blockLength: 3,
    });
    const fm = await open({ read: async () => new Uint8Array(0) });
    expect(await fm.device.readBlock(100)).toEqual({ kind: 'filemark' });
    const eod = await open({ read: async () => new Uint8Array(0), gstat: Gmt.ONLINE | Gmt.EOD });
    expect(await eod.device.readBlock(100)).toEqual({ kind: 'end-of-data' });
    const eio = await open({
      read: async () => Promise.reject(errnoError('EIO')),
      gstat: Gmt.ONLINE | Gmt.EOD,
    });
    expect(await eio.device.readBlock(100)).toEqual({ kind: 'end-of-data' });
  });

  it('an overlength block (ENOMEM) is re-read whole and cut to the requested length', async () => {
    let reads = 0;
    const { device, sys } = await open({
      read: async (max) => {
        reads++;
        if (reads === 1) throw errnoError('ENOMEM');
        return new Uint8Array(Math.min(max, 1000)).fill(7);
      },
    });
    const got = await device.readBlock(100);
    expect(got).toMatchObject({ kind: 'data', overlength: true, blockLength: 1000 });
    if (got.kind === 'data') expect(got.data.length).toBe(100);
    expect(sys.mtops.at(-1)).toEqual([OPS.MTBSR, 1]);
  });

  it('MTIOCGET status bits become BOT / EOM in the position; MTIOCPOS the block number', async () => {
    const bot = await open({ gstat: Gmt.ONLINE | Gmt.BOT });
    expect(await bot.device.readPosition()).toMatchObject({
      blockNumber: 42,
      bop: true,
      eop: false,
      fileNumber: 2,
    });
    const eot = await open({ gstat: Gmt.ONLINE | Gmt.EOT });
    expect(await eot.device.readPosition()).toMatchObject({ bop: false, eop: true });
    const wp = stErrorFromErrno('EACCES', 'write', 'st:/dev/nst0', Gmt.WR_PROT);
    expect(wp.category).toBe('data-protect');
    expect(await eot.device.writeFilemarks(1, { immediate: true })).toEqual({ earlyWarning: true });
  });

  it('testUnitReady: door open or offline is not-ready', async () => {
    const { device } = await open({ gstat: Gmt.DR_OPEN });
    expect((await rejection(device.testUnitReady())).category).toBe('not-ready');
  });

  it('spacing that stops early reports where, from the residue and status bits', async () => {
    const fm = await open({
      mtop: async (op) => (op === OPS.MTFSR ? Promise.reject(errnoError('EIO')) : undefined),
      gstat: Gmt.ONLINE | Gmt.EOF,
      resid: 3,
    });
    expect(await fm.device.space('blocks', 10)).toEqual({ spaced: 7, stoppedAt: 'filemark' });
    const bot = await open({
      mtop: async (op) => (op === OPS.MTBSR ? Promise.reject(errnoError('EIO')) : undefined),
      gstat: Gmt.ONLINE | Gmt.BOT,
      resid: 6,
    });
    expect(await bot.device.space('blocks', -10)).toEqual({ spaced: 4, stoppedAt: 'bot' });
  });

  it('a call that overruns its deadline rejects with ScsiTimeoutError and blocks later calls until it returns', async () => {
    let release: () => void = () => undefined;
    const { device } = await open(
      {
        mtop: (op) =>
          op === OPS.MTREW
            ? new Promise<void>((resolve) => {
                release = resolve;
              })
            : Promise.resolve(),
      },
      { timeoutMs: 50 },
    );
    const error = await rejection(device.rewind());
    expect(error).toBeInstanceOf(ScsiTimeoutError);
    expect((await rejection(device.readPosition())).code).toBe('ST_CALL_STUCK');
    release();
    await Promise.resolve();
    await Promise.resolve();
    expect((await device.readPosition()).blockNumber).toBe(42);
  });

  it('a nonexistent /dev/nst path is a typed transport error', async () => {
    const sys = fakeSt({ open: async () => Promise.reject(errnoError('ENOENT')) });
    const device = new StTapeDevice({ path: '/dev/nst9', syscalls: sys });
    const error = await rejection(device.open());
    expect(error).toBeInstanceOf(ScsiTransportError);
    expect((error as ScsiTransportError).errno).toBe('ENOENT');
    expect(error.retryable).toBe(false);
  });

  it('refuses append-only and ALLOW OVERWRITE (st cannot send them)', async () => {
    const { device } = await open({});
    expect((await rejection(device.setAppendOnly(true))).category).toBe('illegal-request');
    expect((await rejection(device.allowOverwrite(0))).category).toBe('illegal-request');
  });
});
