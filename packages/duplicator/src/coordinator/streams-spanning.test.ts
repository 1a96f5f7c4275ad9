import type { MessageOf, WriterToDuplicator } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { CoordinatorSettings } from './coordinator';
import type { Output } from './outputs';
import { eventsOf, type Harness, makeHarness, repliesOf, SHA } from './testing/harness';

let h: Harness | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

const STREAM_DIR = '/run/tapedup-test/s';

function setup(settings: Partial<CoordinatorSettings> = {}): Harness {
  h = makeHarness({ streamDir: STREAM_DIR, ...settings });
  return h;
}

function connect(x: Harness, driveId: string): Output[] {
  const w = x.writer(driveId);
  const out = x.take(x.coordinator.writerMessage(driveId, w.hello()));
  for (const m of w.drain('mount')) out.push(...x.take(x.coordinator.writerMessage(driveId, w.mounted(m))));
  return out;
}

function submit(
  images: MessageOf<'submit'>['images'],
  extra: Partial<MessageOf<'submit'>> = {},
): MessageOf<'submit'> {
  return {
    v: PROTOCOL_VERSION,
    type: 'submit',
    id: 'q1',
    images,
    copies: 1,
    pool: 'default',
    priority: 50,
    ...extra,
  };
}

const disk = (i: number) => ({
  backupId: `b${i}`,
  sizeBytes: 1_000_000,
  source: { kind: 'disk' as const, dsu: 'dsu1', path: `c/b${i}.img` },
});
const stream = (name: string) => ({
  backupId: name,
  sizeBytes: 500_000,
  source: { kind: 'stream' as const },
});

let seq = 0;
function msg<T extends WriterToDuplicator['type']>(
  type: T,
  fields: Omit<MessageOf<T>, 'v' | 'type' | 'id'>,
): WriterToDuplicator {
  seq += 1;
  return { v: PROTOCOL_VERSION, type, id: `w${seq}`, ...fields } as unknown as WriterToDuplicator;
}

describe('live stream images', () => {
  it('answers the submit with one PULL endpoint per (stream image, copy) and hands it to the writer', () => {
    const x = setup();
    const out = x.take(x.coordinator.submit(submit([disk(0), stream('live1')], { copies: 2 })));
    const accepted = repliesOf(out).find((r) => r.type === 'accepted');
    expect(accepted?.type).toBe('accepted');
    if (accepted?.type !== 'accepted') return;
    const image = x.catalog.listImages({ kind: 'stream' })[0]!;
    expect(accepted.streams).toEqual([
      { backupId: 'live1', copy: 1, endpoint: `ipc://${STREAM_DIR}/i${image.id}c1.sock` },
      { backupId: 'live1', copy: 2, endpoint: `ipc://${STREAM_DIR}/i${image.id}c2.sock` },
    ]);
    connect(x, 'd0');
    connect(x, 'd1');
    const items = [...x.writer('d0').items(), ...x.writer('d1').items()];
    const live = items.filter((i) => i.backupId === 'live1');
    expect(live).toHaveLength(2);
    for (const item of live) {
      expect(item.source).toEqual({ kind: 'stream' });
      expect(item.decision).toBe('sync');
      expect(item.streamEndpoint).toBe(accepted.streams.find((s) => s.copy === item.copy)?.endpoint);
    }
    for (const item of items.filter((i) => i.backupId === 'b0')) expect(item.streamEndpoint).toBeUndefined();
  });

  it('refuses stream images when no endpoint directory is configured', () => {
    const x = setup({ streamDir: undefined });
    const [reply] = repliesOf(x.coordinator.submit(submit([stream('s')])));
    expect(reply).toMatchObject({
      type: 'rejected',
      code: 'UNSUPPORTED_SOURCE',
      field: 'images.0.source.kind',
    });
  });

  it('refuses at construction a stream directory too long for ipc paths, naming the setting', () => {
    expect(() => makeHarness({ streamDir: `/${'x'.repeat(100)}` })).toThrow(/"streamDir"/);
  });

  it('a stream cut mid-image fails that copy for good; the rest of its batch commits', () => {
    const x = setup();
    const requestId = (() => {
      const r = repliesOf(x.take(x.coordinator.submit(submit([disk(0), stream('live1'), disk(2)]))))[0];
      return r?.type === 'accepted' ? r.requestId : '';
    })();
    connect(x, 'd0');
    const w = x.writer('d0');
    const items = w.items();
    expect(items.map((i) => i.backupId)).toEqual(['b0', 'live1', 'b2']);
    const liveItem = items[1]!;
    const failed = x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('copy-failed', {
          copyId: liveItem.copyId,
          reason: 'SOURCE_STREAM_ABORTED',
          message: 'sender aborted',
          retryable: true,
        }),
      ),
    );
    expect(eventsOf(failed, 'image-failed')).toMatchObject([
      { backupId: 'live1', reason: 'SOURCE_STREAM_ABORTED', retryable: false, attempt: 1 },
    ]);
    expect(eventsOf(failed, 'image-retrying')).toEqual([]);
    for (const item of [items[0]!, items[2]!]) x.take(x.coordinator.writerMessage('d0', w.written(item)));
    const done = x.take(x.coordinator.writerMessage('d0', w.synced()));
    expect(eventsOf(done, 'image-committed').map((e) => e.backupId)).toEqual(['b0', 'b2']);
    expect(eventsOf(done, 'request-done')).toMatchObject([
      { requestId, outcome: 'partial', committed: 2, failed: 1 },
    ]);
    // Nothing was requeued: no further assign for the stream.
    expect(w.items()).toEqual([]);
  });
});

describe('spanning at early warning', () => {
  it('marks the medium full and continues the same copy ids on the next scratch medium, fragments on both', () => {
    const x = setup();
    repliesOf(x.take(x.coordinator.submit(submit([disk(0), disk(1), disk(2)]))));
    connect(x, 'd0');
    const w = x.writer('d0');
    const [a0] = x.writer('d0').drain('assign');
    expect(a0?.medium).toBe('A00001L9');
    const [i0, i1, i2] = a0!.items;
    // b0 complete in tape file 1; b1 started in tape file 2 when early warning came.
    x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('copy-written', {
          copyId: i0!.copyId,
          pendingSync: true,
          medium: 'A00001L9',
          fileNumber: 1,
          blockAddress: 2,
          bytes: 1_000_000,
          sha256: SHA,
        }),
      ),
    );
    const synced = x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('batch-synced', {
          batchId: 'span-1',
          committed: [
            { copyId: i0!.copyId, medium: 'A00001L9', fileNumber: 1, blockAddress: 2, sha256: SHA },
          ],
          position: { medium: 'A00001L9', fileNumber: 3, blockAddress: 12 },
        }),
      ),
    );
    expect(eventsOf(synced, 'image-committed').map((e) => e.backupId)).toEqual(['b0']);
    const full = x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('medium-full', {
          medium: 'A00001L9',
          inFlight: [i1!.copyId, i2!.copyId],
          position: { fileNumber: 3, blockAddress: 12 },
        }),
      ),
    );
    expect(eventsOf(full, 'image-failed')).toEqual([]);
    expect(full).toContainEqual({
      kind: 'medium-state',
      barcode: 'A00001L9',
      state: 'full',
      reason: 'early warning',
    });
    expect(x.catalog.getMedium('A00001L9').state).toBe('full');
    const [a1] = w.drain('assign');
    expect(a1?.medium).toBe('A00002L9');
    expect(a1?.resumeAt).toEqual({ fileNumber: 0, blockAddress: 0 });
    expect(a1?.items.map((i) => i.copyId)).toEqual([i1!.copyId, i2!.copyId]);
    expect(w.drain('mount')).toEqual([]);
    // b1 continues in tape file 1 of the new medium; b2 follows whole.
    const spanned = [
      { medium: 'A00001L9', fileNumber: 2, blockAddress: 6, offset: 0, length: 300_000 },
      { medium: 'A00002L9', fileNumber: 1, blockAddress: 2, offset: 300_000, length: 700_000 },
    ];
    for (const [item, at] of [
      [i1!, { medium: 'A00001L9', fileNumber: 2, blockAddress: 6 }],
      [i2!, { medium: 'A00002L9', fileNumber: 2, blockAddress: 8 }],
    ] as const) {
      x.take(
        x.coordinator.writerMessage(
          'd0',
          msg('copy-written', {
            copyId: item.copyId,
            pendingSync: true,
            ...at,
            bytes: 1_000_000,
            sha256: SHA,
          }),
        ),
      );
    }
    const committed = x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('batch-synced', {
          batchId: 'span-2',
          committed: [
            {
              copyId: i1!.copyId,
              medium: 'A00001L9',
              fileNumber: 2,
              blockAddress: 6,
              sha256: SHA,
              fragments: spanned,
            },
            { copyId: i2!.copyId, medium: 'A00002L9', fileNumber: 2, blockAddress: 8, sha256: SHA },
          ],
          position: { medium: 'A00002L9', fileNumber: 3, blockAddress: 14 },
        }),
      ),
    );
    expect(eventsOf(committed, 'image-committed').map((e) => e.backupId)).toEqual(['b1', 'b2']);
    const copy1 = x.catalog
      .listCopies({ state: 'committed' })
      .find((c) => c.id === Number(i1!.copyId.slice(1).split('.')[0]));
    expect(copy1).toBeDefined();
    expect(x.catalog.listFragments({ copyId: copy1!.id }).map((f) => [f.medium, f.offset, f.length])).toEqual(
      [
        ['A00001L9', 0, 300_000],
        ['A00002L9', 300_000, 700_000],
      ],
    );
    expect(x.catalog.status().byState.committed.copies).toBe(3);
  });

  it('a sync that commits no copy moves the medium committed end so a continuation can commit', () => {
    const x = setup();
    x.take(x.coordinator.submit(submit([disk(0)])));
    connect(x, 'd0');
    const [i0] = x.writer('d0').items();
    x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('batch-synced', {
          batchId: 'span-0',
          committed: [],
          position: { medium: 'A00001L9', fileNumber: 2, blockAddress: 9 },
        }),
      ),
    );
    expect(x.catalog.lastCommittedPosition('A00001L9')).toEqual({ fileNumber: 2, blockAddress: 9 });
    x.take(
      x.coordinator.writerMessage('d0', msg('medium-full', { medium: 'A00001L9', inFlight: [i0!.copyId] })),
    );
    const [a1] = x.writer('d0').drain('assign');
    expect(a1?.medium).toBe('A00002L9');
    x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('copy-written', {
          copyId: i0!.copyId,
          pendingSync: false,
          medium: 'A00001L9',
          fileNumber: 1,
          blockAddress: 2,
          bytes: 1_000_000,
          sha256: SHA,
        }),
      ),
    );
    const out = x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('batch-synced', {
          batchId: 'span-1',
          committed: [
            {
              copyId: i0!.copyId,
              medium: 'A00001L9',
              fileNumber: 1,
              blockAddress: 2,
              sha256: SHA,
              fragments: [
                { medium: 'A00001L9', fileNumber: 1, blockAddress: 2, offset: 0, length: 400_000 },
                { medium: 'A00002L9', fileNumber: 1, blockAddress: 2, offset: 400_000, length: 600_000 },
              ],
            },
          ],
          position: { medium: 'A00002L9', fileNumber: 2, blockAddress: 7 },
        }),
      ),
    );
    expect(eventsOf(out, 'image-committed')).toMatchObject([{ backupId: 'b0', medium: 'A00001L9' }]);
    expect(eventsOf(out, 'request-done')).toMatchObject([{ outcome: 'done', committed: 1 }]);
  });

  it('without a medium to continue on, the copies in flight fail and are requeued', () => {
    const x = setup({});
    x.take(x.coordinator.submit(submit([disk(0)])));
    connect(x, 'd0');
    const [i0] = x.writer('d0').items();
    for (const b of ['A00002L9', 'A00003L9', 'A00004L9']) x.catalog.setMediumState(b, 'frozen', 'test');
    const out = x.take(
      x.coordinator.writerMessage('d0', msg('medium-full', { medium: 'A00001L9', inFlight: [i0!.copyId] })),
    );
    expect(eventsOf(out, 'image-failed')).toMatchObject([
      { backupId: 'b0', reason: 'NO_MEDIUM', retryable: true },
    ]);
    expect(x.writer('d0').drain('assign')).toEqual([]);
  });
});

describe('reports about requeued attempts', () => {
  it('ignores batch-synced entries of an attempt already failed, keeping the new attempt in flight', () => {
    const x = setup();
    x.take(x.coordinator.submit(submit([disk(0)])));
    connect(x, 'd0');
    const w = x.writer('d0');
    const [first] = w.items();
    x.take(x.coordinator.writerMessage('d0', w.written(first!)));
    // The batch fails; the copy is requeued and assigned again as attempt 2.
    x.take(x.coordinator.writerMessage('d0', w.syncFailed()));
    const [retry] = w.items();
    expect(retry?.attempt).toBe(2);
    // A late sync report naming attempt 1 commits nothing and fails nothing.
    const late = x.take(
      x.coordinator.writerMessage(
        'd0',
        msg('batch-synced', {
          batchId: 'late',
          committed: [
            { copyId: first!.copyId, medium: 'A00001L9', fileNumber: 1, blockAddress: 2, sha256: SHA },
          ],
          position: { medium: 'A00001L9', fileNumber: 2, blockAddress: 6 },
        }),
      ),
    );
    expect(eventsOf(late, 'image-committed')).toEqual([]);
    expect(eventsOf(late, 'image-failed')).toEqual([]);
    x.take(x.coordinator.writerMessage('d0', w.written(retry!)));
    const ok = x.take(x.coordinator.writerMessage('d0', w.synced()));
    expect(eventsOf(ok, 'image-committed')).toMatchObject([{ backupId: 'b0' }]);
  });
});
