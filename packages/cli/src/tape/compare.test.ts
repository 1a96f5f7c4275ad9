import { createHash } from 'node:crypto';
import { verifyTape } from '@tapedup/tape-format';
import { MemoryTape, TapeBuilder, testBytes } from '@tapedup/tape-format/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CommittedCopy, compareWithTape } from './compare';

const label = {
  labelId: '11111111-2222-4333-8444-555555555555',
  barcode: 'TD0001L9',
  pool: 'default',
  createdAt: 1,
};
const a = testBytes(5000, 1);
const b = testBytes(2100, 2);
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let reports: Awaited<ReturnType<typeof verifyTape>>['images'];
let positions: { tapeFile: number; blockNumber: number }[];

beforeAll(async () => {
  const tape = new MemoryTape({ name: 'memory:TD0001L9' });
  await tape.open();
  const builder = new TapeBuilder(tape, label);
  await builder.writeLabel();
  positions = [
    await builder.writeFragment({ images: [builder.cursor({ backupId: 'img-a', data: a })] }),
    await builder.writeFragment({ images: [builder.cursor({ backupId: 'img-b', data: b })] }),
  ];
  reports = (await verifyTape(tape)).images;
});

function cataloged(
  backupId: string,
  data: Uint8Array,
  at: { tapeFile: number; blockNumber: number },
): CommittedCopy {
  return {
    backupId,
    copy: 1,
    medium: 'TD0001L9',
    fileNumber: at.tapeFile,
    blockAddress: at.blockNumber,
    sha256: sha(data),
    sizeBytes: data.length,
  };
}

describe('compareWithTape', () => {
  it('verifies copies found at their cataloged positions with matching digests', () => {
    const copies = [cataloged('img-a', a, positions[0]!), cataloged('img-b', b, positions[1]!)];
    const sources = new Map([
      ['img-a', sha(a)],
      ['img-b', sha(b)],
    ]);
    expect(compareWithTape(copies, reports, sources)).toEqual({
      checked: 2,
      verified: 2,
      bytesVerified: a.length + b.length,
      mismatches: [],
    });
  });

  it('finds a copy cataloged at the wrong place', () => {
    const wrong = cataloged('img-a', a, positions[1]!);
    const result = compareWithTape([wrong], reports);
    expect(result.verified).toBe(0);
    expect(result.mismatches).toEqual([
      expect.objectContaining({ backupId: 'img-a', reason: 'WRONG_POSITION' }),
    ]);
  });

  it('finds a copy missing from tape, a catalog digest and a source digest that differ', () => {
    const missing = { ...cataloged('img-c', a, positions[0]!) };
    const badCatalog = { ...cataloged('img-a', a, positions[0]!), sha256: 'f'.repeat(64) };
    const result = compareWithTape([missing, badCatalog], reports);
    expect(result.mismatches.map((m) => m.reason)).toEqual(['NOT_ON_TAPE', 'CATALOG_SHA_MISMATCH']);
    const source = compareWithTape(
      [cataloged('img-b', b, positions[1]!)],
      reports,
      new Map([['img-b', sha(a)]]),
    );
    expect(source.mismatches.map((m) => m.reason)).toEqual(['SOURCE_SHA_MISMATCH']);
  });

  it('finds a size that differs from the catalog', () => {
    const result = compareWithTape([{ ...cataloged('img-b', b, positions[1]!), sizeBytes: 99 }], reports);
    expect(result.mismatches.map((m) => m.reason)).toEqual(['SIZE_MISMATCH']);
  });
});
