import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from './catalog';
import { COPY_STATES } from './copy-state';
import { CatalogError } from './errors';
import { SCHEMA_VERSION } from './migrations';
import { type CatalogFixture, catalogFixture, images } from './testing/fixtures';

let fx: CatalogFixture;
afterEach(() => fx?.cleanup());

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CatalogError) return error.code;
    throw error;
  }
  return undefined;
}

describe('Catalog: opening', () => {
  it('reads back WAL, synchronous=FULL, foreign keys, busy timeout and the schema version', () => {
    fx = catalogFixture({ busyTimeoutMs: 1234 });
    expect(fx.catalog.pragmas()).toEqual({
      journalMode: 'wal',
      synchronous: 2,
      foreignKeys: true,
      busyTimeoutMs: 1234,
      userVersion: SCHEMA_VERSION,
    });
    // The same settings hold on a second connection (journal mode is stored in the file).
    const other = fx.reopen();
    expect(other.pragmas().journalMode).toBe('wal');
    expect(other.pragmas().synchronous).toBe(2);
  });

  it('reopens an existing file without re-running migrations and keeps the data', () => {
    fx = catalogFixture();
    const { requestId } = fx.catalog.submitRequest({ pool: 'p', images: images(3) });
    fx.catalog.close();
    const again = fx.reopen();
    expect(again.getRequest(requestId).state).toBe('active');
    expect(again.status().total.copies).toBe(3);
  });

  it('refuses a database written by a newer schema', () => {
    fx = catalogFixture();
    fx.catalog.close();
    const raw = new Database(fx.path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(codeOf(() => fx.reopen())).toBe('SCHEMA_TOO_NEW');
  });

  it('validates options and names the option', () => {
    fx = catalogFixture();
    for (const [options, field] of [
      [{ path: '' }, 'path'],
      [{ path: fx.path, maxAttempts: 0 }, 'maxAttempts'],
      [{ path: fx.path, syncCostAlpha: 1.5 }, 'syncCostAlpha'],
      [{ path: fx.path, busyTimeoutMs: -1 }, 'busyTimeoutMs'],
    ] as const) {
      try {
        new Catalog(options);
        expect.unreachable();
      } catch (error) {
        expect(error).toMatchObject({ code: 'INVALID_OPTION', field });
        expect((error as Error).message).toContain(field);
      }
    }
  });

  it('has a CHECK constraint on the copy state column matching the state list', () => {
    fx = catalogFixture();
    fx.catalog.submitRequest({ pool: 'p', images: images(1) });
    const raw = new Database(fx.path);
    try {
      expect(() => raw.prepare("UPDATE copies SET state = 'lost' WHERE id = 1").run()).toThrow(
        /CHECK constraint/,
      );
      for (const state of COPY_STATES.filter((s) => s !== 'committed')) {
        expect(() => raw.prepare('UPDATE copies SET state = ? WHERE id = 1').run(state)).not.toThrow();
      }
      // committed needs a position and a checksum
      expect(() => raw.prepare("UPDATE copies SET state = 'committed' WHERE id = 1").run()).toThrow(
        /CHECK constraint/,
      );
    } finally {
      raw.close();
    }
  });
});

describe('Catalog: requests', () => {
  it('submits a request with a queued copy per image and copy number', () => {
    fx = catalogFixture();
    const result = fx.catalog.submitRequest({
      id: 'r1',
      pool: 'p',
      copies: 2,
      priority: 5,
      images: images(4, 100),
    });
    expect(result).toEqual({ requestId: 'r1', images: 4, copies: 8 });
    const copies = fx.catalog.listCopies({ requestId: 'r1' });
    expect(copies).toHaveLength(8);
    expect(copies.every((c) => c.state === 'queued' && c.priority === 5 && c.attempts === 0)).toBe(true);
    expect(copies.map((c) => c.copyNumber)).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
    const listed = fx.catalog.listImages({ requestId: 'r1' });
    expect(listed.map((i) => i.backupId)).toEqual(['img-0', 'img-1', 'img-2', 'img-3']);
    expect(listed[0]?.source).toEqual({ path: 'img/0' });
    expect(fx.catalog.getRequest('r1')).toMatchObject({ state: 'active', copies: 2, submittedAt: fx.now() });
  });

  it('rejects duplicates and bad input without inserting anything', () => {
    fx = catalogFixture({ maxImagesPerRequest: 10 });
    fx.catalog.submitRequest({ id: 'r1', pool: 'p', images: images(1) });
    expect(codeOf(() => fx.catalog.submitRequest({ id: 'r1', pool: 'p', images: images(1) }))).toBe(
      'DUPLICATE',
    );
    const twice = [...images(2), { backupId: 'img-0', size: 1 }];
    expect(codeOf(() => fx.catalog.submitRequest({ id: 'r2', pool: 'p', images: twice }))).toBe('DUPLICATE');
    expect(codeOf(() => fx.catalog.submitRequest({ id: 'r3', pool: 'p', images: images(11) }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => fx.catalog.submitRequest({ id: 'r4', pool: 'p', images: [] }))).toBe(
      'INVALID_ARGUMENT',
    );
    try {
      fx.catalog.submitRequest({ id: 'r5', pool: 'p', images: [...images(2), { backupId: 'x', size: -1 }] });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'request.images[2].size' });
    }
    expect(
      codeOf(() => fx.catalog.submitRequest({ id: 'r6', pool: 'p', copies: 9, images: images(1) })),
    ).toBe('INVALID_ARGUMENT');
    expect(fx.catalog.listRequests().map((r) => r.id)).toEqual(['r1']);
    expect(fx.catalog.status().total.copies).toBe(1);
  });

  it('hands out waiting copies by priority, then in submission order, with filters', () => {
    fx = catalogFixture();
    fx.catalog.submitRequest({ id: 'low', pool: 'a', priority: 1, images: images(2, 10, 'low') });
    fx.catalog.submitRequest({
      id: 'high',
      pool: 'b',
      priority: 9,
      images: [...images(2, 10, 'high'), { backupId: 'urgent', size: 1, priority: 50, kind: 'stream' }],
    });
    expect(fx.catalog.nextQueued(10).map((q) => q.backupId)).toEqual([
      'urgent',
      'high-0',
      'high-1',
      'low-0',
      'low-1',
    ]);
    expect(fx.catalog.nextQueued(2).map((q) => q.backupId)).toEqual(['urgent', 'high-0']);
    expect(fx.catalog.nextQueued(10, { pool: 'a' }).map((q) => q.backupId)).toEqual(['low-0', 'low-1']);
    expect(fx.catalog.nextQueued(10, { kind: 'stream' }).map((q) => q.backupId)).toEqual(['urgent']);
    expect(fx.catalog.nextQueued(10, { requestId: 'low' })).toHaveLength(2);
    expect(codeOf(() => fx.catalog.nextQueued(0))).toBe('INVALID_ARGUMENT');
  });

  it('cancels the waiting copies of a request and finishes it', () => {
    fx = catalogFixture();
    fx.catalog.submitRequest({ id: 'r', pool: 'p', images: images(3) });
    fx.tick(50);
    expect(fx.catalog.cancelRequest('r')).toEqual({ cancelled: 3, inFlight: 0 });
    expect(fx.catalog.getRequest('r')).toMatchObject({ state: 'cancelled', finishedAt: fx.now() });
    expect(fx.catalog.nextQueued(10)).toEqual([]);
    expect(fx.catalog.status('r').byState.cancelled).toEqual({ copies: 3, bytes: 3000 });
    expect(fx.catalog.cancelRequest('r')).toEqual({ cancelled: 0, inFlight: 0 });
    expect(codeOf(() => fx.catalog.cancelRequest('nope'))).toBe('NOT_FOUND');
  });

  it('accepts 100,000 images in one request', () => {
    fx = catalogFixture();
    const result = fx.catalog.submitRequest({ pool: 'p', images: images(100_000, 7) });
    expect(result.copies).toBe(100_000);
    const status = fx.catalog.status(result.requestId);
    expect(status.byState.queued).toEqual({ copies: 100_000, bytes: 700_000 });
    expect(fx.catalog.listImages({ requestId: result.requestId, offset: 99_999 })[0]?.backupId).toBe(
      'img-99999',
    );
  });
});

describe('Catalog: media and drives', () => {
  it('allocates scratch media in barcode order, skipping excluded and other pools', () => {
    fx = catalogFixture();
    fx.catalog.addMedium('B2', 'p');
    fx.catalog.addMedium('A1', 'other');
    fx.catalog.addMedium('B1', 'p');
    fx.catalog.addMedium('B3', 'p');
    expect(fx.catalog.allocateScratch('p').barcode).toBe('B1');
    expect(fx.catalog.allocateScratch('p', ['B2']).barcode).toBe('B3');
    expect(fx.catalog.getMedium('B1').state).toBe('active');
    expect(codeOf(() => fx.catalog.allocateScratch('p', ['B2']))).toBe('NO_SCRATCH');
    expect(fx.catalog.allocateScratch('p').barcode).toBe('B2');
    expect(codeOf(() => fx.catalog.addMedium('B1', 'p'))).toBe('DUPLICATE');
    expect(fx.catalog.listMedia({ pool: 'p', state: 'active' }).map((m) => m.barcode)).toEqual([
      'B1',
      'B2',
      'B3',
    ]);
  });

  it('enforces medium state transitions', () => {
    fx = catalogFixture();
    fx.catalog.addMedium('M', 'p');
    expect(codeOf(() => fx.catalog.setMediumState('M', 'full', 'x'))).toBe('BAD_TRANSITION');
    fx.catalog.setMediumState('M', 'active', 'in use');
    fx.catalog.setMediumState('M', 'full', 'early warning');
    expect(codeOf(() => fx.catalog.setMediumState('M', 'active', 'x'))).toBe('BAD_TRANSITION');
    fx.catalog.setMediumState('M', 'frozen', 'errors');
    expect(fx.catalog.getMedium('M').state).toBe('frozen');
    expect(fx.catalog.listEvents({ entity: 'medium', subject: 'M' }).map((e) => e.to)).toEqual([
      'scratch',
      'active',
      'full',
      'frozen',
    ]);
  });

  it('keeps the sync cost as an exponentially weighted mean and counts errors', () => {
    fx = catalogFixture({ syncCostAlpha: 0.5 });
    fx.catalog.registerDrive('d', 'virtual:lib#0');
    expect(fx.catalog.getDrive('d').syncCostSeconds).toBeNull();
    fx.catalog.recordSync('d', 2, 1000);
    fx.catalog.recordSync('d', 1, 3000);
    const drive = fx.catalog.recordSync('d', 0.5, 0);
    expect(drive.syncCostSeconds).toBeCloseTo(0.5 * 0.5 + 0.5 * (0.5 * 1 + 0.5 * 2));
    expect(drive).toMatchObject({ syncCount: 3, bytesWritten: 4000, bytesSinceError: 4000, errorCount: 0 });
    const after = fx.catalog.recordError('d', null, 4000);
    expect(after).toMatchObject({ errorCount: 1, bytesSinceError: 0, meanBytesBetweenErrors: 4000 });
    expect(after.errorRatePerByte).toBeCloseTo(1 / 4000);
    fx.tick(10);
    fx.catalog.heartbeat('d');
    expect(fx.catalog.getDrive('d').lastHeartbeat).toBe(fx.now());
    expect(codeOf(() => fx.catalog.heartbeat('nope'))).toBe('NOT_FOUND');
    // re-registering keeps the history
    expect(fx.catalog.registerDrive('d', 'virtual:lib#1')).toMatchObject({
      spec: 'virtual:lib#1',
      syncCount: 3,
    });
  });
});
