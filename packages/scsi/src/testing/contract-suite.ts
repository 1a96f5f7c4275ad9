/**
 * The reusable `TapeDevice` contract suite. Every device implementation (virtual, iSCSI, SG_IO, st)
 * runs it with a factory that yields an OPENED device holding a fresh, blank, writable medium at BOT:
 *
 * ```ts
 * import { describeTapeDeviceContract } from '@tapedup/scsi/contract';
 * describeTapeDeviceContract('virtual drive', async () => {
 *   const device = makeDevice();
 *   await device.open();
 *   return { device, cleanup: () => device.close() };
 * });
 * ```
 *
 * Capability gaps are never skipped: when `capabilities()` says a feature is missing, the case asserts
 * that the device refuses it with category `illegal-request` (or, for READ POSITION, that the device
 * still reports the position it counted itself). Every case uses its own device from the factory.
 *
 * Conventions the suite pins down where the TSDoc leaves room:
 * - `SpaceResult.spaced` counts the units asked for (blocks or filemarks); when spacing blocks stops
 *   at a filemark, the filemark is not counted (SSC: the residue is the count minus the blocks spaced).
 * - Reading a blank medium either yields `end-of-data` or rejects with `blank-check`/`end-of-data`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadResult, TapeDevice } from '../device';
import { ScsiError } from '../errors';

export interface ContractDeviceHandle {
  device: TapeDevice;
  cleanup(): Promise<void>;
}

export type ContractDeviceFactory = () => Promise<ContractDeviceHandle>;

/** A block whose bytes identify it: `seed` picks the pattern, so a misplaced block cannot compare equal. */
export function patternBlock(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const READ_MAX = 256 * 1024;

type Expected = { data: Uint8Array } | 'filemark' | 'eod';

async function expectSequence(device: TapeDevice, expected: ReadonlyArray<Expected>): Promise<void> {
  for (const [i, want] of expected.entries()) {
    const got = await device.readBlock(READ_MAX);
    describeRead(got, want, i);
  }
}

function describeRead(got: ReadResult, want: Expected, index: number): void {
  const label = `object ${index}`;
  if (want === 'filemark') {
    expect(got.kind, label).toBe('filemark');
  } else if (want === 'eod') {
    expect(got.kind, label).toBe('end-of-data');
  } else {
    expect(got.kind, label).toBe('data');
    if (got.kind === 'data') {
      expect(got.overlength, label).toBe(false);
      expect(got.blockLength, label).toBe(want.data.length);
      expect(Buffer.from(got.data).equals(Buffer.from(want.data)), `${label} bytes`).toBe(true);
    }
  }
}

async function expectRejection(promise: Promise<unknown>, categories: string[]): Promise<ScsiError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'the command must reject').toBeInstanceOf(ScsiError);
  const error = caught as ScsiError;
  expect(categories).toContain(error.category);
  return error;
}

async function position(device: TapeDevice): Promise<number> {
  return (await device.readPosition()).blockNumber;
}

async function sync(device: TapeDevice): Promise<void> {
  await device.writeFilemarks(0, { immediate: false });
}

export function describeTapeDeviceContract(name: string, factory: ContractDeviceFactory): void {
  describe(`TapeDevice contract: ${name}`, () => {
    let handles: ContractDeviceHandle[] = [];

    async function fresh(): Promise<TapeDevice> {
      const handle = await factory();
      handles.push(handle);
      return handle.device;
    }

    afterEach(async () => {
      const toClean = handles;
      handles = [];
      for (const handle of toClean) await handle.cleanup();
    });

    describe('identity and capabilities', () => {
      it('reports a sequential-access device with a plausible identity', async () => {
        const device = await fresh();
        const id = await device.inquiry();
        expect(id.peripheralDeviceType).toBe(1);
        expect(id.vendor.trim().length).toBeGreaterThan(0);
        expect(id.vendor.length).toBeLessThanOrEqual(8);
        expect(id.product.trim().length).toBeGreaterThan(0);
        expect(id.product.length).toBeLessThanOrEqual(16);
        expect(id.revision.length).toBeLessThanOrEqual(4);
      });

      it('has sane capabilities', async () => {
        const device = await fresh();
        const caps = device.capabilities();
        expect(caps.maxBlockSize).toBeGreaterThanOrEqual(64 * 1024);
        expect(caps.minBlockSize).toBeGreaterThanOrEqual(1);
        expect(caps.minBlockSize).toBeLessThanOrEqual(caps.maxBlockSize);
        // ALLOW OVERWRITE only exists to lift append-only refusals.
        if (caps.allowOverwrite) expect(caps.appendOnly).toBe(true);
        // Buffered counts are part of READ POSITION.
        if (caps.bufferedCounts) expect(caps.readPosition).toBe(true);
      });

      it('is ready and at BOT', async () => {
        const device = await fresh();
        await device.testUnitReady();
        const pos = await device.readPosition();
        expect(pos.blockNumber).toBe(0);
        expect(pos.bop).toBe(true);
        expect(pos.eop).toBe(false);
      });

      it('reads a blank medium as end of data', async () => {
        const device = await fresh();
        try {
          const got = await device.readBlock(READ_MAX);
          expect(got.kind).toBe('end-of-data');
        } catch (error) {
          expect(error).toBeInstanceOf(ScsiError);
          expect(['blank-check', 'end-of-data']).toContain((error as ScsiError).category);
        }
        expect(await position(device)).toBe(0);
      });
    });

    describe('write and read back', () => {
      it('reads back exactly the blocks and filemarks written, then end of data', async () => {
        const device = await fresh();
        const blocks = [
          patternBlock(1, 1),
          patternBlock(2, 512),
          patternBlock(3, 65536),
          patternBlock(4, 1000),
          patternBlock(5, 4096),
        ];
        for (const b of blocks.slice(0, 3)) {
          expect((await device.writeBlock(b)).earlyWarning).toBe(false);
        }
        await device.writeFilemarks(1, { immediate: true });
        for (const b of blocks.slice(3)) await device.writeBlock(b);
        await device.writeFilemarks(1, { immediate: false });
        expect(await position(device)).toBe(7);
        await device.rewind();
        expect((await device.readPosition()).bop).toBe(true);
        const [b1, b2, b3, b4, b5] = blocks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
        await expectSequence(device, [
          { data: b1 },
          { data: b2 },
          { data: b3 },
          'filemark',
          { data: b4 },
          { data: b5 },
          'filemark',
          'eod',
        ]);
        // End of data leaves the position where it was; reading again meets it again.
        expect(await position(device)).toBe(7);
        expect((await device.readBlock(READ_MAX)).kind).toBe('end-of-data');
      });

      it('returns the head of an overlength block with its real length, and moves past it', async () => {
        const device = await fresh();
        const big = patternBlock(7, 1000);
        const next = patternBlock(8, 300);
        await device.writeBlock(big);
        await device.writeBlock(next);
        await sync(device);
        await device.rewind();
        const got = await device.readBlock(100);
        expect(got.kind).toBe('data');
        if (got.kind !== 'data') return;
        expect(got.overlength).toBe(true);
        expect(got.blockLength).toBe(1000);
        expect(got.data.length).toBe(100);
        expect(Buffer.from(got.data).equals(Buffer.from(big.subarray(0, 100)))).toBe(true);
        expect(await position(device)).toBe(1);
        // A short block (shorter than asked for) is not an error and not overlength.
        const short = await device.readBlock(4096);
        expect(short.kind).toBe('data');
        if (short.kind !== 'data') return;
        expect(short.overlength).toBe(false);
        expect(short.blockLength).toBe(300);
        expect(Buffer.from(short.data).equals(Buffer.from(next))).toBe(true);
      });

      it('appends after spacing to end of data', async () => {
        const device = await fresh();
        const a = patternBlock(10, 2000);
        const b = patternBlock(11, 3000);
        await device.writeBlock(a);
        await device.writeFilemarks(1, { immediate: false });
        await device.rewind();
        if (device.capabilities().spaceToEndOfData) {
          await device.space('end-of-data', 0);
        } else {
          await expectRejection(device.space('end-of-data', 0), ['illegal-request']);
          await device.space('filemarks', 1);
        }
        expect(await position(device)).toBe(2);
        await device.writeBlock(b);
        await sync(device);
        await device.rewind();
        await expectSequence(device, [{ data: a }, 'filemark', { data: b }, 'eod']);
      });
    });

    describe('space', () => {
      // Layout used below: 0..4 data, 5 FM, 6..8 data, 9 FM, 10 data, EOD at 11.
      async function layout(device: TapeDevice): Promise<Uint8Array[]> {
        const blocks: Uint8Array[] = [];
        for (let i = 0; i < 9; i++) blocks.push(patternBlock(100 + i, 512 + i));
        for (const b of blocks.slice(0, 5)) await device.writeBlock(b);
        await device.writeFilemarks(1, { immediate: true });
        for (const b of blocks.slice(5, 8)) await device.writeBlock(b);
        await device.writeFilemarks(1, { immediate: true });
        await device.writeBlock(blocks[8]!);
        await sync(device);
        expect(await position(device)).toBe(11);
        await device.rewind();
        return blocks;
      }

      it('spaces blocks forward and stops after a filemark', async () => {
        const device = await fresh();
        const blocks = await layout(device);
        expect(await device.space('blocks', 2)).toEqual({ spaced: 2 });
        expect(await position(device)).toBe(2);
        await expectSequence(device, [{ data: blocks[2]! }]);
        const hit = await device.space('blocks', 10);
        expect(hit.stoppedAt).toBe('filemark');
        expect(hit.spaced).toBe(2);
        // Forward: the position is on the EOD side of the filemark.
        expect(await position(device)).toBe(6);
        await expectSequence(device, [{ data: blocks[5]! }]);
      });

      it('spaces blocks backward, stopping before a filemark and at BOT', async () => {
        const device = await fresh();
        const blocks = await layout(device);
        await device.space('filemarks', 1);
        expect(await position(device)).toBe(6);
        const back = await device.space('blocks', -1);
        // Backward: the position is on the BOT side of the filemark.
        expect(back.stoppedAt).toBe('filemark');
        expect(back.spaced).toBe(0);
        expect(await position(device)).toBe(5);
        expect(await device.space('blocks', -2)).toEqual({ spaced: 2 });
        expect(await position(device)).toBe(3);
        await expectSequence(device, [{ data: blocks[3]! }]);
        const bot = await device.space('blocks', -10);
        expect(bot.stoppedAt).toBe('bot');
        expect(bot.spaced).toBe(4);
        const pos = await device.readPosition();
        expect(pos.blockNumber).toBe(0);
        expect(pos.bop).toBe(true);
      });

      it('stops spacing blocks at end of data', async () => {
        const device = await fresh();
        const blocks = await layout(device);
        await device.space('filemarks', 2);
        const eod = await device.space('blocks', 5);
        expect(eod.stoppedAt).toBe('end-of-data');
        expect(eod.spaced).toBe(1);
        expect(await position(device)).toBe(11);
        // The block before EOD is the last one written.
        await device.space('blocks', -1);
        await expectSequence(device, [{ data: blocks[8]! }, 'eod']);
      });

      it('spaces filemarks forward and backward, stopping at EOD and BOT', async () => {
        const device = await fresh();
        const blocks = await layout(device);
        expect(await device.space('filemarks', 1)).toEqual({ spaced: 1 });
        expect(await position(device)).toBe(6);
        const eod = await device.space('filemarks', 5);
        expect(eod.stoppedAt).toBe('end-of-data');
        expect(eod.spaced).toBe(1);
        expect(await position(device)).toBe(11);
        // Backward over filemarks ends on the BOT side of the last one passed.
        expect(await device.space('filemarks', -1)).toEqual({ spaced: 1 });
        expect(await position(device)).toBe(9);
        await expectSequence(device, ['filemark', { data: blocks[8]! }]);
        const bot = await device.space('filemarks', -5);
        expect(bot.stoppedAt).toBe('bot');
        expect(bot.spaced).toBe(2);
        expect(await position(device)).toBe(0);
        await expectSequence(device, [{ data: blocks[0]! }]);
      });

      it('spaces to end of data when supported, and refuses it otherwise', async () => {
        const device = await fresh();
        await layout(device);
        if (device.capabilities().spaceToEndOfData) {
          await device.space('end-of-data', 0);
          expect(await position(device)).toBe(11);
          expect((await device.readBlock(READ_MAX)).kind).toBe('end-of-data');
        } else {
          await expectRejection(device.space('end-of-data', 0), ['illegal-request']);
        }
      });
    });

    describe('position', () => {
      it('counts blocks and filemarks through writes, reads and spaces', async () => {
        const device = await fresh();
        expect(await position(device)).toBe(0);
        for (let i = 0; i < 3; i++) await device.writeBlock(patternBlock(20 + i, 800));
        expect(await position(device)).toBe(3);
        await device.writeFilemarks(2, { immediate: true });
        expect(await position(device)).toBe(5);
        await device.writeBlock(patternBlock(30, 800));
        await sync(device);
        const afterSync = await device.readPosition();
        expect(afterSync.blockNumber).toBe(6);
        expect(afterSync.bop).toBe(false);
        await device.rewind();
        await device.readBlock(READ_MAX);
        await device.readBlock(READ_MAX);
        expect(await position(device)).toBe(2);
        await device.space('filemarks', 1);
        expect(await position(device)).toBe(4);
        expect((await device.readBlock(READ_MAX)).kind).toBe('filemark');
        expect(await position(device)).toBe(5);
        // Objects 3 and 4 are filemarks: spacing blocks backward stops on the BOT side of the first.
        const back = await device.space('blocks', -2);
        expect(back).toEqual({ spaced: 0, stoppedAt: 'filemark' });
        expect(await position(device)).toBe(4);
      });

      it('reports an empty buffer after a flush (or no buffered counts at all)', async () => {
        const device = await fresh();
        await device.writeBlock(patternBlock(40, 4096));
        await device.writeBlock(patternBlock(41, 4096));
        const before = await device.readPosition();
        await sync(device);
        const after = await device.readPosition();
        if (device.capabilities().bufferedCounts) {
          expect(before.blocksInBuffer).toBeGreaterThanOrEqual(0);
          expect(before.blocksInBuffer).toBeLessThanOrEqual(2);
          expect(before.bytesInBuffer).toBeLessThanOrEqual(8192);
          expect(after.blocksInBuffer).toBe(0);
          expect(after.bytesInBuffer).toBe(0);
        } else {
          expect(after.blocksInBuffer ?? 0).toBe(0);
          expect(after.bytesInBuffer ?? 0).toBe(0);
        }
        expect(after.blockNumber).toBe(2);
      });

      it('locates to a logical object when supported, and refuses otherwise', async () => {
        const device = await fresh();
        const blocks = [0, 1, 2, 3, 4].map((i) => patternBlock(50 + i, 700));
        for (const b of blocks) await device.writeBlock(b);
        await device.writeFilemarks(1, { immediate: false });
        if (!device.capabilities().locate) {
          await expectRejection(device.locate(2), ['illegal-request']);
          return;
        }
        await device.locate(3);
        expect(await position(device)).toBe(3);
        await expectSequence(device, [{ data: blocks[3]! }]);
        await device.locate(5);
        await expectSequence(device, ['filemark', 'eod']);
        await device.locate(1);
        await expectSequence(device, [{ data: blocks[1]! }]);
        await device.locate(0);
        expect((await device.readPosition()).bop).toBe(true);
        await expectRejection(device.locate(40), ['blank-check', 'end-of-data']);
      });
    });

    describe('filemarks', () => {
      it('flushes with a synchronous zero-count filemark without writing a mark', async () => {
        const device = await fresh();
        const a = patternBlock(60, 5000);
        await device.writeBlock(a);
        const result = await device.writeFilemarks(0, { immediate: false });
        expect(result.earlyWarning).toBe(false);
        expect(await position(device)).toBe(1);
        await device.rewind();
        await expectSequence(device, [{ data: a }, 'eod']);
      });

      it('writes immediate filemarks that count as objects', async () => {
        const device = await fresh();
        const a = patternBlock(61, 100);
        await device.writeBlock(a);
        const result = await device.writeFilemarks(2, { immediate: true });
        expect(result.earlyWarning).toBe(false);
        expect(await position(device)).toBe(3);
        await device.writeBlock(a);
        await device.writeFilemarks(1, { immediate: true });
        await device.rewind();
        await expectSequence(device, [{ data: a }, 'filemark', 'filemark', { data: a }, 'filemark', 'eod']);
      });
    });

    describe('overwrite', () => {
      it('truncates everything after a write in the middle', async () => {
        const device = await fresh();
        const caps = device.capabilities();
        if (caps.appendOnly) await device.setAppendOnly(false);
        const blocks = [0, 1, 2, 3, 4].map((i) => patternBlock(70 + i, 900));
        for (const b of blocks) await device.writeBlock(b);
        await device.writeFilemarks(1, { immediate: false });
        await device.rewind();
        await device.space('blocks', 2);
        const replacement = patternBlock(99, 1234);
        await device.writeBlock(replacement);
        await sync(device);
        expect(await position(device)).toBe(3);
        await device.rewind();
        await expectSequence(device, [
          { data: blocks[0]! },
          { data: blocks[1]! },
          { data: replacement },
          'eod',
        ]);
      });

      it('refuses overwrites in append-only mode, or refuses the mode', async () => {
        const device = await fresh();
        const caps = device.capabilities();
        if (!caps.appendOnly) {
          await expectRejection(device.setAppendOnly(true), ['illegal-request']);
          return;
        }
        await device.setAppendOnly(true);
        const blocks = [0, 1, 2].map((i) => patternBlock(80 + i, 600));
        for (const b of blocks) await device.writeBlock(b);
        await sync(device);
        await device.rewind();
        await device.space('blocks', 1);
        await expectRejection(device.writeBlock(patternBlock(90, 600)), ['data-protect']);
        await expectRejection(device.writeFilemarks(1, { immediate: false }), ['data-protect']);
        // Nothing was overwritten.
        await device.rewind();
        await expectSequence(device, [
          { data: blocks[0]! },
          { data: blocks[1]! },
          { data: blocks[2]! },
          'eod',
        ]);
        // At end of data, append-only mode appends.
        const tail = patternBlock(91, 600);
        await device.writeBlock(tail);
        await sync(device);
        expect(await position(device)).toBe(4);
      });

      it('lets ALLOW OVERWRITE authorise exactly the current position, or refuses it', async () => {
        const device = await fresh();
        const caps = device.capabilities();
        if (!caps.allowOverwrite) {
          await expectRejection(device.allowOverwrite(0), ['illegal-request']);
          return;
        }
        await device.setAppendOnly(true);
        const blocks = [0, 1, 2].map((i) => patternBlock(110 + i, 600));
        for (const b of blocks) await device.writeBlock(b);
        await sync(device);
        await device.rewind();
        await device.space('blocks', 1);
        // Another position than the current one is refused.
        await expectRejection(device.allowOverwrite(2), ['illegal-request']);
        // An authorisation ends when the medium moves.
        await device.allowOverwrite(1);
        await device.rewind();
        await device.space('blocks', 1);
        await expectRejection(device.writeBlock(patternBlock(120, 600)), ['data-protect']);
        // Authorised at the current position, the overwrite happens and truncates what follows.
        await device.allowOverwrite(1);
        const replacement = patternBlock(121, 640);
        await device.writeBlock(replacement);
        await sync(device);
        await device.rewind();
        await expectSequence(device, [{ data: blocks[0]! }, { data: replacement }, 'eod']);
      });
    });

    describe('load and unload', () => {
      it('keeps the data across unload and load, and comes back at BOT', async () => {
        const device = await fresh();
        const a = patternBlock(130, 3000);
        await device.writeBlock(a);
        await device.writeFilemarks(1, { immediate: true });
        // Unload flushes the buffer as drives do.
        await device.unload();
        await device.load();
        const pos = await device.readPosition();
        expect(pos.blockNumber).toBe(0);
        expect(pos.bop).toBe(true);
        await expectSequence(device, [{ data: a }, 'filemark', 'eod']);
      });
    });

    describe('close', () => {
      it('is idempotent and refuses commands afterwards with a typed error', async () => {
        const device = await fresh();
        await device.writeBlock(patternBlock(140, 100));
        await sync(device);
        await device.close();
        await device.close();
        let caught: unknown;
        try {
          await device.writeBlock(patternBlock(141, 100));
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ScsiError);
        expect(typeof (caught as ScsiError).code).toBe('string');
        expect((caught as ScsiError).code.length).toBeGreaterThan(0);
      });
    });
  });
}
