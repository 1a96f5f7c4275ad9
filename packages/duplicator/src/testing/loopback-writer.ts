/**
 * A loopback tape writer for testing the duplicator process without a tape stack: it speaks the
 * writer protocol over a real DEALER (hello, heartbeats, mount, assign, sync-now, shutdown), reads
 * and digests each disk image from its DSU, and keeps tape positions as a writer would (one tape
 * file per copy, one block per 256 KiB plus header and trailer). It writes nothing anywhere.
 *
 * Same command line as the real writer, plus `--item-delay-ms N` (time per copy, so a test can
 * act mid-batch). Exits when its parent (the duplicator) goes away.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  DUPLICATOR_TO_WRITER_TYPES,
  type DuplicatorToWriter,
  decode,
  encode,
  isProtocolError,
  type MessageOf,
  PROTOCOL_VERSION,
  type WriterToDuplicator,
} from '@tapedup/protocol';
import * as zmq from 'zeromq';
import { resolveUnderRoot } from '../coordinator/submit-check';

type Item = MessageOf<'assign'>['items'][number];

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

const driveId = arg('--drive-id') ?? 'd0';
const endpoint = arg('--connect');
const heartbeatMs = Number(arg('--heartbeat-ms') ?? '1000');
const itemDelayMs = Number(arg('--item-delay-ms') ?? process.env.TAPEDUP_LOOPBACK_ITEM_DELAY_MS ?? '0');
const dsu = new Map<string, string>();
process.argv.forEach((a, i) => {
  if (a !== '--dsu') return;
  const v = process.argv[i + 1] ?? '';
  const eq = v.indexOf('=');
  if (eq > 0) dsu.set(v.slice(0, eq), v.slice(eq + 1));
});
if (endpoint === undefined) {
  process.stderr.write('loopback-writer: --connect is required\n');
  process.exit(2);
}

const dealer = new zmq.Dealer({ linger: 0, routingId: driveId });
dealer.connect(endpoint);
let seq = 0;
let sending: Promise<void> = Promise.resolve();
function send(m: WriterToDuplicator): void {
  const frame = encode(m);
  sending = sending.then(() => dealer.send(frame)).catch(() => undefined);
}
const id = () => `${driveId}-${process.pid}-${++seq}`;

let medium: string | undefined;
let fileNumber = 1;
let blockAddress = 1;
let batch: MessageOf<'batch-synced'>['committed'] = [];
const stats = { bytesWritten: 0, imagesWritten: 0, immediateFilemarks: 0, syncs: 0, syncFailures: 0 };
const queue: { item: Item; medium: string }[] = [];
let busy = false;

function position() {
  return { medium: medium ?? 'NONE', fileNumber, blockAddress };
}

function synced(re?: string, batchId = `${driveId}.w${++seq}`): void {
  stats.syncs += 1;
  send({
    v: PROTOCOL_VERSION,
    type: 'batch-synced',
    id: id(),
    ...(re === undefined ? {} : { re }),
    batchId,
    committed: batch,
    position: position(),
  });
  batch = [];
}

async function writeOne(item: Item, on: string): Promise<void> {
  if (itemDelayMs > 0) await new Promise((r) => setTimeout(r, itemDelayMs));
  if (item.source.kind !== 'disk') {
    send({
      v: 1,
      type: 'copy-failed',
      id: id(),
      copyId: item.copyId,
      reason: 'UNSUPPORTED',
      message: 'no streams here',
      retryable: false,
    });
    return;
  }
  const root = dsu.get(item.source.dsu);
  const path = root === undefined ? undefined : resolveUnderRoot(root, item.source.path);
  let data: Buffer;
  try {
    if (path === undefined) throw new Error('outside the DSU');
    data = await readFile(path);
  } catch (error) {
    send({
      v: 1,
      type: 'copy-failed',
      id: id(),
      copyId: item.copyId,
      reason: 'SOURCE_READ',
      message: (error as Error).message.slice(0, 1000),
      retryable: true,
    });
    return;
  }
  const sha256 = createHash('sha256').update(data).digest('hex');
  const at = { fileNumber, blockAddress };
  blockAddress += Math.ceil(data.length / 262_144) + 2 + 1;
  fileNumber += 1;
  stats.bytesWritten += data.length;
  stats.imagesWritten += 1;
  batch.push({ copyId: item.copyId, medium: on, ...at, sha256 });
  send({
    v: PROTOCOL_VERSION,
    type: 'copy-written',
    id: id(),
    copyId: item.copyId,
    pendingSync: item.decision === 'defer',
    medium: on,
    ...at,
    bytes: data.length,
    sha256,
  });
  if (item.decision === 'defer') stats.immediateFilemarks += 1;
  else synced();
}

const pendingSyncs: { re: string; batchId: string }[] = [];

async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        await writeOne(next.item, next.medium);
        continue;
      }
      const s = pendingSyncs.shift();
      if (s === undefined) break;
      synced(s.re, s.batchId);
    }
  } finally {
    busy = false;
  }
}

function handle(m: DuplicatorToWriter): void {
  switch (m.type) {
    case 'mount':
      medium = m.barcode;
      fileNumber = 1;
      blockAddress = 1;
      batch = [];
      send({
        v: 1,
        type: 'mounted',
        id: id(),
        re: m.id,
        medium: m.barcode,
        position: { fileNumber: 0, blockAddress: 0 },
        appendOnly: false,
      });
      return;
    case 'assign':
      if (m.resumeAt !== undefined) {
        // Everything after the committed end is overwritten: the unproven batch is gone.
        fileNumber = Math.max(1, m.resumeAt.fileNumber);
        blockAddress = Math.max(1, m.resumeAt.blockAddress);
        batch = [];
        queue.length = 0;
      }
      medium = m.medium;
      for (const item of m.items) queue.push({ item, medium: m.medium });
      void pump();
      return;
    case 'sync-now':
      pendingSyncs.push({ re: m.id, batchId: m.batchId });
      void pump();
      return;
    case 'shutdown':
      send({ v: 1, type: 'shutdown-ack', id: id(), re: m.id, uncommitted: batch.map((c) => c.copyId) });
      void sending.then(() => {
        dealer.close();
        process.exit(0);
      });
      return;
    case 'error':
      process.stderr.write(
        `loopback-writer ${driveId}: duplicator refused ${m.re ?? '?'}: ${m.code} ${m.message}\n`,
      );
      return;
  }
}

send({
  v: PROTOCOL_VERSION,
  type: 'hello',
  id: id(),
  driveId,
  pid: process.pid,
  drive: {
    name: arg('--drive') ?? 'loopback',
    transport: 'virtual',
    vendor: 'TAPEDUP',
    product: 'LOOPBACK',
    revision: '1',
    serial: driveId,
  },
  capabilities: {
    immediateFilemarks: true,
    readPosition: true,
    bufferedCounts: true,
    locate: true,
    spaceToEndOfData: true,
    appendOnly: false,
    allowOverwrite: true,
    earlyWarning: true,
    maxBlockSize: 1 << 20,
    minBlockSize: 1,
  },
});
const beat = setInterval(() => {
  send({
    v: PROTOCOL_VERSION,
    type: 'heartbeat',
    id: id(),
    driveId,
    at: Date.now(),
    state: busy ? 'writing' : 'idle',
    ...(medium === undefined ? {} : { medium }),
    stats: { ...stats, pendingCopies: batch.length, pendingBytes: 0, rateBytesPerSec: 0 },
  });
}, heartbeatMs);
process.on('disconnect', () => {
  clearInterval(beat);
  dealer.close();
  process.exit(0);
});

for await (const frames of dealer) {
  const frame = frames.at(-1);
  if (frame === undefined) continue;
  try {
    handle(decode(frame, { accept: DUPLICATOR_TO_WRITER_TYPES }));
  } catch (error) {
    if (!isProtocolError(error)) throw error;
    process.stderr.write(`loopback-writer ${driveId}: refused frame ${error.code}\n`);
  }
}
