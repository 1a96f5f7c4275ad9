import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type CatalogFixture, catalogFixture, images, writeCopies } from './testing/fixtures';

let fx: CatalogFixture;
afterEach(() => fx.cleanup());

describe('recoverInFlight after a duplicator crash', () => {
  it('fails every open batch and in-flight copy back to the queue, keeps committed work, and the request completes', () => {
    fx = catalogFixture();
    const before = fx.catalog; // the process that "crashes": never closed
    before.registerDrive('d1', 'virtual:lib#0');
    before.registerDrive('d2', 'virtual:lib#1');
    before.addMedium('M1', 'p', 'active');
    before.addMedium('M2', 'p', 'active');
    before.submitRequest({ id: 'r', pool: 'p', images: images(6) });
    const b1 = before.openBatch('d1', 'M1');
    const first = writeCopies(before, b1.id, 'd1', 'M1', [1, 2], { fileNumber: 1, blockAddress: 1 });
    before.commitBatch(b1.id, {
      committed: first.committed,
      positionAfterSync: first.after,
      syncDurationMs: 900,
    });
    const b2 = before.openBatch('d1', 'M1');
    writeCopies(before, b2.id, 'd1', 'M1', [3, 4], first.after);
    before.startWriting(5, 'd2', 'M2'); // being written on a drive with no batch open yet

    // A restarted process opens the same file while the dead one's connection still exists.
    fx.tick(60_000);
    const after = fx.reopen();
    const result = after.recoverInFlight();
    expect(result.failedBatches).toEqual([b2.id]);
    expect(result.copies).toEqual([
      { copyId: 3, from: 'written-pending-sync', to: 'retrying', attempts: 1 },
      { copyId: 4, from: 'written-pending-sync', to: 'retrying', attempts: 1 },
      { copyId: 5, from: 'writing', to: 'retrying', attempts: 1 },
    ]);
    expect(result.activeRequests).toEqual(['r']);
    expect(after.getCopy(3).lastError).toMatchObject({ code: 'DUPLICATOR_RESTART', at: fx.now() });
    expect(after.listCopies().map((c) => c.state)).toEqual([
      'committed',
      'committed',
      'retrying',
      'retrying',
      'retrying',
      'queued',
    ]);
    expect(after.getBatch(b2.id).state).toBe('failed');
    // a restart says nothing about the hardware
    expect(after.getDrive('d1').errorCount).toBe(0);
    expect(after.getMedium('M1').errorCount).toBe(0);
    // the catalog is the truth: writing resumes at the end of the last committed data
    expect(after.lastCommittedPosition('M1')).toEqual(first.after);
    // the stale connection sees the recovered state too
    expect(before.getCopy(3).state).toBe('retrying');
    // nothing left to recover
    expect(after.recoverInFlight()).toEqual({ failedBatches: [], copies: [], activeRequests: ['r'] });

    // the restarted process finishes the request from the queue, overwriting from the committed end
    const queue = after.nextQueued(10).map((q) => q.copyId);
    expect(queue).toEqual([3, 4, 5, 6]);
    const b3 = after.openBatch('d1', 'M1');
    const rest = writeCopies(after, b3.id, 'd1', 'M1', queue, after.lastCommittedPosition('M1'));
    after.commitBatch(b3.id, {
      committed: rest.committed,
      positionAfterSync: rest.after,
      syncDurationMs: 900,
    });
    expect(after.getRequest('r').state).toBe('completed');
    expect(after.status('r').byState.committed.copies).toBe(6);
    expect(after.listFragments({ medium: 'M1' }).map((f) => f.copyId)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('logs what it recovered through the injected logger', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    fx = catalogFixture();
    fx.catalog.registerDrive('d1', 'virtual:lib#0');
    fx.catalog.addMedium('M1', 'p', 'active');
    fx.catalog.submitRequest({ id: 'r', pool: 'p', images: images(2) });
    fx.catalog.startWriting(1, 'd1', 'M1');
    const restarted = fx.reopen({ logger: pino({ base: null }, sink) });
    restarted.recoverInFlight();
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'catalog recovered in-flight work',
        batches: 0,
        copies: 1,
        requests: 1,
      }),
    );
  });
});
