/**
 * The duplicator as a real process with real sockets and a real catalog: a test scheduler submits
 * over its ROUTER and follows the events on its PUB; the writers are the loopback writer (the
 * writer protocol over a real DEALER, no tape) spawned and supervised by the duplicator; bad frames
 * are thrown at both sockets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import type { DuplicatorEvent } from '@tapedup/protocol';
import { decode, encode } from '@tapedup/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type Installation,
  logLines,
  makeInstallation,
  patchFrame,
  type RunningDuplicator,
  startDuplicator,
  TestScheduler,
  writerDealer,
} from '../packages/duplicator/src/testing/process-harness';

const IMAGES = 60;
/** Each loopback copy takes this long, so a test can act mid-batch. */
const ENV = { TAPEDUP_LOOPBACK_ITEM_DELAY_MS: '10' };
const files: Record<string, Buffer> = {};
for (let i = 0; i < IMAGES; i++) files[`img/b${i}.img`] = randomBytes(1000 + i * 37);

let inst: Installation;
let dup: RunningDuplicator;
let sched: TestScheduler;

beforeAll(async () => {
  ensureBuilt();
  inst = await makeInstallation(files);
  dup = startDuplicator(inst.configFile, ENV);
  sched = new TestScheduler(inst);
  await Promise.race([
    sched.ready,
    dup.exited.then((e) => {
      throw new Error(`duplicator exited (${e.code}/${e.signal}): ${dup.stderr().slice(-2000)}`);
    }),
  ]);
}, 120_000);

afterAll(async () => {
  sched?.close();
  if (dup && dup.child.exitCode === null) {
    dup.child.kill('SIGTERM');
    await dup.exited;
  }
  if (inst) await rm(inst.dir, { recursive: true, force: true });
});

function submitMessage(id: string, names: string[], extra: Record<string, unknown> = {}) {
  return {
    v: 1 as const,
    type: 'submit' as const,
    id,
    images: names.map((n) => ({
      backupId: n.replace(/[^A-Za-z0-9]/g, '_'),
      sizeBytes: files[n]!.length,
      source: { kind: 'disk' as const, dsu: 'dsu1', path: n },
    })),
    copies: 1,
    pool: 'default',
    priority: 50,
    ...extra,
  };
}

function done(requestId: string) {
  return (events: DuplicatorEvent[]) =>
    events.find((e) => e.type === 'request-done' && e.requestId === requestId);
}

describe('duplicator process', () => {
  it('accepts a request, commits every image exactly once with its real digest, and reports request-done', async () => {
    const names = Object.keys(files);
    const reply = await sched.request(submitMessage(sched.nextId(), names, { copies: 2 }));
    expect(reply.type).toBe('accepted');
    if (reply.type !== 'accepted') return;
    const finished = await sched.waitEvents(done(reply.requestId));
    expect(finished).toMatchObject({ outcome: 'done', images: IMAGES, committed: IMAGES * 2, failed: 0 });
    const committed = sched.events.filter(
      (e): e is Extract<DuplicatorEvent, { type: 'image-committed' }> =>
        e.type === 'image-committed' && e.requestId === reply.requestId,
    );
    const keys = committed.map((e) => `${e.backupId}/${e.copy}`);
    expect(new Set(keys).size).toBe(IMAGES * 2);
    expect(keys).toHaveLength(IMAGES * 2);
    for (const e of committed) {
      const name = names.find((n) => n.replace(/[^A-Za-z0-9]/g, '_') === e.backupId)!;
      expect(e.sha256).toBe(createHash('sha256').update(files[name]!).digest('hex'));
    }
    // Two copies of one image never share a drive or a medium.
    const byImage = new Map<string, typeof committed>();
    for (const e of committed) byImage.set(e.backupId, [...(byImage.get(e.backupId) ?? []), e]);
    for (const pair of byImage.values()) {
      expect(pair[0]!.driveId).not.toBe(pair[1]!.driveId);
      expect(pair[0]!.medium).not.toBe(pair[1]!.medium);
    }
    // Every commit came after the copy was written.
    for (const e of committed) {
      const w = sched.events.findIndex(
        (x) => x.type === 'image-written' && x.backupId === e.backupId && x.copy === e.copy,
      );
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThan(sched.events.indexOf(e));
    }
    const status = await sched.request({
      v: 1,
      type: 'status',
      id: sched.nextId(),
      requestId: reply.requestId,
    });
    expect(status).toMatchObject({
      type: 'status-reply',
      requests: [{ state: 'done', copies: { committed: IMAGES * 2, queued: 0, writing: 0 } }],
    });
    // The fixed policy's decisions are in the log with their reasons.
    const decisions = logLines(dup.stderr()).filter((l) => String(l.msg).startsWith('sync decision'));
    expect(decisions.length).toBeGreaterThanOrEqual(IMAGES * 2);
    expect(decisions.some((d) => d.decision === 'defer' && d.reason === 'batch-open')).toBe(true);
  }, 60_000);

  it('rejects bad submits with the field at fault', async () => {
    const unknownPool = await sched.request(submitMessage(sched.nextId(), ['img/b0.img'], { pool: 'nope' }));
    expect(unknownPool).toMatchObject({ type: 'rejected', code: 'UNKNOWN_POOL', field: 'pool' });
    const missing = await sched.request({
      ...submitMessage(sched.nextId(), ['img/b0.img']),
      images: [{ backupId: 'm', sizeBytes: 5, source: { kind: 'disk', dsu: 'dsu1', path: 'img/none.img' } }],
    });
    expect(missing).toMatchObject({
      type: 'rejected',
      code: 'SOURCE_NOT_FOUND',
      field: 'images.0.source.path',
    });
    const tooMany = await sched.request(submitMessage(sched.nextId(), ['img/b0.img'], { copies: 3 }));
    expect(tooMany).toMatchObject({ type: 'rejected', code: 'TOO_MANY_COPIES', field: 'copies' });
  });

  it('answers malformed, unknown and oversized frames on the scheduler socket with typed errors and stays up', async () => {
    const raw = encode({ v: 1, type: 'status', id: 'raw1', requestId: 'req1' });
    const cases: [Uint8Array, string, string | undefined][] = [
      [Buffer.from([0xc1, 0x00]), 'NOT_MSGPACK', undefined],
      [Buffer.from([0x93, 0x01, 0x02, 0x03]), 'NOT_A_MESSAGE', undefined],
      [patchFrame(raw, '\xa1v\x01', '\xa1v\x02'), 'BAD_VERSION', 'v'],
      [patchFrame(raw, 'status', 'statux'), 'UNKNOWN_TYPE', 'type'],
      [patchFrame(raw, 'req1', 're!1'), 'INVALID_FIELD', 'requestId'],
      [Buffer.alloc(2 * 1024 * 1024, 0x90), 'FRAME_TOO_LARGE', undefined],
    ];
    for (const [frame, code, field] of cases) {
      await sched.sendRaw(frame);
      const reply = await sched.reply((r) => r.type === 'error' && r.code === code);
      if (field !== undefined) expect(reply).toMatchObject({ field });
    }
    // Still serving.
    const status = await sched.request({ v: 1, type: 'status', id: sched.nextId() });
    expect(status.type).toBe('status-reply');
    expect(dup.child.exitCode).toBeNull();
  });

  it('restarts a writer killed with SIGKILL mid-batch; nothing unsynced is committed; all images end committed', async () => {
    const names = Object.keys(files).slice(0, 40);
    const reply = await sched.request(submitMessage(sched.nextId(), names));
    if (reply.type !== 'accepted') throw new Error(JSON.stringify(reply));
    // Kill the first writer that has written a copy of this request.
    const firstWritten = await sched.waitEvents((ev) =>
      ev.find((e) => e.type === 'image-written' && e.requestId === reply.requestId),
    );
    const hello = logLines(dup.stderr()).filter(
      (l) => l.msg === 'writer connected' && l.driveId === (firstWritten as { driveId: string }).driveId,
    );
    const pid = Number(hello.at(-1)?.pid);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const finished = await sched.waitEvents(done(reply.requestId));
    expect(finished).toMatchObject({ outcome: 'done', committed: 40 });
    const mine = sched.events.filter((e) => 'requestId' in e && e.requestId === reply.requestId);
    const committed = mine.filter((e) => e.type === 'image-committed');
    expect(new Set(committed.map((e) => (e as { backupId: string }).backupId)).size).toBe(40);
    expect(committed).toHaveLength(40);
    const logs = logLines(dup.stderr());
    expect(logs.some((l) => l.msg === 'writer lost' || String(l.msg).includes('writer exited'))).toBe(true);
    // The killed drive's writer comes back (after its backoff) under a new pid.
    const killedDrive = (firstWritten as { driveId: string }).driveId;
    const back = await dup.waitForLog(
      (l) => l.msg === 'writer connected' && l.driveId === killedDrive && Number(l.pid) !== pid,
    );
    expect(Number(back.pid)).toBeGreaterThan(0);
  }, 60_000);
  it('a duplicator killed mid-request and restarted completes the request', async () => {
    const names = Object.keys(files).slice(0, 30);
    const reply = await sched.request(submitMessage(sched.nextId(), names));
    if (reply.type !== 'accepted') throw new Error(JSON.stringify(reply));
    await sched.waitEvents((ev) =>
      ev.find((e) => e.type === 'image-written' && e.requestId === reply.requestId),
    );
    dup.child.kill('SIGKILL');
    await dup.exited;
    sched.close();
    dup = startDuplicator(inst.configFile, ENV);
    sched = new TestScheduler(inst);
    await sched.ready;
    const finished = await sched.waitEvents(done(reply.requestId));
    expect(finished).toMatchObject({ outcome: 'done', committed: 30, failed: 0 });
    const logs = logLines(dup.stderr());
    expect(logs.some((l) => l.msg === 'recovered in-flight work from the catalog')).toBe(true);
  }, 60_000);

  it('refuses frames on the writer socket from unknown identities and malformed ones with typed errors', async () => {
    const config = JSON.parse(await readFile(inst.configFile, 'utf8'));
    const writers = config.endpoints.writers as string;
    const stranger = writerDealer('intruder', writers);
    await stranger.send(encode({ v: 1, type: 'error', id: 'x1', code: 'X', message: 'hi' }));
    const [answer] = await stranger.receive();
    expect(decodeError(answer!)).toMatchObject({ code: 'UNKNOWN_WRITER' });
    stranger.close();
    // A configured drive id sending a type writers may not send gets a typed refusal. (It takes
    // over d1's route, so this runs last.)
    const probe = writerDealer('d1', writers);
    await probe.send(encode({ v: 1, type: 'sync-now', id: 'w1', batchId: 'b1' }));
    const [refused] = await probe.receive();
    expect(decodeError(refused!)).toMatchObject({ code: 'UNKNOWN_TYPE', field: 'type' });
    probe.close();
    expect(dup.child.exitCode).toBeNull();
  });
});

function decodeError(frame: Buffer) {
  return decode(frame, { accept: ['error'] });
}
