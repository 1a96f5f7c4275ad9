import { LTO9 } from '@tapedup/virtual-drive';
import { describe, expect, it } from 'vitest';
import { estimateModelTime } from './model';

describe('estimateModelTime', () => {
  it('charges one sync overhead per image for sync-every and per batch when deferred', () => {
    // 150 images, 400 MB on one LTO-9 drive: 1 s of data either way.
    const e = estimateModelTime(
      [{ id: 'd0', images: 150, bytes: 400e6, syncs: 3, immediateFilemarks: 147 }],
      LTO9,
    );
    expect(e.perDrive[0]!.deferredMs).toBeCloseTo(1000 + 3 * 1500 + 147 * 3, 6);
    expect(e.syncEveryMs).toBeCloseTo(1000 + 150 * 1500, 6);
    expect(e.speedup).toBeCloseTo(226_000 / 5_941, 6);
  });

  it('costs a run its slowest drive', () => {
    const e = estimateModelTime(
      [
        { id: 'd0', images: 10, bytes: 0, syncs: 10, immediateFilemarks: 0 },
        { id: 'd1', images: 20, bytes: 0, syncs: 1, immediateFilemarks: 19 },
      ],
      LTO9,
    );
    expect(e.deferredMs).toBe(15_000);
    expect(e.syncEveryMs).toBe(30_000);
  });

  it('gives no speedup when every image was synced', () => {
    const e = estimateModelTime([{ id: 'd0', images: 5, bytes: 4e8, syncs: 5, immediateFilemarks: 0 }], LTO9);
    expect(e.speedup).toBe(1);
  });
});
