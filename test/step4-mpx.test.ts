/**
 * Step 4, MPX end to end: the built duplicator with a real tape writer (MPX factor 4) on a virtual
 * drive; 50 images arrive in 5 bursts of 10, mixed `disk` and live `stream` (pushed by this test to
 * the endpoints the `accepted` reply names). One stream of the third burst stops mid-image: that
 * image alone fails (never requeued), the others of its group commit. Checked afterwards on the
 * cartridge with the tape-format reader: every committed image restores byte-identical, no fragment
 * is empty, the writer wrote an empty header each time it went idle and overwrote it exactly when
 * the next burst came (never while a next image was pending), and every fragment end, one by one,
 * carries the reason, the filemark and the sync decision the writer rules call for: the reason on
 * tape, the filemark in the drive's command log, the decisions in the writer's log against the ones
 * the duplicator assigned, and the filemark against the table written out in this file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MessageOf } from '@tapedup/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type Installation,
  logLines,
  makeInstallation,
  type RunningDuplicator,
  startDuplicator,
  TAPE_WRITER,
  TestScheduler,
} from '../packages/duplicator/src/testing/process-harness';
import { StreamSender } from '../packages/tape-writer/src/testing/stream-sender';
import {
  analyse,
  driveCommands,
  eventsOf,
  openMedia,
  readLog,
  requestDone,
  restoreCopy,
  stopDuplicator,
  waitForLog,
} from './helpers/step4';

const BURSTS = 5;
const PER_BURST = 10;
const STREAMS_PER_BURST = 3;
const CUT = 'b2-s1';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type Decision = 'defer' | 'sync';

/**
 * The writer rules (DESIGN.md), written out here: the filemark a fragment end must have for its
 * reason, given the sync decisions of the images that completed in it and whether a sync-now cut it.
 */
function wantedFilemark(
  reason: string,
  completed: Decision[],
  syncNow: boolean,
): 'immediate' | 'synchronous' {
  switch (reason) {
    case 'data-complete-metadata-follows':
    case 'max-fragment-size':
    case 'next-image-start':
    case 'image-failure':
      return 'immediate';
    case 'image-complete':
    case 'checkpoint':
      // Synchronous unless the batch policy defers it; a sync-now is an explicit sync.
      return syncNow || completed.includes('sync') ? 'synchronous' : 'immediate';
    default:
      return 'synchronous';
  }
}

interface FragmentEnded {
  fileNumber: number;
  reason: string;
  filemark: 'immediate' | 'synchronous';
  decision?: Decision;
  completed: { copyId: string; backupId: string; decision: Decision }[];
  /** The sync-now whose checkpoint this is. */
  syncNow?: string;
}

interface Img {
  backupId: string;
  kind: 'disk' | 'stream';
  data: Buffer;
}

const bursts: Img[][] = [];
const files: Record<string, Buffer> = {};
for (let b = 0; b < BURSTS; b++) {
  const list: Img[] = [];
  for (let i = 0; i < PER_BURST; i++) {
    const kind = i < STREAMS_PER_BURST ? 'stream' : 'disk';
    const backupId = `b${b}-${kind === 'stream' ? 's' : 'd'}${i}`;
    const data = randomBytes(40_000 + ((b * 131 + i * 7919) % 160_000));
    list.push({ backupId, kind, data });
    if (kind === 'disk') files[`mpx/${backupId}.img`] = data;
  }
  bursts.push(list);
}

let inst: Installation | undefined;
let dup: RunningDuplicator | undefined;
let sched: TestScheduler | undefined;
const senders: StreamSender[] = [];

afterAll(async () => {
  for (const s of senders) s.close();
  sched?.close();
  if (dup) await stopDuplicator(dup);
  if (inst) await rm(inst.dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(TAPE_WRITER))('MPX duplication of bursts of disk and stream images', () => {
  it('restores all 49 good images byte-identical, fails only the cut stream, EH written at idle and overwritten on resume', async () => {
    ensureBuilt();
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp('/tmp/s4m-'));
    const writerLog = join(dir, 'd0.log');
    inst = await makeInstallation(files, {
      writerMain: TAPE_WRITER,
      clockScale: 200,
      drives: [
        {
          id: 'd0',
          spec: `virtual:${join(dir, 'lib')}#drive0`,
          // A table of 4 images: a fifth image waiting to join splits the fragment (next image starts).
          writer: {
            mpx: 4,
            minFragmentMs: 0,
            maxFragmentImages: 4,
            streamIdleMs: 1500,
            logFile: writerLog,
            logLevel: 'debug',
          },
        },
      ],
      library: { pools: { default: { cartridges: 2, capacityBytes: 2_000_000_000 } } },
      policy: { policy: 'fixed', fixedBatchImages: 8 },
      heartbeat: { intervalMs: 500, timeoutMs: 10_000 },
    });
    dup = startDuplicator(inst.configFile);
    sched = new TestScheduler(inst);
    const d = dup;
    const s = sched;
    await Promise.race([
      s.ready,
      d.exited.then((e) => {
        throw new Error(`duplicator exited (${e.code}/${e.signal}): ${d.stderr().slice(-3000)}`);
      }),
    ]);

    const done: MessageOf<'request-done'>[] = [];
    for (const [b, list] of bursts.entries()) {
      const reply = await s.request({
        v: 1,
        type: 'submit',
        id: `burst${b}`,
        images: list.map((img) => ({
          backupId: img.backupId,
          sizeBytes: img.data.length,
          source:
            img.kind === 'disk'
              ? { kind: 'disk' as const, dsu: 'dsu1', path: `mpx/${img.backupId}.img` }
              : { kind: 'stream' as const },
        })),
        copies: 1,
        pool: 'default',
        priority: 50,
      });
      expect(reply.type, JSON.stringify(reply)).toBe('accepted');
      if (reply.type !== 'accepted') return;
      const streams = list.filter((i) => i.kind === 'stream');
      expect(reply.streams.map((x) => x.backupId).sort()).toEqual(streams.map((i) => i.backupId).sort());
      for (const ep of reply.streams) {
        const img = streams.find((i) => i.backupId === ep.backupId)!;
        expect(ep.endpoint).toMatch(/^ipc:\/\//);
        expect(ep.serverKey).toBeUndefined();
        senders.push(
          new StreamSender(ep.endpoint, { backupId: ep.backupId, copy: ep.copy }, img.data, {
            chunkBytes: 32_768,
            ...(img.backupId === CUT ? { cutAfter: Math.floor(img.data.length / 2) } : {}),
          }),
        );
      }
      done.push(await requestDone(s, d, reply.requestId));
      // The writer went idle: it writes the empty header before the next burst is submitted.
      await waitForLog(writerLog, (lines) =>
        lines.filter((l) => l.msg === 'empty header written').length >= b + 1 ? true : undefined,
      );
    }

    const failed = eventsOf(s, 'image-failed');
    expect(failed, JSON.stringify(failed)).toHaveLength(1);
    expect(failed[0]).toMatchObject({ backupId: CUT, retryable: false, reason: 'SOURCE_STREAM_CUT' });
    // Every burst committed whole except the one holding the cut stream.
    for (const [b, r] of done.entries()) {
      if (b === 2) expect(r).toMatchObject({ outcome: 'partial', committed: PER_BURST - 1, failed: 1 });
      else expect(r).toMatchObject({ outcome: 'done', committed: PER_BURST, failed: 0 });
    }
    expect(eventsOf(s, 'image-retrying')).toEqual([]);
    const committed = eventsOf(s, 'image-committed');
    expect(committed).toHaveLength(BURSTS * PER_BURST - 1);

    await stopDuplicator(d);
    const lines = await readLog(writerLog);

    // Empty headers: one per idle period; overwritten exactly when the next burst resumed the work.
    const written = lines.filter((l) => l.msg === 'empty header written');
    const overwritten = lines.filter((l) => l.msg === 'overwriting the empty header');
    expect(written).toHaveLength(BURSTS);
    expect(overwritten).toHaveLength(BURSTS - 1);
    const last = lines
      .filter((l) => l.msg === 'empty header written' || l.msg === 'overwriting the empty header')
      .at(-1)?.emptyHeaders as { written: number; overwritten: number; avoided: number } | undefined;
    expect(last?.written).toBe(BURSTS);
    expect(last?.overwritten).toBe(BURSTS - 1);

    // The sync decision the duplicator assigned to each image (its log), to check the writer's against.
    const assigned = new Map<string, Decision>();
    for (const l of logLines(d.stderr())) {
      if (typeof l.msg === 'string' && l.msg.startsWith('sync decision:')) {
        assigned.set(l.backupId as string, l.decision as Decision);
      }
    }
    expect(assigned.size).toBe(BURSTS * PER_BURST);
    const ended = lines.filter((l) => l.msg === 'fragment ended') as unknown as FragmentEnded[];
    expect(ended.length).toBeGreaterThan(0);
    expect(ended.filter((e) => e.reason === 'image-failure')).toHaveLength(1);
    // One good count-1 filemark per fragment end, after the label's synchronous one at the first mount.
    const marks = driveCommands(lines).filter(
      (c) => c.op === 'writeFilemarks' && c.args.count === 1 && c.error === undefined,
    );
    expect(marks[0]?.args.immediate).toBe(false);
    expect(marks.slice(1)).toHaveLength(ended.length);
    const barcodes = [...new Set(committed.map((c) => c.medium))];
    expect(barcodes).toHaveLength(1);
    const media = await openMedia(join(dir, 'lib'), barcodes);
    try {
      const analysis = await analyse(media);
      const listing = analysis.media[0]!;
      const fragments = listing.files.flatMap((f) => (f.kind === 'fragment' ? [f] : []));
      // No empty fragment: each holds data or the end of an image.
      for (const f of fragments) {
        expect(
          f.images.some((i) => i.dataBlocks > 0 || i.trailer !== undefined),
          `empty fragment: ${JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
        ).toBe(true);
      }
      // Multiplexing happened: fragments hold data of several images. (Whether a stream shares one with a
      // disk image depends on when its data arrives; the tape writer's own process test pins that down.)
      expect(fragments.some((f) => f.images.filter((i) => i.dataBlocks > 0).length >= 2)).toBe(true);
      // The overwritten empty headers are gone; the last one marks the end of data.
      expect(listing.files.filter((f) => f.kind === 'empty-header')).toHaveLength(1);
      expect(listing.endsWithEmptyHeader).toBe(true);
      const verdicts = new Map(analysis.images.map((i) => [i.backupId, i.verdict]));
      expect(verdicts.get(CUT)).toBe('aborted');

      // Fragment by fragment: tape, drive command log, writer log and the duplicator's decisions agree,
      // and the filemark is the one the table gives.
      expect(fragments.map((f) => f.tapeFile)).toEqual(ended.map((e) => e.fileNumber));
      const reasons: Record<string, number> = {};
      fragments.forEach((f, k) => {
        const e = ended[k]!;
        const reason = f.end?.reason ?? 'unspecified';
        reasons[reason] = (reasons[reason] ?? 0) + 1;
        const mark = marks[k + 1]!.args.immediate === true ? 'immediate' : 'synchronous';
        const onTape = f.images.filter((i) => i.trailer?.status === 'complete').map((i) => i.entry.backupId);
        const decisions = onTape.map((b) => assigned.get(b)!);
        const where = `fragment ${k} (tape file ${f.tapeFile}, ${reason})`;
        expect(e.reason, where).toBe(reason);
        expect(e.filemark, where).toBe(mark);
        expect(e.completed.map((c) => [c.backupId, c.decision]).sort(), where).toEqual(
          onTape.map((b) => [b, assigned.get(b)]).sort(),
        );
        if (reason === 'image-complete') {
          expect(e.decision, where).toBe(decisions.includes('sync') ? 'sync' : 'defer');
        }
        expect(mark, where).toBe(wantedFilemark(reason, decisions, e.syncNow !== undefined));
      });
      console.info(`fragment ends by reason: ${JSON.stringify(reasons)}`);
      for (const reason of ['image-complete', 'next-image-start', 'image-failure']) {
        expect(reasons[reason] ?? 0, reason).toBeGreaterThan(0);
      }

      const all = new Map(bursts.flat().map((i) => [i.backupId, i.data]));
      for (const c of committed) {
        const r = await restoreCopy(media, barcodes, c);
        expect(r.sha256).toBe(c.sha256);
        expect(sha(r.bytes), c.backupId).toBe(sha(all.get(c.backupId)!));
      }
    } finally {
      await media.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
