import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import { CatalogError } from './errors';
import { type CatalogFixture, catalogFixture, images, sha, writeCopies } from './testing/fixtures';

let fx: CatalogFixture;
let cat: Catalog;

function setup(options: Parameters<typeof catalogFixture>[0] = {}): void {
  fx = catalogFixture(options);
  cat = fx.catalog;
  cat.registerDrive('d1', 'virtual:lib#0');
  cat.registerDrive('d2', 'virtual:lib#1');
  for (const b of ['M1', 'M2', 'M3']) cat.addMedium(b, 'p');
  cat.allocateScratch('p'); // M1 active
}

function errorOf(fn: () => unknown): CatalogError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CatalogError) return error;
    throw error;
  }
  throw new Error('expected a CatalogError');
}

function states(ids: readonly number[]): string[] {
  return ids.map((id) => cat.getCopy(id).state);
}

const FAIL = {
  code: 'SYNC_FAILED',
  reason: 'WRITE FILEMARKS returned MEDIUM ERROR',
  sense: { senseKey: 3, asc: 0x0c },
};

beforeEach(() => setup());
afterEach(() => fx.cleanup());

describe('copy transitions through the catalog', () => {
  it('walks queued → writing → written-pending-sync → committed and logs each step', () => {
    const { requestId } = cat.submitRequest({ id: 'r', pool: 'p', images: images(1) });
    const batch = cat.openBatch('d1', 'M1');
    expect(cat.startWriting(1, 'd1', 'M1')).toMatchObject({ state: 'writing', drive: 'd1', medium: 'M1' });
    expect(cat.markWritten(1, batch.id, { fileNumber: 1, blockAddress: 1, bytes: 1000 })).toMatchObject({
      state: 'written-pending-sync',
      batch: batch.id,
      fileNumber: 1,
      blockAddress: 1,
    });
    expect(cat.getBatch(batch.id)).toMatchObject({ bytes: 1000, imageCount: 1, state: 'open' });
    fx.tick(1500);
    cat.commitBatch(batch.id, {
      committed: [{ copyId: 1, medium: 'M1', fileNumber: 1, blockAddress: 1, sha256: sha(1) }],
      positionAfterSync: { fileNumber: 2, blockAddress: 6 },
      syncDurationMs: 1500,
    });
    expect(cat.getCopy(1)).toMatchObject({ state: 'committed', sha256: sha(1), committedAt: fx.now() });
    expect(cat.listEvents({ entity: 'copy', subject: 1 }).map((e) => `${e.from}>${e.to}`)).toEqual([
      'queued>writing',
      'writing>written-pending-sync',
      'written-pending-sync>committed',
    ]);
    expect(cat.getRequest(requestId)).toMatchObject({ state: 'completed', finishedAt: fx.now() });
  });

  it('walks writing → failed → retrying → writing, and written-pending-sync → failed → retrying', () => {
    cat.submitRequest({ pool: 'p', images: images(2) });
    const b1 = cat.openBatch('d1', 'M1');
    writeCopies(cat, b1.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    cat.startWriting(2, 'd1', 'M1');
    cat.failBatch(b1.id, FAIL);
    expect(cat.listEvents({ entity: 'copy', subject: 1 }).map((e) => e.to)).toEqual([
      'writing',
      'written-pending-sync',
      'failed',
      'retrying',
    ]);
    expect(cat.listEvents({ entity: 'copy', subject: 2 }).map((e) => e.to)).toEqual([
      'writing',
      'failed',
      'retrying',
    ]);
    expect(cat.startWriting(2, 'd1', 'M1').state).toBe('writing');
  });

  it('refuses illegal transitions with BAD_TRANSITION and changes nothing', () => {
    cat.submitRequest({ pool: 'p', images: images(3) });
    const batch = cat.openBatch('d1', 'M1');
    // queued copy cannot be marked written, failed or committed
    expect(
      errorOf(() => cat.markWritten(1, batch.id, { fileNumber: 1, blockAddress: 1, bytes: 1 })),
    ).toMatchObject({
      code: 'BAD_TRANSITION',
      from: 'queued',
      to: 'written-pending-sync',
    });
    expect(errorOf(() => cat.failCopy(1, FAIL))).toMatchObject({
      code: 'BAD_TRANSITION',
      from: 'queued',
      to: 'failed',
    });
    // writing copy cannot start writing again
    cat.startWriting(1, 'd1', 'M1');
    expect(errorOf(() => cat.startWriting(1, 'd1', 'M1'))).toMatchObject({
      code: 'BAD_TRANSITION',
      from: 'writing',
    });
    // a writing copy is not committable
    expect(
      errorOf(() =>
        cat.commitBatch(batch.id, {
          committed: [{ copyId: 1, medium: 'M1', fileNumber: 1, blockAddress: 1, sha256: sha(1) }],
          positionAfterSync: { fileNumber: 2, blockAddress: 6 },
          syncDurationMs: 1,
        }),
      ).code,
    ).toBe('NOT_IN_BATCH');
    // pending copy cannot be marked written twice
    cat.markWritten(1, batch.id, { fileNumber: 1, blockAddress: 1, bytes: 1000 });
    expect(
      errorOf(() => cat.markWritten(1, batch.id, { fileNumber: 1, blockAddress: 1, bytes: 1 })).code,
    ).toBe('BAD_TRANSITION');
    cat.commitBatch(batch.id, {
      committed: [{ copyId: 1, medium: 'M1', fileNumber: 1, blockAddress: 1, sha256: sha(1) }],
      positionAfterSync: { fileNumber: 2, blockAddress: 6 },
      syncDurationMs: 1,
    });
    // committed copies never move again
    expect(errorOf(() => cat.startWriting(1, 'd1', 'M1'))).toMatchObject({
      code: 'BAD_TRANSITION',
      from: 'committed',
    });
    expect(errorOf(() => cat.failCopy(1, FAIL))).toMatchObject({ code: 'BAD_TRANSITION', from: 'committed' });
    expect(cat.getCopy(1).state).toBe('committed');
    expect(cat.getCopy(1).attempts).toBe(0);
    // a cancelled copy cannot be written
    cat.cancelRequest(cat.getCopy(2).requestId);
    expect(errorOf(() => cat.startWriting(2, 'd1', 'M1'))).toMatchObject({
      code: 'BAD_TRANSITION',
      from: 'cancelled',
    });
  });

  it('refuses writes to media that are not active, and a second copy of an image on the same medium', () => {
    cat.submitRequest({ pool: 'p', copies: 2, images: images(1) });
    expect(errorOf(() => cat.startWriting(1, 'd1', 'M2')).code).toBe('MEDIUM_UNAVAILABLE');
    expect(errorOf(() => cat.openBatch('d1', 'M2')).code).toBe('MEDIUM_UNAVAILABLE');
    expect(errorOf(() => cat.startWriting(1, 'nope', 'M1')).code).toBe('NOT_FOUND');
    cat.startWriting(1, 'd1', 'M1');
    expect(errorOf(() => cat.startWriting(2, 'd2', 'M1')).code).toBe('SAME_MEDIUM');
    cat.allocateScratch('p');
    expect(cat.startWriting(2, 'd2', 'M2').state).toBe('writing');
    expect(cat.getCopy(2).state).toBe('writing');
  });

  it('allows one open batch per drive and checks the copy is on the batch drive', () => {
    cat.submitRequest({ pool: 'p', images: images(1) });
    const b = cat.openBatch('d1', 'M1');
    expect(errorOf(() => cat.openBatch('d1', 'M1'))).toMatchObject({ code: 'DUPLICATE', id: b.id });
    expect(cat.openBatchOf('d1')?.id).toBe(b.id);
    const other = cat.openBatch('d2', 'M1');
    cat.startWriting(1, 'd1', 'M1');
    expect(
      errorOf(() => cat.markWritten(1, other.id, { fileNumber: 1, blockAddress: 1, bytes: 1 })).code,
    ).toBe('DRIVE_MISMATCH');
    expect(cat.getCopy(1).state).toBe('writing');
  });
});

describe('commitBatch', () => {
  function prepared() {
    cat.submitRequest({ id: 'r', pool: 'p', images: images(3) });
    const batch = cat.openBatch('d1', 'M1');
    const { committed, after } = writeCopies(cat, batch.id, 'd1', 'M1', [1, 2, 3], {
      fileNumber: 1,
      blockAddress: 1,
    });
    return { batch, committed, after };
  }

  function assertNothingCommitted(batchId: number): void {
    expect(states([1, 2, 3])).toEqual([
      'written-pending-sync',
      'written-pending-sync',
      'written-pending-sync',
    ]);
    expect(cat.getBatch(batchId)).toMatchObject({ state: 'open', syncedAt: null });
    expect(cat.lastCommittedPosition('M1')).toEqual({ fileNumber: 0, blockAddress: 0 });
    expect(cat.getMedium('M1').committedBytes).toBe(0);
    expect(cat.getDrive('d1')).toMatchObject({ syncCount: 0, syncCostSeconds: null });
    expect(cat.listFragments({ medium: 'M1' })).toEqual([]);
    expect(cat.status('r').byState.committed.copies).toBe(0);
    expect(cat.getRequest('r').state).toBe('active');
  }

  it('commits exactly the batch, moves the medium position and the drive sync cost', () => {
    const { batch, committed, after } = prepared();
    cat.commitBatch(batch.id, { committed, positionAfterSync: after, syncDurationMs: 1800 });
    expect(states([1, 2, 3])).toEqual(['committed', 'committed', 'committed']);
    expect(cat.getBatch(batch.id)).toMatchObject({
      state: 'synced',
      syncDurationMs: 1800,
      imageCount: 3,
      bytes: 3000,
    });
    expect(cat.lastCommittedPosition('M1')).toEqual(after);
    expect(cat.getMedium('M1')).toMatchObject({ committedBytes: 3000, bytesWritten: 3000 });
    expect(cat.getDrive('d1')).toMatchObject({ syncCount: 1, syncCostSeconds: 1.8, bytesWritten: 3000 });
    expect(cat.listFragments({ copyId: 2 })).toEqual([
      { copyId: 2, sequence: 0, medium: 'M1', fileNumber: 2, blockAddress: 6, offset: 0, length: 1000 },
    ]);
    expect(cat.getRequest('r').state).toBe('completed');
    expect(
      errorOf(() => cat.commitBatch(batch.id, { committed, positionAfterSync: after, syncDurationMs: 1 }))
        .code,
    ).toBe('BATCH_NOT_OPEN');
  });

  it('commits nothing when one listed copy is not in the batch', () => {
    const { batch, committed, after } = prepared();
    cat.submitRequest({ id: 'other', pool: 'p', images: images(1, 1000, 'o') });
    const bad = [...committed, { copyId: 4, medium: 'M1', fileNumber: 4, blockAddress: 16, sha256: sha(4) }];
    expect(
      errorOf(() =>
        cat.commitBatch(batch.id, { committed: bad, positionAfterSync: after, syncDurationMs: 1 }),
      ),
    ).toMatchObject({ code: 'NOT_IN_BATCH', id: 4 });
    assertNothingCommitted(batch.id);
  });

  it('commits nothing when a pending copy of the batch is left out', () => {
    const { batch, committed, after } = prepared();
    const error = errorOf(() =>
      cat.commitBatch(batch.id, {
        committed: committed.slice(0, 2),
        positionAfterSync: after,
        syncDurationMs: 1,
      }),
    );
    expect(error).toMatchObject({ code: 'INCOMPLETE_COMMIT', details: { missing: [3] } });
    assertNothingCommitted(batch.id);
  });

  it('commits nothing when the last copy has a bad checksum, size or position', () => {
    const { batch, committed, after } = prepared();
    const last = committed[2]!;
    const variants = [
      { entry: { ...last, sha256: sha(99) }, code: 'CHECKSUM_MISMATCH' },
      {
        entry: {
          ...last,
          fragments: [{ medium: 'M1', fileNumber: 3, blockAddress: 11, offset: 0, length: 999 }],
        },
        code: 'BAD_FRAGMENTS',
      },
      {
        entry: { ...last, fileNumber: 3, blockAddress: 40 },
        code: 'BAD_POSITION',
      },
      { entry: { ...last, medium: 'M2' }, code: 'BAD_FRAGMENTS' },
    ];
    for (const { entry, code } of variants) {
      const list = [committed[0]!, committed[1]!, entry];
      expect(
        errorOf(() =>
          cat.commitBatch(batch.id, { committed: list, positionAfterSync: after, syncDurationMs: 1 }),
        ).code,
      ).toBe(code);
      assertNothingCommitted(batch.id);
    }
    expect(
      errorOf(() => cat.commitBatch(batch.id, { committed, positionAfterSync: after, syncDurationMs: -1 })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'commit.syncDurationMs' });
    // and the right list still commits afterwards
    cat.commitBatch(batch.id, { committed, positionAfterSync: after, syncDurationMs: 1 });
    expect(states([1, 2, 3])).toEqual(['committed', 'committed', 'committed']);
  });

  it('validates the commit report and names the offending field', () => {
    const { batch, committed, after } = prepared();
    const cases: [unknown, string][] = [
      [{ committed: 'all', positionAfterSync: after, syncDurationMs: 1 }, 'commit.committed'],
      [
        { committed, positionAfterSync: { fileNumber: -1, blockAddress: 0 }, syncDurationMs: 1 },
        'commit.positionAfterSync.fileNumber',
      ],
      [
        {
          committed: [
            { ...committed[0]!, fragments: [{ medium: 'M1', fileNumber: 1, blockAddress: 1, offset: 0 }] },
          ],
          positionAfterSync: after,
          syncDurationMs: 1,
        },
        'commit.committed[0].fragments[0].length',
      ],
      [
        { committed: [{ ...committed[0]!, sha256: 'ABC' }], positionAfterSync: after, syncDurationMs: 1 },
        'commit.committed[0].sha256',
      ],
    ];
    for (const [input, field] of cases) {
      expect(errorOf(() => cat.commitBatch(batch.id, input as never))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field,
      });
    }
    assertNothingCommitted(batch.id);
  });

  it('refuses data placed inside already committed data of the medium', () => {
    cat.submitRequest({ id: 'r', pool: 'p', images: images(2) });
    const b1 = cat.openBatch('d1', 'M1');
    const first = writeCopies(cat, b1.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    cat.commitBatch(b1.id, { committed: first.committed, positionAfterSync: first.after, syncDurationMs: 1 });
    const b2 = cat.openBatch('d1', 'M1');
    // the writer claims it wrote copy 2 over copy 1's data
    const second = writeCopies(cat, b2.id, 'd1', 'M1', [2], { fileNumber: 1, blockAddress: 1 });
    expect(
      errorOf(() =>
        cat.commitBatch(b2.id, {
          committed: second.committed,
          positionAfterSync: { fileNumber: 3, blockAddress: 20 },
          syncDurationMs: 1,
        }),
      ).code,
    ).toBe('BAD_POSITION');
    // and a position after sync that goes backwards
    expect(
      errorOf(() =>
        cat.commitBatch(b2.id, {
          committed: [],
          positionAfterSync: { fileNumber: 0, blockAddress: 0 },
          syncDurationMs: 1,
        }),
      ).code,
    ).toBe('BAD_POSITION');
    expect(cat.getCopy(2).state).toBe('written-pending-sync');
    expect(cat.lastCommittedPosition('M1')).toEqual(first.after);
  });
});

describe('failBatch', () => {
  it('fails and requeues every uncommitted copy on the drive, counts attempts and records the error', () => {
    cat.submitRequest({ id: 'r', pool: 'p', images: images(5) });
    const b1 = cat.openBatch('d1', 'M1');
    const first = writeCopies(cat, b1.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    cat.commitBatch(b1.id, {
      committed: first.committed,
      positionAfterSync: first.after,
      syncDurationMs: 1000,
    });
    const b2 = cat.openBatch('d1', 'M1');
    writeCopies(cat, b2.id, 'd1', 'M1', [2, 3], first.after);
    cat.startWriting(4, 'd1', 'M1'); // still being written when the error came
    cat.allocateScratch('p');
    cat.startWriting(5, 'd2', 'M2'); // another drive: untouched
    fx.tick(100);
    const result = cat.failBatch(b2.id, FAIL);
    expect(result).toMatchObject({ batchId: b2.id, mediumFrozen: false });
    expect(result.copies).toEqual([
      { copyId: 2, from: 'written-pending-sync', to: 'retrying', attempts: 1 },
      { copyId: 3, from: 'written-pending-sync', to: 'retrying', attempts: 1 },
      { copyId: 4, from: 'writing', to: 'retrying', attempts: 1 },
    ]);
    expect(states([1, 2, 3, 4, 5])).toEqual(['committed', 'retrying', 'retrying', 'retrying', 'writing']);
    const copy2 = cat.getCopy(2);
    expect(copy2).toMatchObject({
      attempts: 1,
      drive: null,
      medium: null,
      batch: null,
      fileNumber: null,
      sha256: null,
    });
    expect(copy2.lastError).toMatchObject({
      ...FAIL,
      attempt: 1,
      drive: 'd1',
      medium: 'M1',
      batch: b2.id,
      at: fx.now(),
    });
    expect(cat.getBatch(b2.id)).toMatchObject({ state: 'failed', failedAt: fx.now(), failure: FAIL });
    // the committed end of the medium did not move: that is where writing resumes
    expect(cat.lastCommittedPosition('M1')).toEqual(first.after);
    expect(cat.getDrive('d1')).toMatchObject({
      errorCount: 1,
      bytesSinceError: 0,
      meanBytesBetweenErrors: 3000,
    });
    expect(cat.getMedium('M1')).toMatchObject({ errorCount: 1, bytesWritten: 3000, committedBytes: 1000 });
    // requeued, in their original order, with the medium they failed on
    const queue = cat.nextQueued(10);
    expect(queue.map((q) => [q.copyId, q.state, q.attempts])).toEqual([
      [2, 'retrying', 1],
      [3, 'retrying', 1],
      [4, 'retrying', 1],
    ]);
    expect(queue[0]?.failedMedia).toEqual(['M1']);
    expect(errorOf(() => cat.failBatch(b2.id, FAIL)).code).toBe('BATCH_NOT_OPEN');
  });

  it('freezes the medium when asked, so the next attempt must go elsewhere', () => {
    cat.submitRequest({ pool: 'p', images: images(1) });
    const b = cat.openBatch('d1', 'M1');
    writeCopies(cat, b.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    expect(cat.failBatch(b.id, FAIL, { freezeMedium: true }).mediumFrozen).toBe(true);
    expect(cat.getMedium('M1').state).toBe('frozen');
    expect(errorOf(() => cat.startWriting(1, 'd1', 'M1')).code).toBe('MEDIUM_UNAVAILABLE');
    const next = cat.allocateScratch('p', ['M3']);
    expect(next.barcode).toBe('M2');
    expect(cat.startWriting(1, 'd1', 'M2').state).toBe('writing');
  });

  it('abandons a copy after maxAttempts failures, keeping every reason, and fails the request', () => {
    setup({ maxAttempts: 2 });
    cat.submitRequest({ id: 'r', pool: 'p', images: images(1) });
    const reasons = ['first failure', 'second failure'];
    const outcomes = reasons.map((reason) => {
      const b = cat.openBatch('d1', 'M1');
      writeCopies(cat, b.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
      return cat.failBatch(b.id, { code: 'SYNC_FAILED', reason }).copies[0];
    });
    expect(outcomes.map((o) => o?.to)).toEqual(['retrying', 'abandoned']);
    const copy = cat.getCopy(1);
    expect(copy).toMatchObject({ state: 'abandoned', attempts: 2 });
    expect(copy.errors.map((e) => [e.attempt, e.reason])).toEqual([
      [1, 'first failure'],
      [2, 'second failure'],
    ]);
    expect(cat.nextQueued(10)).toEqual([]);
    expect(cat.getRequest('r').state).toBe('failed');
    expect(cat.status('r').byState.abandoned).toEqual({ copies: 1, bytes: 1000 });
  });

  it('honours a per-request maxAttempts', () => {
    cat.submitRequest({ id: 'once', pool: 'p', maxAttempts: 1, images: images(1) });
    const b = cat.openBatch('d1', 'M1');
    writeCopies(cat, b.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    expect(cat.failBatch(b.id, FAIL).copies[0]?.to).toBe('abandoned');
  });

  it('cancels instead of retrying when the request was cancelled while in flight', () => {
    cat.submitRequest({ id: 'r', pool: 'p', images: images(2) });
    const b = cat.openBatch('d1', 'M1');
    writeCopies(cat, b.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    expect(cat.cancelRequest('r')).toEqual({ cancelled: 1, inFlight: 1 });
    expect(cat.getRequest('r')).toMatchObject({ state: 'cancelled', finishedAt: null });
    expect(cat.failBatch(b.id, FAIL).copies[0]?.to).toBe('cancelled');
    expect(cat.getRequest('r').finishedAt).toBe(fx.now());
  });

  it('fails a single copy without touching the rest of its batch', () => {
    cat.submitRequest({ pool: 'p', images: images(2, 1000), id: 'r' });
    const b = cat.openBatch('d1', 'M1');
    const w = writeCopies(cat, b.id, 'd1', 'M1', [1, 2], { fileNumber: 1, blockAddress: 1 });
    expect(cat.failCopy(2, { code: 'STREAM_CUT', reason: 'sender stopped' })).toMatchObject({
      to: 'retrying',
    });
    cat.commitBatch(b.id, {
      committed: w.committed.slice(0, 1),
      positionAfterSync: w.after,
      syncDurationMs: 1,
    });
    expect(states([1, 2])).toEqual(['committed', 'retrying']);
  });

  it('failUncommittedOnDrive fails the open batch, or the lone copy being written', () => {
    cat.submitRequest({ pool: 'p', images: images(3) });
    const b = cat.openBatch('d1', 'M1');
    writeCopies(cat, b.id, 'd1', 'M1', [1], { fileNumber: 1, blockAddress: 1 });
    cat.startWriting(2, 'd1', 'M1');
    const died = { code: 'WRITER_DIED', reason: 'exit signal SIGKILL' };
    const result = cat.failUncommittedOnDrive('d1', died);
    expect(result?.batchId).toBe(b.id);
    expect(result?.copies.map((c) => c.copyId)).toEqual([1, 2]);
    cat.startWriting(3, 'd2', 'M1');
    expect(cat.failUncommittedOnDrive('d2', died, { countAsDeviceError: false })).toMatchObject({
      batchId: null,
      copies: [{ copyId: 3, from: 'writing', to: 'retrying', attempts: 1 }],
    });
    expect(cat.failUncommittedOnDrive('d2', died)).toBeNull();
    expect(states([1, 2, 3])).toEqual(['retrying', 'retrying', 'retrying']);
  });

  it('a device error before any copy was reported written still counts against the drive and the medium, and may freeze it', () => {
    cat.submitRequest({ pool: 'p', images: images(2) });
    const before = { drive: cat.getDrive('d1').errorCount, medium: cat.getMedium('M1').errorCount };
    cat.startWriting(1, 'd1', 'M1');
    const medium = { code: 'MEDIUM_ERROR', reason: 'write error 0C/00' };
    expect(cat.failUncommittedOnDrive('d1', medium)).toMatchObject({ batchId: null, mediumFrozen: false });
    expect(cat.getDrive('d1').errorCount).toBe(before.drive + 1);
    expect(cat.getMedium('M1').errorCount).toBe(before.medium + 1);
    // Not a device error (a writer restart): nothing counted.
    cat.startWriting(2, 'd1', 'M1');
    cat.failUncommittedOnDrive('d1', medium, { countAsDeviceError: false });
    expect(cat.getDrive('d1').errorCount).toBe(before.drive + 1);
    expect(cat.getMedium('M1').errorCount).toBe(before.medium + 1);
    cat.startWriting(2, 'd1', 'M1');
    expect(cat.failUncommittedOnDrive('d1', medium, { freezeMedium: true })).toMatchObject({
      batchId: null,
      mediumFrozen: true,
    });
    expect(cat.getMedium('M1')).toMatchObject({ state: 'frozen', errorCount: before.medium + 2 });
  });
});

describe('spanning', () => {
  it('records one fragment per medium for a copy that continued on the next cartridge', () => {
    cat.submitRequest({
      id: 'r',
      pool: 'p',
      images: [
        { backupId: 'big', size: 5000 },
        { backupId: 'small', size: 100 },
      ],
    });
    // the small image goes first on M1 and is synced together with the first part of the big one
    const b1 = cat.openBatch('d1', 'M1');
    const small = writeCopies(cat, b1.id, 'd1', 'M1', [2], { fileNumber: 1, blockAddress: 1 });
    cat.startWriting(1, 'd1', 'M1');
    // early warning: the fragment of "big" ends at file 2, the sync covers it, M1 is full
    cat.commitBatch(b1.id, {
      committed: small.committed,
      positionAfterSync: { fileNumber: 3, blockAddress: 40 },
      syncDurationMs: 1200,
    });
    cat.setMediumState('M1', 'full', 'early warning');
    const m2 = cat.allocateScratch('p');
    const b2 = cat.openBatch('d1', m2.barcode);
    cat.markWritten(1, b2.id, { fileNumber: 1, blockAddress: 1, bytes: 2000, sha256: sha(1) });
    const fragments = [
      { medium: 'M1', fileNumber: 2, blockAddress: 7, offset: 0, length: 3000 },
      { medium: 'M2', fileNumber: 1, blockAddress: 1, offset: 3000, length: 2000 },
    ];
    // a first fragment not covered by M1's sync is refused
    const uncovered = [{ ...fragments[0]!, blockAddress: 40 }, fragments[1]!];
    expect(
      errorOf(() =>
        cat.commitBatch(b2.id, {
          committed: [
            {
              copyId: 1,
              medium: 'M1',
              fileNumber: 2,
              blockAddress: 40,
              sha256: sha(1),
              fragments: uncovered,
            },
          ],
          positionAfterSync: { fileNumber: 2, blockAddress: 5 },
          syncDurationMs: 1,
        }),
      ).code,
    ).toBe('BAD_POSITION');
    cat.commitBatch(b2.id, {
      committed: [{ copyId: 1, medium: 'M1', fileNumber: 2, blockAddress: 7, sha256: sha(1), fragments }],
      positionAfterSync: { fileNumber: 2, blockAddress: 5 },
      syncDurationMs: 1,
    });
    expect(cat.getCopy(1)).toMatchObject({
      state: 'committed',
      medium: 'M1',
      fileNumber: 2,
      writtenBytes: 5000,
    });
    expect(cat.listFragments({ copyId: 1 }).map((f) => [f.sequence, f.medium, f.offset, f.length])).toEqual([
      [0, 'M1', 0, 3000],
      [1, 'M2', 3000, 2000],
    ]);
    expect(cat.listFragments({ medium: 'M1' }).map((f) => f.copyId)).toEqual([2, 1]);
    expect(cat.listFragments({ medium: 'M2' }).map((f) => f.copyId)).toEqual([1]);
    expect(cat.getMedium('M2').committedBytes).toBe(2000);
    expect(cat.getRequest('r').state).toBe('completed');
  });
});

describe('status', () => {
  it('aggregates copies and bytes per state, per request and overall', () => {
    cat.submitRequest({ id: 'a', pool: 'p', images: images(4, 100, 'a') });
    cat.submitRequest({ id: 'b', pool: 'p', copies: 2, images: images(3, 7, 'b') });
    const batch = cat.openBatch('d1', 'M1');
    const w = writeCopies(cat, batch.id, 'd1', 'M1', [1, 2], { fileNumber: 1, blockAddress: 1 });
    cat.commitBatch(batch.id, { committed: w.committed, positionAfterSync: w.after, syncDurationMs: 1 });
    const b2 = cat.openBatch('d1', 'M1');
    writeCopies(cat, b2.id, 'd1', 'M1', [3], w.after);
    cat.startWriting(5, 'd1', 'M1');
    cat.cancelRequest('b');

    // the expected figures, computed from the copies themselves
    const all = cat.listCopies();
    const expected = (requestId?: string) => {
      const totals: Record<string, { copies: number; bytes: number }> = {};
      for (const c of all.filter((c) => requestId === undefined || c.requestId === requestId)) {
        const t = totals[c.state] ?? { copies: 0, bytes: 0 };
        totals[c.state] = { copies: t.copies + 1, bytes: t.bytes + c.size };
      }
      return totals;
    };
    const nonZero = (byState: Record<string, { copies: number; bytes: number }>) =>
      Object.fromEntries(Object.entries(byState).filter(([, t]) => t.copies > 0));

    const overall = cat.status();
    expect(nonZero(overall.byState)).toEqual(expected());
    expect(overall.total).toEqual({ copies: 10, bytes: 4 * 100 + 6 * 7 });
    expect(overall.requests).toEqual({ active: 1, completed: 0, failed: 0, cancelled: 1 });
    expect(nonZero(cat.status('a').byState)).toEqual({
      committed: { copies: 2, bytes: 200 },
      'written-pending-sync': { copies: 1, bytes: 100 },
      queued: { copies: 1, bytes: 100 },
    });
    expect(nonZero(cat.status('b').byState)).toEqual(expected('b'));
    expect(cat.status('b').byState.writing.copies).toBe(1);
    expect(cat.status('b').request?.id).toBe('b');
    expect(errorOf(() => cat.status('nope')).code).toBe('NOT_FOUND');
  });
});

describe('the queue for the planner', () => {
  it('names the media holding other copies of the image, and the drives and media a copy failed on', () => {
    cat.submitRequest({ id: 'r', pool: 'p', copies: 3, images: [{ backupId: 'big', size: 5000 }] });
    // copy 1 spans M1 → M2 and commits; copy 2 fails once on d2/M3; copy 3 waits
    const b1 = cat.openBatch('d1', 'M1');
    cat.startWriting(1, 'd1', 'M1');
    cat.commitBatch(b1.id, {
      committed: [],
      positionAfterSync: { fileNumber: 2, blockAddress: 40 },
      syncDurationMs: 1,
    });
    cat.setMediumState('M1', 'full', 'early warning');
    cat.allocateScratch('p', ['M3']);
    const b2 = cat.openBatch('d1', 'M2');
    cat.markWritten(1, b2.id, { fileNumber: 1, blockAddress: 1, bytes: 2000 });
    cat.commitBatch(b2.id, {
      committed: [
        {
          copyId: 1,
          medium: 'M1',
          fileNumber: 1,
          blockAddress: 1,
          sha256: sha(1),
          fragments: [
            { medium: 'M1', fileNumber: 1, blockAddress: 1, offset: 0, length: 3000 },
            { medium: 'M2', fileNumber: 1, blockAddress: 1, offset: 3000, length: 2000 },
          ],
        },
      ],
      positionAfterSync: { fileNumber: 2, blockAddress: 30 },
      syncDurationMs: 1,
    });
    cat.allocateScratch('p');
    const b3 = cat.openBatch('d2', 'M3');
    cat.startWriting(2, 'd2', 'M3');
    cat.failBatch(b3.id, FAIL);
    const queue = cat.nextQueued(10);
    expect(queue.map((q) => [q.copyId, q.siblingMedia, q.failedMedia, q.failedDrives])).toEqual([
      [2, ['M1', 'M2'], ['M3'], ['d2']],
      [3, ['M1', 'M2'], [], []],
    ]);
    // a copy being written elsewhere counts too
    cat.startWriting(2, 'd2', 'M3');
    expect(cat.nextQueued(10)[0]?.siblingMedia).toEqual(['M1', 'M2', 'M3']);
    expect(cat.listCopies({ drive: 'd2' }).map((c) => c.id)).toEqual([2]);
  });
});

describe('returnUnwritten', () => {
  it('puts copies a writer never started back to waiting, with no attempt charged', () => {
    cat.submitRequest({ id: 'r', pool: 'p', images: images(3) });
    const batch = cat.openBatch('d1', 'M1');
    for (const id of [1, 2, 3]) cat.startWriting(id, 'd1', 'M1');
    cat.markWritten(1, batch.id, { fileNumber: 1, blockAddress: 1, bytes: 1000 });
    // Copy 3 failed once before: it goes back as a retry, keeping its attempt count.
    cat.failBatch(batch.id, FAIL);
    expect(states([1, 2, 3])).toEqual(['retrying', 'retrying', 'retrying']);
    const b2 = cat.openBatch('d1', 'M1');
    for (const id of [1, 2, 3]) cat.startWriting(id, 'd1', 'M1');
    cat.markWritten(1, b2.id, { fileNumber: 1, blockAddress: 1, bytes: 1000 });
    cat.submitRequest({ id: 'r2', pool: 'p', images: images(1) });
    cat.startWriting(4, 'd1', 'M1');

    // Copy 1 is written (not eligible), 2 and 3 were retries handed over, 4 a first attempt.
    expect(cat.returnUnwritten([1, 2, 3, 4, 99], 'dropped unstarted').sort()).toEqual([2, 3, 4]);
    expect(states([1, 2, 3, 4])).toEqual(['written-pending-sync', 'retrying', 'retrying', 'queued']);
    expect([2, 3, 4].map((id) => cat.getCopy(id).attempts)).toEqual([1, 1, 0]);
    expect(cat.getCopy(4)).toMatchObject({ drive: null, medium: null });
    expect(cat.listEvents({ entity: 'copy', subject: 4 }).at(-1)).toMatchObject({
      from: 'writing',
      to: 'queued',
    });
  });
});
