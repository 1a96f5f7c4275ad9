import type { MessageOf } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator, type CoordinatorSettings } from './coordinator';
import type { Output } from './outputs';
import { eventsOf, type Harness, makeHarness, repliesOf } from './testing/harness';

let h: Harness | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

function submit(n: number, extra: Partial<MessageOf<'submit'>> = {}): MessageOf<'submit'> {
  return {
    v: PROTOCOL_VERSION,
    type: 'submit',
    id: `q${n}`,
    images: Array.from({ length: n }, (_, i) => ({
      backupId: `b${i}`,
      sizeBytes: 1_000_000 + i,
      source: { kind: 'disk' as const, dsu: 'dsu1', path: `c/b${i}.img` },
    })),
    copies: 1,
    pool: 'default',
    priority: 50,
    ...extra,
  };
}

function setup(settings: Partial<CoordinatorSettings> = {}, media?: Record<string, string[]>): Harness {
  h = makeHarness(settings, media);
  return h;
}

/** Connects a writer double and answers its mount; returns what the coordinator said meanwhile. */
function connect(x: Harness, driveId: string): Output[] {
  const w = x.writer(driveId);
  const out = x.take(x.coordinator.writerMessage(driveId, w.hello()));
  const mounts = w.drain('mount');
  for (const m of mounts) out.push(...x.take(x.coordinator.writerMessage(driveId, w.mounted(m))));
  return out;
}

function accept(x: Harness, m: MessageOf<'submit'>): string {
  const replies = repliesOf(x.take(x.coordinator.submit(m)));
  const accepted = replies.find((r) => r.type === 'accepted');
  if (accepted?.type !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(replies)}`);
  return accepted.requestId;
}

describe('submit validation', () => {
  it('rejects a bad submit with a code and the field at fault, recording nothing', () => {
    const x = setup();
    const cases: [MessageOf<'submit'>, string, string][] = [
      [submit(1, { pool: 'nope' }), 'UNKNOWN_POOL', 'pool'],
      [submit(1, { copies: 3 }), 'TOO_MANY_COPIES', 'copies'],
      [
        {
          ...submit(2),
          images: [
            submit(2).images[0]!,
            { backupId: 'x', sizeBytes: 1, source: { kind: 'disk', dsu: 'other', path: 'a' } },
          ],
        },
        'UNKNOWN_DSU',
        'images.1.source.dsu',
      ],
      [
        { ...submit(1), images: [{ backupId: 's', sizeBytes: 1, source: { kind: 'stream' } }] },
        'UNSUPPORTED_SOURCE',
        'images.0.source.kind',
      ],
    ];
    for (const [message, code, field] of cases) {
      const [reply] = repliesOf(x.coordinator.submit(message));
      expect(reply).toMatchObject({ type: 'rejected', re: message.id, code, field });
    }
    expect(x.catalog.status().total.copies).toBe(0);
  });

  it('checks disk sources with the injected inspector: missing file and wrong size', () => {
    const x = setup();
    const sizes = new Map([['/srv/dsu1/c/b0.img', 1_000_000]]);
    const c = new Coordinator({
      catalog: x.catalog,
      clock: () => x.clock.now,
      logger: pino({ level: 'silent' }),
      settings: settingsFor(['d0']),
      inspectSource: (p) => (sizes.has(p) ? { size: sizes.get(p)! } : undefined),
    });
    expect(repliesOf(c.submit(submit(2)))[0]).toMatchObject({
      type: 'rejected',
      code: 'SOURCE_NOT_FOUND',
      field: 'images.1.source.path',
    });
    sizes.set('/srv/dsu1/c/b1.img', 5);
    expect(repliesOf(c.submit(submit(2)))[0]).toMatchObject({
      type: 'rejected',
      code: 'SIZE_MISMATCH',
      field: 'images.1.sizeBytes',
    });
    sizes.set('/srv/dsu1/c/b1.img', 1_000_001);
    expect(repliesOf(c.submit(submit(2)))[0]).toMatchObject({ type: 'accepted' });
  });
});

describe('assign with policy decisions', () => {
  it('mounts a scratch medium, then assigns with the fixed policy: 3 defers then a sync, each decision logged', () => {
    const x = setup();
    accept(x, submit(8));
    connect(x, 'd0');
    const items = x.writer('d0').items();
    expect(items).toHaveLength(8);
    expect(items.map((i) => i.decision)).toEqual([
      'defer',
      'defer',
      'defer',
      'sync',
      'defer',
      'defer',
      'defer',
      'sync',
    ]);
    expect(items[3]!.reason).toBe('batch-image-limit');
    expect(items[7]!.reason).toBe('end-of-work');
    const decisions = x.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('sync decision'));
    expect(decisions).toHaveLength(8);
    expect(decisions[0]).toMatchObject({ decision: 'defer', reason: 'batch-open', policy: 'fixed' });
    expect(x.catalog.status().byState.writing.copies).toBe(8);
    expect(x.catalog.getMedium('A00001L9').state).toBe('active');
  });

  it('a first assign after mount carries resumeAt from the catalog', () => {
    const x = setup();
    accept(x, submit(2));
    connect(x, 'd0');
    const [assign] = x.writer('d0').drain('assign');
    expect(assign?.resumeAt).toEqual({ fileNumber: 0, blockAddress: 0 });
    expect(assign?.medium).toBe('A00001L9');
  });
});

describe('commit', () => {
  it('batch-synced commits exactly the copies of the batch, and only then publishes image-committed', () => {
    const x = setup();
    const requestId = accept(x, submit(8));
    connect(x, 'd0');
    const w = x.writer('d0');
    const items = w.items();
    const written: Output[] = [];
    for (const item of items.slice(0, 4))
      written.push(...x.take(x.coordinator.writerMessage('d0', w.written(item))));
    expect(eventsOf(written, 'image-written')).toHaveLength(4);
    expect(eventsOf(written, 'image-committed')).toHaveLength(0);
    expect(x.catalog.status().byState.committed.copies).toBe(0);
    const out = x.take(x.coordinator.writerMessage('d0', w.synced()));
    const committed = eventsOf(out, 'image-committed');
    expect(committed.map((e) => e.backupId)).toEqual(['b0', 'b1', 'b2', 'b3']);
    expect(x.catalog.status(requestId).byState.committed.copies).toBe(4);
    expect(x.catalog.status(requestId).byState.writing.copies).toBe(4);
    expect(eventsOf(out, 'request-done')).toHaveLength(0);
    for (const item of items.slice(4)) x.take(x.coordinator.writerMessage('d0', w.written(item)));
    const last = x.take(x.coordinator.writerMessage('d0', w.synced()));
    expect(eventsOf(last, 'image-committed')).toHaveLength(4);
    const [done] = eventsOf(last, 'request-done');
    expect(done).toMatchObject({ requestId, outcome: 'done', images: 8, committed: 8, failed: 0 });
  });

  it('a sync report naming a copy that is not pending fails the batch instead of committing it', () => {
    const x = setup();
    accept(x, submit(4));
    connect(x, 'd0');
    const w = x.writer('d0');
    const items = w.items();
    x.take(x.coordinator.writerMessage('d0', w.written(items[0]!)));
    const report = w.synced() as MessageOf<'batch-synced'>;
    report.committed.push({ ...report.committed[0]!, copyId: items[1]!.copyId });
    const out = x.take(x.coordinator.writerMessage('d0', report));
    expect(eventsOf(out, 'image-committed')).toHaveLength(0);
    expect(eventsOf(out, 'image-failed').length).toBeGreaterThan(0);
    expect(x.catalog.status().byState.committed.copies).toBe(0);
  });

  it('an idle writer with a deferred batch gets sync-now (end of work), and its answer commits', () => {
    const x = setup({ policy: { policy: 'fixed', fixedBatchImages: 8 } });
    accept(x, submit(2));
    connect(x, 'd0');
    const w = x.writer('d0');
    const items = w.items();
    expect(items.map((i) => i.decision)).toEqual(['defer', 'sync']);
    // Only the first copy arrives, then the second fails on its own: the first stays deferred.
    x.take(x.coordinator.writerMessage('d0', w.written(items[0]!)));
    const failed = x.take(
      x.coordinator.writerMessage('d0', {
        v: 1,
        type: 'copy-failed',
        id: 'cf',
        copyId: items[1]!.copyId,
        reason: 'SOURCE_READ',
        message: 'gone',
        retryable: true,
      }),
    );
    expect(eventsOf(failed, 'image-retrying')).toHaveLength(1);
    // The retry was handed out again at once; write it (it is synced on its own).
    const retry = w.items();
    expect(retry).toEqual([expect.objectContaining({ attempt: 2, decision: 'sync', reason: 'retry' })]);
    const sync = w.drain('sync-now');
    // The open batch had to end before the retry joined it.
    expect(sync).toHaveLength(1);
    const out = x.take(x.coordinator.writerMessage('d0', w.synced(sync[0]!.id, sync[0]!.batchId)));
    expect(eventsOf(out, 'image-committed').map((e) => e.backupId)).toEqual(['b0']);
  });
});

describe('failure and retry', () => {
  it('sync-failed fails every copy of the batch, none committed, and each retry is synced on its own', () => {
    const x = setup();
    const requestId = accept(x, submit(4));
    connect(x, 'd0');
    const w = x.writer('d0');
    const items = w.items();
    for (const item of items.slice(0, 3)) x.take(x.coordinator.writerMessage('d0', w.written(item)));
    const out = x.take(x.coordinator.writerMessage('d0', w.syncFailed({ category: 'hardware', code: 'HW' })));
    // The batch failed: the three copies written since the last good sync. The fourth was only handed
    // to the writer, which dropped it unstarted: it goes back to the queue with no attempt charged.
    expect(eventsOf(out, 'image-failed').map((e) => e.backupId)).toEqual(['b0', 'b1', 'b2']);
    expect(eventsOf(out, 'image-failed').every((e) => e.retryable && e.attempt === 1)).toBe(true);
    expect(eventsOf(out, 'image-retrying').map((e) => e.attempt)).toEqual([2, 2, 2]);
    expect(eventsOf(x.outputs, 'image-committed')).toHaveLength(0);
    expect(x.catalog.status(requestId).byState.committed.copies).toBe(0);
    // Requeued and reassigned at once, each retry a sync, starting over at the committed end of the medium;
    // the returned copy keeps its first attempt.
    const [assign] = w.drain('assign');
    expect(assign?.resumeAt).toEqual({ fileNumber: 0, blockAddress: 0 });
    const byImage = new Map(assign?.items.map((i) => [i.backupId, [i.attempt, i.decision, i.reason]]));
    for (const b of ['b0', 'b1', 'b2']) expect(byImage.get(b)).toEqual([2, 'sync', 'retry']);
    expect(byImage.get('b3')?.[0]).toBe(1);
    w.medium = assign!.medium;
    for (const item of assign!.items) {
      x.take(x.coordinator.writerMessage('d0', w.written(item)));
      x.take(x.coordinator.writerMessage('d0', w.synced()));
    }
    expect(x.catalog.status(requestId).byState.committed.copies).toBe(4);
    const done = eventsOf(x.outputs, 'request-done');
    expect(done).toEqual([expect.objectContaining({ outcome: 'done', committed: 4 })]);
  });

  it('abandons a copy after max attempts and reports the request failed', () => {
    const x = setup({ maxAttempts: 2, freezeAfterMediumErrors: 100 });
    const requestId = accept(x, submit(1));
    connect(x, 'd0');
    const w = x.writer('d0');
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [item] = w.items();
      expect(item?.attempt).toBe(attempt);
      x.take(x.coordinator.writerMessage('d0', w.written(item!)));
      x.take(x.coordinator.writerMessage('d0', w.syncFailed()));
    }
    const failed = eventsOf(x.outputs, 'image-failed');
    expect(failed.map((e) => [e.attempt, e.retryable])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(eventsOf(x.outputs, 'image-retrying')).toHaveLength(1);
    expect(x.catalog.status(requestId).byState.abandoned.copies).toBe(1);
    expect(eventsOf(x.outputs, 'request-done')).toEqual([
      expect.objectContaining({ requestId, outcome: 'failed', committed: 0, failed: 1 }),
    ]);
    expect(w.items()).toHaveLength(0);
  });

  it('freezes a medium after repeated medium errors and moves the work to another medium', () => {
    const x = setup({ freezeAfterMediumErrors: 2 });
    accept(x, submit(2));
    connect(x, 'd0');
    const w = x.writer('d0');
    let items = w.items();
    x.take(x.coordinator.writerMessage('d0', w.written(items[0]!)));
    let out = x.take(x.coordinator.writerMessage('d0', w.syncFailed()));
    expect(out.filter((o) => o.kind === 'medium-state')).toHaveLength(0);
    items = w.items();
    expect(x.catalog.getMedium('A00001L9').state).toBe('active');
    x.take(x.coordinator.writerMessage('d0', w.written(items[0]!)));
    out = x.take(x.coordinator.writerMessage('d0', w.syncFailed()));
    expect(out.filter((o) => o.kind === 'medium-state')).toEqual([
      expect.objectContaining({ barcode: 'A00001L9', state: 'frozen' }),
    ]);
    expect(x.catalog.getMedium('A00001L9').state).toBe('frozen');
    // The next attempt needs another cartridge: the coordinator mounts one, then assigns there.
    const [mount] = w.drain('mount');
    expect(mount?.barcode).toBe('A00002L9');
    x.take(x.coordinator.writerMessage('d0', w.mounted(mount!)));
    const [assign] = w.drain('assign');
    expect(assign?.medium).toBe('A00002L9');
    expect(assign?.items.every((i) => i.decision === 'sync')).toBe(true);
  });

  it('a lost writer fails and requeues everything in flight on its drive; nothing is committed', () => {
    const x = setup();
    const requestId = accept(x, submit(3));
    connect(x, 'd0');
    const w = x.writer('d0');
    const items = w.items();
    x.take(x.coordinator.writerMessage('d0', w.written(items[0]!)));
    const out = x.take(x.coordinator.writerLost('d0', 'WRITER_DIED', 'exit signal SIGKILL'));
    expect(eventsOf(out, 'image-failed').map((e) => e.reason)).toEqual([
      'WRITER_DIED',
      'WRITER_DIED',
      'WRITER_DIED',
    ]);
    expect(x.catalog.status(requestId).byState.retrying.copies).toBe(3);
    // A late report from the dead writer's attempt is ignored.
    const late = x.take(x.coordinator.writerMessage('d0', w.synced()));
    expect(late.filter((o) => o.kind === 'writer' && o.message.type === 'error')).toHaveLength(1);
    expect(x.catalog.status(requestId).byState.committed.copies).toBe(0);
    // The restarted writer gets the retries.
    connect(x, 'd0');
    expect(w.items().map((i) => i.attempt)).toEqual([2, 2, 2]);
  });
});

describe('several copies', () => {
  it('copies of one image go to distinct drives and both drives get sync-now together', () => {
    const x = setup({ policy: { policy: 'sync-every' } });
    connect(x, 'd0');
    connect(x, 'd1');
    accept(x, submit(1, { copies: 2 }));
    for (const id of ['d0', 'd1']) {
      const w = x.writer(id);
      for (const m of w.drain('mount')) x.take(x.coordinator.writerMessage(id, w.mounted(m)));
    }
    const a = x.writer('d0').items();
    const b = x.writer('d1').items();
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect([a[0]!.copy, b[0]!.copy].sort()).toEqual([1, 2]);
    expect(x.writer('d0').medium).not.toBe(x.writer('d1').medium);
    // The policy's sync becomes an immediate filemark on each drive plus a common flush.
    expect([a[0]!.decision, b[0]!.decision]).toEqual(['defer', 'defer']);
    expect(a[0]!.reason).toBe('group-sync(sync-every)');
    const first = x.take(x.coordinator.writerMessage('d0', x.writer('d0').written(a[0]!)));
    expect(first.filter((o) => o.kind === 'writer' && o.message.type === 'sync-now')).toHaveLength(0);
    const second = x.take(x.coordinator.writerMessage('d1', x.writer('d1').written(b[0]!)));
    const syncs = second.filter((o) => o.kind === 'writer' && o.message.type === 'sync-now');
    expect(syncs.map((o) => (o.kind === 'writer' ? o.driveId : '')).sort()).toEqual(['d0', 'd1']);
    for (const id of ['d0', 'd1']) {
      const w = x.writer(id);
      const [s] = w.drain('sync-now');
      x.take(x.coordinator.writerMessage(id, w.synced(s!.id, s!.batchId)));
    }
    expect(eventsOf(x.outputs, 'request-done')).toEqual([
      expect.objectContaining({ outcome: 'done', committed: 2, images: 1 }),
    ]);
  });
});

describe('scheduler requests', () => {
  it('answers status from the catalog and cancels queued copies', () => {
    const x = setup();
    const requestId = accept(x, submit(5));
    const [status] = repliesOf(x.coordinator.status({ v: 1, type: 'status', id: 's1', requestId }));
    expect(status).toMatchObject({
      type: 'status-reply',
      re: 's1',
      requests: [{ requestId, state: 'queued', images: 5, copies: { queued: 5, committed: 0 } }],
    });
    const out = x.take(x.coordinator.cancel({ v: 1, type: 'cancel', id: 'c1', requestId }));
    expect(repliesOf(out)[0]).toMatchObject({ type: 'cancelled', cancelled: 5, alreadyCommitted: 0 });
    expect(eventsOf(out, 'request-done')).toEqual([expect.objectContaining({ outcome: 'cancelled' })]);
    const [unknown] = repliesOf(x.coordinator.cancel({ v: 1, type: 'cancel', id: 'c2', requestId: 'nope' }));
    expect(unknown).toMatchObject({ type: 'error', code: 'UNKNOWN_REQUEST', field: 'requestId' });
  });

  it('resumes unfinished requests after a restart: in-flight copies are requeued, never committed', () => {
    const x = setup();
    const requestId = accept(x, submit(3));
    connect(x, 'd0');
    const w = x.writer('d0');
    for (const item of w.items()) x.take(x.coordinator.writerMessage('d0', w.written(item)));
    expect(x.catalog.status(requestId).byState['written-pending-sync'].copies).toBe(3);
    // A new coordinator on the same catalog, as after a crash.
    const { catalog, logs } = x;
    const restarted = makeHarnessOn(x);
    const out = restarted.start();
    expect(eventsOf(out, 'image-retrying')).toHaveLength(3);
    expect(catalog.status(requestId).byState.retrying.copies).toBe(3);
    expect(logs.some((l) => l.msg === 'recovered in-flight work from the catalog')).toBe(true);
  });
});

function makeHarnessOn(x: Harness): Coordinator {
  return new Coordinator({
    catalog: x.catalog,
    clock: () => x.clock.now,
    logger: pino({ level: 'silent' }),
    settings: settingsFor(['d0']),
  });
}

function settingsFor(drives: string[]): CoordinatorSettings {
  return {
    drives: drives.map((id) => ({ id, spec: `virtual:/lib#${id}` })),
    pools: ['default'],
    dsu: { dsu1: '/srv/dsu1' },
    policy: {},
    poolPolicy: {},
    maxAttempts: 3,
    retryBackoffMs: 0,
    retryMaxBackoffMs: 0,
    windowImages: 8,
    windowBytes: 1e12,
    freezeAfterMediumErrors: 2,
    defaultRateBytesPerSec: 1e8,
  };
}

/** Answers the mounts a writer double was asked for. */
function answerMounts(x: Harness, driveId: string): void {
  const w = x.writer(driveId);
  for (const m of w.drain('mount')) x.take(x.coordinator.writerMessage(driveId, w.mounted(m)));
}

describe('startup settle', () => {
  it('waits for every configured writer before the first plan, then spreads the work over both', () => {
    const x = setup({ startupSettleMs: 10_000 });
    accept(x, submit(8));
    connect(x, 'd0');
    expect(x.writer('d0').items()).toHaveLength(0);
    connect(x, 'd1');
    answerMounts(x, 'd0');
    answerMounts(x, 'd1');
    const d0 = x.writer('d0').items();
    const d1 = x.writer('d1').items();
    expect(d0.length).toBeGreaterThan(0);
    expect(d1.length).toBeGreaterThan(0);
    expect(d0.length + d1.length).toBe(8);
  });

  it('plans with the writers it has once the settle time has passed', () => {
    const x = setup({ startupSettleMs: 10_000 });
    accept(x, submit(4));
    connect(x, 'd0');
    x.take(x.coordinator.tick());
    expect(x.writer('d0').items()).toHaveLength(0);
    x.clock.now += 10_000;
    x.take(x.coordinator.tick());
    answerMounts(x, 'd0');
    expect(x.writer('d0').items()).toHaveLength(4);
  });
});
