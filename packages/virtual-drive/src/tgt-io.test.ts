import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileCartridgeIo } from './tgt-io';

const dir = mkdtempSync(join(tmpdir(), 'tgt-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pieces(sizes: number[], seed: number): Uint8Array[] {
  return sizes.map((n, i) => new Uint8Array(n).map((_, k) => (k * 7 + i * 31 + seed) & 0xff));
}

describe('FileCartridgeIo.write', () => {
  // Small writes take the blocking path, large ones the libuv pool: the file must not tell them apart.
  it.each([
    ['small (blocking)', [48, 0, 4096, 48, 32]],
    ['large (pool)', [48, 262_176, 48, 262_176, 0, 48]],
    ['just over the blocking size', [65_536, 1]],
  ])('%s: the buffers land back to back at the position, around existing bytes', async (_name, sizes) => {
    const path = join(dir, `f-${sizes.length}-${sizes[1]}`);
    writeFileSync(path, new Uint8Array(100).fill(0xaa));
    const io = await FileCartridgeIo.open(path, false);
    const buffers = pieces(sizes, sizes.length);
    await io.write(buffers, 10);
    await io.close();
    const file = readFileSync(path);
    const expected = Buffer.concat(buffers);
    expect(file.subarray(0, 10).every((b) => b === 0xaa)).toBe(true);
    expect(file.subarray(10, 10 + expected.length).equals(expected)).toBe(true);
    const tail = file.subarray(10 + expected.length);
    expect(tail.length).toBe(Math.max(0, 100 - 10 - expected.length));
    expect(tail.every((b) => b === 0xaa)).toBe(true);
  });

  it('a write to a read-only cartridge rejects on both paths', async () => {
    const path = join(dir, 'ro');
    writeFileSync(path, new Uint8Array(10));
    const io = await FileCartridgeIo.open(path, true);
    await expect(io.write([new Uint8Array(8)], 0)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(io.write([new Uint8Array(200_000)], 0)).rejects.toMatchObject({ code: 'EBADF' });
    await io.close();
  });
});
