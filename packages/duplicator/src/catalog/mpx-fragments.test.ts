import { afterEach, describe, expect, it } from 'vitest';
import { type CatalogFixture, catalogFixture, images, sha } from './testing/fixtures';

let fx: CatalogFixture | undefined;
afterEach(() => fx?.cleanup());

/**
 * Two images multiplexed in one fragment (tape file 1, header at object 2): image 1 completes there
 * and its synchronous filemark commits it; image 2 continues in tape file 2 and commits later.
 */
describe('a multiplexed copy split across a sync', () => {
  function setup() {
    fx = catalogFixture();
    const cat = fx.catalog;
    cat.addMedium('M1', 'p', 'active');
    cat.registerDrive('d1', 'virtual:/lib#drive1');
    cat.submitRequest({ id: 'r', pool: 'p', images: images(3, 1000) });
    cat.startWriting(1, 'd1', 'M1');
    cat.startWriting(2, 'd1', 'M1');
    const b1 = cat.openBatch('d1', 'M1');
    cat.markWritten(1, b1.id, { fileNumber: 1, blockAddress: 2, bytes: 1000, sha256: sha(1) });
    cat.commitBatch(b1.id, {
      committed: [{ copyId: 1, medium: 'M1', fileNumber: 1, blockAddress: 2, sha256: sha(1) }],
      positionAfterSync: { fileNumber: 2, blockAddress: 8 },
      syncDurationMs: 1,
    });
    return cat;
  }

  it('commits the later copy with its first fragment before the committed end', () => {
    const cat = setup();
    const b2 = cat.openBatch('d1', 'M1');
    cat.markWritten(2, b2.id, { fileNumber: 1, blockAddress: 2, bytes: 1000, sha256: sha(2) });
    cat.commitBatch(b2.id, {
      committed: [
        {
          copyId: 2,
          medium: 'M1',
          fileNumber: 1,
          blockAddress: 2,
          sha256: sha(2),
          fragments: [
            { medium: 'M1', fileNumber: 1, blockAddress: 2, offset: 0, length: 400 },
            { medium: 'M1', fileNumber: 2, blockAddress: 8, offset: 400, length: 600 },
          ],
        },
      ],
      positionAfterSync: { fileNumber: 3, blockAddress: 12 },
      syncDurationMs: 1,
    });
    expect(cat.getCopy(2).state).toBe('committed');
    expect(cat.listFragments({ copyId: 2 }).map((f) => [f.fileNumber, f.offset, f.length])).toEqual([
      [1, 0, 400],
      [2, 400, 600],
    ]);
  });

  it('commits a copy whose only data fragment began before a sync that came while it was written', () => {
    const cat = setup();
    const b2 = cat.openBatch('d1', 'M1');
    cat.markWritten(2, b2.id, { fileNumber: 1, blockAddress: 2, bytes: 1000, sha256: sha(2) });
    cat.commitBatch(b2.id, {
      committed: [{ copyId: 2, medium: 'M1', fileNumber: 1, blockAddress: 2, sha256: sha(2) }],
      positionAfterSync: { fileNumber: 3, blockAddress: 12 },
      syncDurationMs: 1,
    });
    expect(cat.getCopy(2).state).toBe('committed');
  });

  it('refuses data inside committed data for a copy that started after that data was committed', () => {
    const cat = setup();
    cat.startWriting(3, 'd1', 'M1');
    const b2 = cat.openBatch('d1', 'M1');
    cat.markWritten(3, b2.id, { fileNumber: 1, blockAddress: 5, bytes: 1000, sha256: sha(3) });
    expect(() =>
      cat.commitBatch(b2.id, {
        committed: [{ copyId: 3, medium: 'M1', fileNumber: 1, blockAddress: 5, sha256: sha(3) }],
        positionAfterSync: { fileNumber: 3, blockAddress: 12 },
        syncDurationMs: 1,
      }),
    ).toThrow(expect.objectContaining({ code: 'BAD_POSITION' }));
    expect(cat.getCopy(3).state).toBe('written-pending-sync');
  });
});
