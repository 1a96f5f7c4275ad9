import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTapeDeviceContract } from '@tapedup/scsi/contract';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from './clock';
import { LTO9 } from './profile';
import { TgtCartridgeFile } from './tgt-cartridge';
import { VirtualDrive } from './virtual-drive';

// The drive over the tgt cartridge file: the contract and the durability rules must hold
// against the real file-backed store, not only the in-memory one.
const dir = mkdtempSync(join(tmpdir(), 'vd-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

describeTapeDeviceContract('VirtualDrive (LTO-9 timing, tgt cartridge file)', async () => {
  n += 1;
  const path = join(dir, `contract-${n}.img`);
  const medium = await TgtCartridgeFile.create(path, {
    barcode: `CF${String(n).padStart(4, '0')}L9`,
    capacityBytes: 64 * 1024 * 1024,
  });
  const drive = new VirtualDrive({ name: `virtual:file#${n}`, clock: new VirtualClock(), medium });
  await drive.open();
  return {
    device: drive,
    cleanup: async () => {
      await drive.close();
      await medium.close();
    },
  };
});

const KiB = 1024;
const block = (i: number): Uint8Array => new Uint8Array(64 * KiB).fill(i);

describe('VirtualDrive over a cartridge file: power loss', () => {
  it('keeps exactly what the last synchronous filemark covered; the rest is gone from the file', async () => {
    const path = join(dir, 'power.img');
    const medium = await TgtCartridgeFile.create(path, {
      barcode: 'PWR001L9',
      capacityBytes: 64 * 1024 * 1024,
    });
    const drive = new VirtualDrive({
      name: 'virtual:file#pwr',
      clock: new VirtualClock(),
      medium,
      profile: { ...LTO9, bufferBytes: 256 * KiB, maxBlockSize: 256 * KiB },
    });
    await drive.open();
    for (let i = 1; i <= 3; i++) await drive.writeBlock(block(i));
    await drive.writeFilemarks(1, { immediate: false });
    for (let i = 4; i <= 12; i++) {
      await drive.writeBlock(block(i));
      await drive.writeFilemarks(1, { immediate: true });
    }
    await drive.powerLoss();
    medium.loseUnsynced();

    // A fresh handle, as a restarted process would open it, without closing the old one.
    const reopened = await TgtCartridgeFile.open(path);
    expect(reopened.objectCount()).toBe(4);
    expect([0, 1, 2, 3].map((i) => reopened.objectAt(i)?.kind)).toEqual(['data', 'data', 'data', 'filemark']);
    for (let i = 0; i < 3; i++) {
      const data = await reopened.readData(i);
      expect(data.length).toBe(64 * KiB);
      expect(data.every((b) => b === i + 1)).toBe(true);
    }
    await reopened.close();
    await drive.close();
    await medium.close();
  });
});
