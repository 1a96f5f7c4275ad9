/**
 * The writer's reconnecting device (used for every iscsi://, sg: and st: drive): a command that
 * fails while connecting is retried with growing delays inside a window; a connection lost in the
 * middle of a command, or any other error, is passed on at once. The end-to-end behaviour against
 * tgtd is in iscsi-e2e.test.ts; this pins the rules with a scripted device and an injected clock.
 */
import { describe, expect, it } from 'vitest';
import { ScsiError, ScsiTransportError, type TapeDevice } from '../packages/scsi/src/index';
import { ReconnectingDevice } from '../packages/tape-writer/src/process/open-device';

const refused = () => new ScsiTransportError('connect and login failed', { errno: 'ECONNREFUSED' });
const reset = () => new ScsiTransportError('command 0ah failed', { errno: 'ECONNRESET' });

/** A device whose `rewind` answers from a script: an error to throw, or undefined for GOOD. */
function scripted(outcomes: (Error | undefined)[]): { device: TapeDevice; calls: () => number } {
  let calls = 0;
  const device = {
    name: 'scripted',
    rewind: async () => {
      const next = outcomes[calls++];
      if (next !== undefined) throw next;
    },
  } as Partial<TapeDevice> as TapeDevice;
  return { device, calls: () => calls };
}

function harness(device: TapeDevice, windowMs = 60_000) {
  let now = 0;
  const delays: number[] = [];
  const warnings: Record<string, unknown>[] = [];
  const logger = {
    debug() {},
    info() {},
    error() {},
    warn(fields: Record<string, unknown>) {
      warnings.push(fields);
    },
    child() {
      return logger;
    },
  };
  const wrapped = new ReconnectingDevice(device, {
    windowMs,
    logger: logger as never,
    initialDelayMs: 100,
    maxDelayMs: 1000,
    now: () => now,
    sleep: async (ms) => {
      delays.push(ms);
      now += ms;
    },
  });
  return { wrapped, delays, warnings };
}

describe('ReconnectingDevice', () => {
  it('retries a refused connection with doubling delays until the target is back', async () => {
    const { device, calls } = scripted([refused(), refused(), refused(), refused(), refused(), undefined]);
    const { wrapped, delays, warnings } = harness(device);
    await wrapped.rewind();
    expect(calls()).toBe(6);
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
    expect(warnings.map((w) => w.code)).toEqual(Array(5).fill('TRANSPORT_ECONNREFUSED'));
  });

  it('does not send a write on a fresh connection: waits for it with TEST UNIT READY, then fails it as RECONNECTED', async () => {
    let writes = 0;
    const tur: (Error | undefined)[] = [refused(), undefined];
    let turCalls = 0;
    const device = {
      name: 'scripted',
      writeBlock: async () => {
        writes++;
        throw refused();
      },
      testUnitReady: async () => {
        const next = tur[turCalls++];
        if (next !== undefined) throw next;
      },
    } as Partial<TapeDevice> as TapeDevice;
    const { wrapped, delays } = harness(device);
    await expect(wrapped.writeBlock(new Uint8Array(8))).rejects.toMatchObject({
      code: 'TRANSPORT_RECONNECTED',
      category: 'transport',
      retryable: true,
    });
    // Tried once (refused: nothing sent), then only TEST UNIT READY until the target answered.
    expect(writes).toBe(1);
    expect(turCalls).toBe(2);
    expect(delays).toEqual([100, 200]);
    // A command that does not depend on the position is simply sent again.
    const { device: rewinding, calls } = scripted([refused(), undefined]);
    await harness(rewinding).wrapped.rewind();
    expect(calls()).toBe(2);
  });

  it('passes a connection lost mid-command on at once (the command may have reached the drive)', async () => {
    const { device, calls } = scripted([reset(), undefined]);
    const { wrapped, delays } = harness(device);
    await expect(wrapped.rewind()).rejects.toMatchObject({ errno: 'ECONNRESET', category: 'transport' });
    expect(calls()).toBe(1);
    expect(delays).toEqual([]);
  });

  it('passes other errors on at once', async () => {
    const medium = new ScsiError('write error', { code: 'MEDIUM_ERROR', category: 'medium' });
    const { device, calls } = scripted([medium, undefined]);
    const { wrapped } = harness(device);
    await expect(wrapped.rewind()).rejects.toBe(medium);
    expect(calls()).toBe(1);
  });

  it('gives up with the connect error once the window has passed', async () => {
    const { device, calls } = scripted(Array(100).fill(refused()));
    const { wrapped, delays } = harness(device, 2400);
    await expect(wrapped.rewind()).rejects.toMatchObject({ errno: 'ECONNREFUSED' });
    // 100 + 200 + 400 + 800 = 1500 waited; the next 1000 would end past 2400.
    expect(delays).toEqual([100, 200, 400, 800]);
    expect(calls()).toBe(5);
  });
});
