/**
 * Failure paths of the iSCSI device against a real tgtd: unreachable portals, wrong target names,
 * command deadlines (tgtd frozen with SIGSTOP), and tgtd killed mid-stream then restarted.
 * Every failure must be a typed ScsiError, promptly, never a crash or a hang.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IscsiTapeDevice, openDeviceSpec } from '../native/src/index';
import { ScsiError, ScsiTimeoutError, ScsiTransportError } from '../packages/scsi/src/index';
import { freePort, startTgtTarget, type TgtTarget, tgtSkipReason } from './helpers/tgt';

const skip = tgtSkipReason();

async function rejection(promise: Promise<unknown>): Promise<ScsiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ScsiError);
    return error as ScsiError;
  }
  throw new Error('expected a rejection');
}

function block(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

describe.skipIf(skip !== undefined)(
  `iSCSI failures${skip === undefined ? '' : ` (skipped: ${skip})`}`,
  () => {
    let target: TgtTarget;
    beforeAll(async () => {
      target = await startTgtTarget({ luns: 0 });
    });
    afterAll(async () => {
      await target?.stop();
    });

    function device(lun: number, extra: Partial<ConstructorParameters<typeof IscsiTapeDevice>[0]> = {}) {
      return new IscsiTapeDevice({
        host: target.host,
        port: target.port,
        targetIqn: target.iqn,
        lun,
        connectTimeoutMs: 3000,
        timeoutsMs: { short: 3000, io: 3000, long: 5000 },
        ...extra,
      });
    }

    it('rejects a port nobody listens on with ECONNREFUSED', async () => {
      const port = await freePort();
      const started = Date.now();
      const error = await rejection(
        openDeviceSpec(`iscsi://127.0.0.1:${port}/${target.iqn}/1`, { connectTimeoutMs: 3000 }),
      );
      expect(error).toBeInstanceOf(ScsiTransportError);
      expect((error as ScsiTransportError).errno).toBe('ECONNREFUSED');
      expect(error.category).toBe('transport');
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('rejects a wrong target IQN with a login failure', async () => {
      const error = await rejection(
        openDeviceSpec(`iscsi://127.0.0.1:${target.port}/iqn.2024-01.io.tapedup:no-such-target/1`),
      );
      expect(error).toBeInstanceOf(ScsiTransportError);
      expect((error as ScsiTransportError).errno).toBe('ELOGIN');
      expect(error.retryable).toBe(true);
    });

    it('rejects an unroutable portal within the connect deadline', async () => {
      const started = Date.now();
      // 192.0.2.0/24 is TEST-NET-1: never routed, so the connect either fails fast or times out.
      const error = await rejection(
        openDeviceSpec(`iscsi://192.0.2.1:3260/${target.iqn}/1`, { connectTimeoutMs: 800 }),
      );
      expect(error.category).toBe('transport');
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('rejects a LUN the target does not have', async () => {
      const error = await rejection(device(77).open());
      expect(error.category === 'transport' || error.category === 'illegal-request').toBe(true);
    });

    it('times a command out with ScsiTimeoutError while tgtd is frozen, without stalling the event loop', async () => {
      const lun = await target.addLun();
      const dev = device(lun, { timeoutsMs: { short: 1500, io: 1500, long: 1500 } });
      await dev.open();
      await dev.writeBlock(block(1, 4096));
      const pid = await target.pid();
      process.kill(pid, 'SIGSTOP');
      let ticks = 0;
      const ticker = setInterval(() => {
        ticks++;
      }, 10);
      try {
        const started = Date.now();
        const error = await rejection(dev.testUnitReady());
        const elapsed = Date.now() - started;
        expect(error).toBeInstanceOf(ScsiTimeoutError);
        expect(error.code).toBe('TRANSPORT_TIMEOUT');
        expect(elapsed).toBeGreaterThanOrEqual(1400);
        expect(elapsed).toBeLessThan(4000);
        // The wait happened on a worker thread: the 10 ms timer kept firing all along.
        expect(ticks).toBeGreaterThan(elapsed / 10 / 3);
      } finally {
        clearInterval(ticker);
        process.kill(pid, 'SIGCONT');
      }
      // The session was dropped; the next command reconnects, but the counted position is gone.
      const lost = await rejection(dev.readPosition());
      expect(lost.code).toBe('POSITION_UNKNOWN');
      await dev.rewind();
      const got = await dev.readBlock(65536);
      expect(got.kind).toBe('data');
      await dev.close();
    });

    it('fails the command in flight when tgtd dies, and reconnects once tgtd is back', async () => {
      const lun = await target.addLun();
      const dev = device(lun);
      await dev.open();
      const synced = [0, 1, 2, 3, 4].map((i) => block(10 + i, 256 * 1024));
      for (const b of synced) await dev.writeBlock(b);
      await dev.writeFilemarks(1, { immediate: false });

      // Keep writing; kill tgtd while the stream is running.
      let written = 0;
      let failure: ScsiError | undefined;
      const stream = (async () => {
        for (let i = 0; i < 10_000; i++) {
          try {
            await dev.writeBlock(block(100 + i, 256 * 1024));
            written++;
            if (written === 8) void target.kill();
          } catch (error) {
            failure = error as ScsiError;
            return;
          }
        }
      })();
      await stream;
      expect(failure).toBeInstanceOf(ScsiError);
      expect(failure?.category).toBe('transport');
      expect(written).toBeGreaterThanOrEqual(8);

      // While tgtd is down, commands keep failing as transport errors (no hang).
      const down = await rejection(dev.rewind());
      expect(down.category).toBe('transport');

      await target.resume();
      // Back: the device reconnects by itself on the next command.
      await dev.rewind();
      for (const b of synced) {
        const got = await dev.readBlock(256 * 1024);
        expect(got.kind).toBe('data');
        if (got.kind === 'data') expect(Buffer.from(got.data).equals(Buffer.from(b))).toBe(true);
      }
      expect((await dev.readBlock(256 * 1024)).kind).toBe('filemark');
      await dev.close();

      // A fresh open of the same LUN works too.
      const again = device(lun);
      await again.open();
      expect((await again.inquiry()).peripheralDeviceType).toBe(1);
      await again.close();
    });
  },
);
