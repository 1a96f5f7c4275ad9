import { afterEach, describe, expect, it } from 'vitest';
import { type CatalogFixture, catalogFixture, images, writeCopies } from './testing/fixtures';

let fx: CatalogFixture | undefined;
afterEach(() => fx?.cleanup());

const FAIL = { code: 'MEDIUM_ERROR', reason: 'write error' };

function setup() {
  fx = catalogFixture();
  fx.catalog.addMedium('M1', 'p', 'active');
  fx.catalog.registerDrive('d1', 'virtual:/lib#drive1');
  fx.catalog.submitRequest({
    id: 'r',
    pool: 'p',
    images: [...images(1, 1000), { backupId: 'live', size: 1000, kind: 'stream' }],
  });
  return fx.catalog;
}

describe('stream copies are never requeued', () => {
  it('abandons a stream copy that fails on its own; a disk copy of the same kind of failure retries', () => {
    const cat = setup();
    const b = cat.openBatch('d1', 'M1');
    writeCopies(cat, b.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    cat.startWriting(2, 'd1', 'M1');
    expect(cat.failCopy(2, { code: 'SOURCE_STREAM_CUT', reason: 'sender stopped' })).toMatchObject({
      to: 'abandoned',
      attempts: 1,
    });
    expect(cat.getCopy(2).state).toBe('abandoned');
    expect(cat.getCopy(1).state).toBe('written-pending-sync');
  });

  it('abandons the stream copies of a failed batch and requeues its disk copies', () => {
    const cat = setup();
    const b = cat.openBatch('d1', 'M1');
    writeCopies(cat, b.id, 'd1', 'M1', [1, 2], { fileNumber: 1, blockAddress: 1 });
    const result = cat.failBatch(b.id, FAIL);
    expect(result.copies.map((c) => [c.copyId, c.to])).toEqual([
      [1, 'retrying'],
      [2, 'abandoned'],
    ]);
  });
});
