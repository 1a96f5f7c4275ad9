import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { RealClock } from './clock';
import { TgtCartridgeFile } from './tgt-cartridge';
import { VirtualDrive } from './virtual-drive';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'vd-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const BLOCK = 256 * 1024;

/** Heap and array-buffer bytes still referenced after a full collection. */
function retained(): { heap: number; buffers: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

describe('VirtualDrive memory on a long write stream', () => {
  it('retains no memory per block written: after 2N blocks as after N', async () => {
    const medium = await TgtCartridgeFile.create(join(dir, 'long.img'), {
      barcode: 'MEM001L9',
      capacityBytes: 1e12,
    });
    // The rate model off, as the data-path benchmark runs it: the host alone sets the pace.
    const drive = new VirtualDrive({
      name: 'virtual:memory',
      clock: new RealClock(),
      profile: 'untimed',
      medium,
      commandLogLimit: 100,
    });
    await drive.open();
    // One buffer for every block, as a source that reuses its buffer would hand them over.
    const data = new Uint8Array(BLOCK).fill(0x5a);
    const writeBlocks = async (count: number) => {
      for (let i = 0; i < count; i++) {
        data[0] = i & 0xff;
        await drive.writeBlock(data);
      }
      await drive.writeFilemarks(1, { immediate: true });
    };
    const N = 400;
    await writeBlocks(N);
    const afterN = retained();
    await writeBlocks(N);
    const after2N = retained();
    await drive.writeFilemarks(0, { immediate: false });
    expect(medium.objectCount()).toBe(2 * N + 2);
    // 100 MB more written: what stays referenced may differ by the cartridge index (9 bytes per
    // object) and allocator noise, not by anything that scales with the blocks.
    expect(after2N.buffers - afterN.buffers).toBeLessThan(2 * MiB);
    expect(after2N.heap - afterN.heap).toBeLessThan(2 * MiB);
    // The drive's copies live in a few reusable slabs and a bounded store backlog.
    expect(after2N.buffers).toBeLessThan(64 * MiB);
    expect(await medium.readData(2 * N)).toEqual(
      Object.assign(new Uint8Array(BLOCK).fill(0x5a), { 0: (N - 1) & 0xff }),
    );
    await drive.close();
    await medium.close();
  }, 60_000);
});
