import { ScsiError } from '@tapedup/scsi';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock';
import type { FaultPlan } from './faults';
import { MemoryMedium } from './memory-medium';
import { VirtualDrive } from './virtual-drive';

const KiB = 1024;

function setup(faults: FaultPlan = {}, capacityBytes = 1000 * KiB, profile: 'untimed' | 'LTO-9' = 'untimed') {
  const clock = new VirtualClock();
  const medium = new MemoryMedium({ barcode: 'BAT001L9', capacityBytes });
  return {
    clock,
    medium,
    drive: new VirtualDrive({ name: 'virtual:batch', clock, medium, faults, profile }),
  };
}

/** Blocks of distinct sizes and fills, so any reordering or loss shows. */
function blocks(n: number, size = 60 * KiB): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(size + i).fill(i + 1));
}

async function readAll(drive: VirtualDrive): Promise<string[]> {
  await drive.rewind();
  const out: string[] = [];
  for (;;) {
    const r = await drive.readBlock(1024 * KiB);
    if (r.kind === 'end-of-data') return out;
    out.push(r.kind === 'filemark' ? 'FM' : `${r.data.length}:${r.data[0]}`);
  }
}

/** What the command log says, without times (the two drives run on their own clocks). */
function logOf(drive: VirtualDrive) {
  return drive.commandLog.map((e) => ({ op: e.op, args: e.args, result: e.result, error: e.error?.code }));
}

describe('VirtualDrive.writeBlocks', () => {
  it('is exactly that many writeBlock calls: the same medium, command log, stats and position', async () => {
    for (const profile of ['untimed', 'LTO-9'] as const) {
      const one = setup({}, 1e9, profile);
      const many = setup({}, 1e9, profile);
      await one.drive.open();
      await many.drive.open();
      const data = blocks(7);
      for (const b of data) await one.drive.writeBlock(b);
      expect(await many.drive.writeBlocks(data)).toEqual({ written: 7, earlyWarning: false });
      expect(logOf(many.drive)).toEqual(logOf(one.drive));
      expect(many.drive.stats.commands).toBe(one.drive.stats.commands);
      // The caller may reuse its buffers once the call resolved.
      for (const b of data) b.fill(0xee);
      expect((await many.drive.readPosition()).blockNumber).toBe(7);
      expect(await readAll(many.drive)).toEqual(await readAll(one.drive));
      expect(many.drive.stats.blocksWritten).toBe(7);
      expect(many.drive.stats.bytesWritten).toBe(one.drive.stats.bytesWritten);
    }
  });

  it('stops after the block that passed early warning and says how many it wrote', async () => {
    // Early warning at 900 KiB of 1000: the 15th block of 60 KiB (and a few bytes) passes it.
    const one = setup();
    await one.drive.open();
    let firstWarning = -1;
    for (const [i, b] of blocks(16).entries()) {
      if ((await one.drive.writeBlock(b)).earlyWarning) {
        firstWarning = i;
        break;
      }
    }
    expect(firstWarning).toBeGreaterThan(0);
    const many = setup();
    await many.drive.open();
    expect(await many.drive.writeBlocks(blocks(16))).toEqual({
      written: firstWarning + 1,
      earlyWarning: true,
    });
    expect(logOf(many.drive)).toEqual(logOf(one.drive));
    expect((await many.drive.readPosition()).blockNumber).toBe(firstWarning + 1);
  });

  it('a failing block rejects the call with its error; the blocks before it were written', async () => {
    const faults: FaultPlan = { scripted: [{ kind: 'write-error', trigger: { op: 'write', nth: 3 } }] };
    const { drive } = setup(faults);
    await drive.open();
    const error = await drive.writeBlocks(blocks(5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiError);
    expect(error).toMatchObject({ category: 'medium', senseKey: 0x03, asc: 0x0c });
    expect((await drive.readPosition()).blockNumber).toBe(2);
    expect(drive.commandLog.filter((e) => e.op === 'writeBlock').map((e) => e.error?.code ?? 'ok')).toEqual([
      'ok',
      'ok',
      error instanceof ScsiError ? error.code : '?',
    ]);
    await drive.writeFilemarks(0, { immediate: false });
    expect(await readAll(drive)).toEqual(['61440:1', '61441:2']);
  });

  it('refuses anything but a non-empty array of byte arrays', async () => {
    const { drive } = setup();
    await drive.open();
    await expect(drive.writeBlocks([])).rejects.toThrow(TypeError);
    await expect(drive.writeBlocks([new Uint8Array(4), 'x' as unknown as Uint8Array])).rejects.toThrow(
      /writeBlocks/,
    );
    expect(drive.stats.commands).toBe(0);
  });
});
