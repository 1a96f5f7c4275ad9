import { describe, expect, it } from 'vitest';
import { SettingsError } from '../policy/errors';
import { planAssignments } from './plan';
import { DEFAULT_PLANNER_SETTINGS, resolvePlannerSettings } from './settings';
import type { QueuedCopy, WriterInfo } from './types';

const MB = 1e6;
let seq = 0;
function copy(id: string, extra: Partial<QueuedCopy> = {}): QueuedCopy {
  seq += 1;
  return {
    copyId: id,
    imageId: extra.imageId ?? `img-${id}`,
    requestId: 'r1',
    copyNumber: 1,
    priority: 50,
    sizeBytes: 100 * MB,
    kind: 'disk',
    attempt: 1,
    submitSeq: seq,
    ...extra,
  };
}
function writer(driveId: string, extra: Partial<WriterInfo> = {}): WriterInfo {
  return {
    driveId,
    state: 'idle',
    mediumId: `M-${driveId}`,
    pool: 'p',
    queuedImages: 0,
    queuedBytes: 0,
    ...extra,
  };
}
const settings = DEFAULT_PLANNER_SETTINGS;

describe('planAssignments', () => {
  it('serves the highest priority first, then first in first out', () => {
    const queue = [
      copy('a', { priority: 10, submitSeq: 1 }),
      copy('b', { priority: 90, submitSeq: 3 }),
      copy('c', { priority: 90, submitSeq: 2 }),
      copy('d', { priority: 50, submitSeq: 0 }),
    ];
    const plan = planAssignments({ queue, writers: [writer('A')], settings });
    expect(plan.assignments.map((a) => a.copyId)).toEqual(['c', 'b', 'd', 'a']);
    expect(plan.assignments.map((a) => a.order)).toEqual([0, 1, 2, 3]);
  });

  it('balances queued bytes over all connected writers', () => {
    const queue = [
      copy('big', { sizeBytes: 900 * MB, submitSeq: 1 }),
      ...Array.from({ length: 9 }, (_, i) => copy(`s${i}`, { sizeBytes: 100 * MB, submitSeq: 2 + i })),
    ];
    const plan = planAssignments({
      queue,
      writers: [writer('A'), writer('B', { queuedBytes: 0, state: 'busy' })],
      settings,
    });
    const bytes = new Map<string, number>();
    for (const a of plan.assignments) {
      const c = queue.find((q) => q.copyId === a.copyId);
      bytes.set(a.driveId, (bytes.get(a.driveId) ?? 0) + (c?.sizeBytes ?? 0));
    }
    expect(bytes.get('A')).toBe(900 * MB);
    expect(bytes.get('B')).toBe(900 * MB);
    // The idle drive gets the first copy when loads tie.
    expect(plan.assignments[0]).toMatchObject({ copyId: 'big', driveId: 'A' });
  });

  it('accounts for work already queued on a writer', () => {
    const plan = planAssignments({
      queue: [copy('x')],
      writers: [
        writer('A', { queuedImages: 3, queuedBytes: 3000 * MB }),
        writer('B', { queuedImages: 1, queuedBytes: 50 * MB }),
      ],
      settings,
    });
    expect(plan.assignments[0]?.driveId).toBe('B');
  });

  it('puts the copies of one image on distinct drives as one sync group', () => {
    const queue = [1, 2, 3].map((n) => copy(`i1-c${n}`, { imageId: 'i1', copyNumber: n, submitSeq: 1 }));
    const plan = planAssignments({ queue, writers: [writer('A'), writer('B'), writer('C')], settings });
    expect(new Set(plan.assignments.map((a) => a.driveId)).size).toBe(3);
    for (const a of plan.assignments) expect(a.syncGroup).toEqual({ id: 'r1/i1', size: 3 });
  });

  it('holds a copy group until enough drives have room, instead of splitting it', () => {
    const queue = [1, 2].map((n) => copy(`i1-c${n}`, { imageId: 'i1', copyNumber: n, submitSeq: 1 }));
    const full = { windowImages: 2, windowBytes: 10_000 * MB };
    const plan = planAssignments({
      queue,
      writers: [writer('A'), writer('B', { queuedImages: 2, queuedBytes: MB })],
      settings: full,
    });
    expect(plan.assignments).toEqual([]);
    expect(plan.waiting).toEqual([
      { copyId: 'i1-c1', reason: 'awaiting-group' },
      { copyId: 'i1-c2', reason: 'awaiting-group' },
    ]);
  });

  it('with fewer drives than copies, writes one copy now and the next once the drive is free of the image', () => {
    const queue = [1, 2].map((n) => copy(`i1-c${n}`, { imageId: 'i1', copyNumber: n, submitSeq: 1 }));
    const first = planAssignments({ queue, writers: [writer('A')], settings });
    expect(first.assignments.map((a) => a.copyId)).toEqual(['i1-c1']);
    expect(first.assignments[0]?.syncGroup).toBeUndefined();
    expect(first.waiting).toEqual([{ copyId: 'i1-c2', reason: 'sibling-on-every-drive' }]);
    const blocked = planAssignments({
      queue: queue.slice(1),
      writers: [writer('A', { imagesInFlight: ['i1'] })],
      settings,
    });
    expect(blocked.waiting).toEqual([{ copyId: 'i1-c2', reason: 'sibling-on-every-drive' }]);
    // Copy 1 committed on M-A: copy 2 must not share the cartridge, so the drive mounts another.
    const later = planAssignments({
      queue: [{ ...(queue[1] as QueuedCopy), excludedMedia: ['M-A'] }],
      writers: [writer('A')],
      settings,
    });
    expect(later.assignments[0]).toMatchObject({ driveId: 'A', mediumChange: true, excludedMedia: ['M-A'] });
  });

  it('sends a retry away from the medium it failed on and, when possible, to another drive', () => {
    const retry = copy('r', { attempt: 2, excludedMedia: ['M-A'], failedOnDrives: ['A'] });
    const plan = planAssignments({
      queue: [retry],
      writers: [writer('A'), writer('B', { queuedBytes: 5000 * MB, queuedImages: 5 })],
      settings,
    });
    expect(plan.assignments[0]).toMatchObject({ driveId: 'B', mediumChange: false });
    // Only the failing drive is connected: it may take the retry but must change the medium.
    const alone = planAssignments({ queue: [retry], writers: [writer('A')], settings });
    expect(alone.assignments[0]).toMatchObject({ driveId: 'A', mediumChange: true });
  });

  it('never targets a frozen medium and prefers a drive whose medium is usable', () => {
    const plan = planAssignments({
      queue: [copy('x'), copy('y')],
      writers: [writer('A'), writer('B', { queuedBytes: 2000 * MB, queuedImages: 2 })],
      frozenMedia: ['M-A'],
      settings,
    });
    expect(plan.assignments.map((a) => [a.copyId, a.driveId, a.mediumChange])).toEqual([
      ['x', 'B', false],
      ['y', 'B', false],
    ]);
    expect(plan.assignments[0]?.excludedMedia).toEqual(['M-A']);
  });

  it('asks for a mount when the loaded medium is of another pool or none is loaded', () => {
    const plan = planAssignments({
      queue: [copy('x', { pool: 'vault' })],
      writers: [writer('A', { pool: 'p' })],
      settings,
    });
    expect(plan.assignments[0]?.mediumChange).toBe(true);
    const bare = planAssignments({
      queue: [copy('y')],
      writers: [writer('B', { mediumId: undefined })],
      settings,
    });
    expect(bare.assignments[0]?.mediumChange).toBe(true);
  });

  it('prefers a drive with no open batch for a retry or a stream', () => {
    const plan = planAssignments({
      queue: [copy('s', { kind: 'stream' })],
      writers: [
        writer('A', { openBatch: { images: 4, bytes: 400 * MB } }),
        writer('B', { queuedImages: 1, queuedBytes: 100 * MB }),
      ],
      settings,
    });
    expect(plan.assignments[0]?.driveId).toBe('B');
  });

  it('never hands a writer more than its look-ahead window', () => {
    const queue = Array.from({ length: 50 }, (_, i) => copy(`c${i}`, { sizeBytes: 300 * MB, submitSeq: i }));
    const window = { windowImages: 4, windowBytes: 1000 * MB };
    const plan = planAssignments({
      queue,
      writers: [writer('A'), writer('B', { queuedImages: 1, queuedBytes: 300 * MB })],
      settings: window,
    });
    const perDrive = (d: string) => plan.assignments.filter((a) => a.driveId === d).length;
    expect(perDrive('A')).toBe(3); // 3 × 300 MB ≤ 1000 MB; a 4th would exceed the bytes window
    expect(perDrive('B')).toBe(2); // 300 MB already queued + 2 × 300 MB
    expect(plan.waiting).toHaveLength(45);
    expect(plan.waiting.every((w) => w.reason === 'window-full')).toBe(true);
    // A copy larger than the whole window still goes to an empty writer, or it could never be written.
    const huge = planAssignments({
      queue: [copy('h', { sizeBytes: 5000 * MB })],
      writers: [writer('A')],
      settings: window,
    });
    expect(huge.assignments).toHaveLength(1);
  });

  it('is deterministic and independent of input order', () => {
    const queue = Array.from({ length: 30 }, (_, i) =>
      copy(`c${i}`, { priority: (i * 37) % 100, sizeBytes: ((i * 13) % 7) * 100 * MB + MB, submitSeq: i }),
    );
    const writers = [writer('A'), writer('B'), writer('C', { state: 'busy' })];
    const a = planAssignments({ queue, writers, settings });
    const b = planAssignments({ queue: [...queue].reverse(), writers: [...writers].reverse(), settings });
    expect(b).toEqual(a);
  });

  it('reports no-writer when nothing is connected', () => {
    expect(planAssignments({ queue: [copy('x')], writers: [], settings }).waiting).toEqual([
      { copyId: 'x', reason: 'no-writer' },
    ]);
  });
});

describe('planner settings', () => {
  it('fills defaults and rejects bad values naming the setting', () => {
    expect(resolvePlannerSettings('config', { windowImages: 8 })).toEqual({
      ...DEFAULT_PLANNER_SETTINGS,
      windowImages: 8,
    });
    expect(() => resolvePlannerSettings('config', { windowImages: 0 })).toThrow(/windowImages/);
    try {
      resolvePlannerSettings('pool "p"', { windowBytez: 1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SettingsError);
      expect(e).toMatchObject({ code: 'UNKNOWN_SETTING', setting: 'windowBytez', source: 'pool "p"' });
    }
  });
});
