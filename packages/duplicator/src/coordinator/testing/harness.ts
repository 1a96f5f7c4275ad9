/**
 * Test harness for the coordinator core: a real catalog in a temp file, a fake clock, a pino logger
 * writing into an array, and an in-memory writer double per drive that the test drives step by step
 * (it only answers what the test tells it to).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type {
  DuplicatorEvent,
  DuplicatorToWriter,
  MessageOf,
  Sense,
  WriterToDuplicator,
} from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import pino from 'pino';
import { Catalog } from '../../catalog';
import { Coordinator, type CoordinatorSettings } from '../coordinator';
import type { Output } from '../outputs';

export const SHA = 'a'.repeat(64);

export interface Harness {
  readonly catalog: Catalog;
  readonly coordinator: Coordinator;
  readonly logs: Record<string, unknown>[];
  readonly clock: { now: number };
  readonly writers: Map<string, WriterDouble>;
  /** Everything the coordinator output, in order. */
  readonly outputs: Output[];
  /** Feeds outputs to the writer doubles' inboxes and records them. */
  take(out: Output[]): Output[];
  writer(driveId: string): WriterDouble;
  close(): void;
}

export function makeHarness(
  settings: Partial<CoordinatorSettings> = {},
  media: Record<string, string[]> = { default: ['A00001L9', 'A00002L9', 'A00003L9', 'A00004L9'] },
): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'tapedup-coord-'));
  const clock = { now: 1_700_000_000_000 };
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const catalog = new Catalog({ path: join(dir, 'catalog.sqlite'), clock: () => clock.now, maxAttempts: 3 });
  for (const [pool, barcodes] of Object.entries(media)) for (const b of barcodes) catalog.addMedium(b, pool);
  const full: CoordinatorSettings = {
    drives: [
      { id: 'd0', spec: 'virtual:/lib#drive0' },
      { id: 'd1', spec: 'virtual:/lib#drive1' },
    ],
    pools: Object.keys(media),
    dsu: { dsu1: '/srv/dsu1' },
    policy: { policy: 'fixed', fixedBatchImages: 4 },
    poolPolicy: {},
    maxAttempts: 3,
    retryBackoffMs: 0,
    retryMaxBackoffMs: 0,
    windowImages: 64,
    windowBytes: 64_000_000_000,
    freezeAfterMediumErrors: 2,
    defaultRateBytesPerSec: 400_000_000,
    ...settings,
  };
  const coordinator = new Coordinator({ catalog, clock: () => clock.now, logger, settings: full });
  const writers = new Map<string, WriterDouble>();
  for (const d of full.drives) writers.set(d.id, new WriterDouble(d.id));
  const outputs: Output[] = [];
  const h: Harness = {
    catalog,
    coordinator,
    logs,
    clock,
    writers,
    outputs,
    take(out) {
      outputs.push(...out);
      for (const o of out) if (o.kind === 'writer') writers.get(o.driveId)?.inbox.push(o.message);
      return out;
    },
    writer(driveId) {
      const w = writers.get(driveId);
      if (w === undefined) throw new Error(`no writer double ${driveId}`);
      return w;
    },
    close() {
      catalog.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  h.take(coordinator.start());
  return h;
}

/** Events of one type among outputs. */
export function eventsOf<T extends DuplicatorEvent['type']>(
  out: readonly Output[],
  type: T,
): Extract<DuplicatorEvent, { type: T }>[] {
  return out.flatMap((o) =>
    o.kind === 'event' && o.message.type === type ? [o.message as Extract<DuplicatorEvent, { type: T }>] : [],
  );
}

export function repliesOf(out: readonly Output[]) {
  return out.flatMap((o) => (o.kind === 'reply' ? [o.message] : []));
}

/**
 * The writer end of one drive, held by the test: it keeps the coordinator's commands in `inbox`
 * and builds the reports a tape writer sends, tracking tape positions like a real one would
 * (one tape file per copy, one block per 256 KiB).
 */
export class WriterDouble {
  readonly inbox: DuplicatorToWriter[] = [];
  medium: string | undefined;
  fileNumber = 1;
  blockAddress = 1;
  #seq = 0;
  /** Copies written since the last good sync. */
  readonly batch: MessageOf<'batch-synced'>['committed'][number][] = [];

  constructor(readonly driveId: string) {}

  #id(): string {
    this.#seq += 1;
    return `${this.driveId}-${this.#seq}`;
  }

  /** The commands received of a type, removing them from the inbox. */
  drain<T extends DuplicatorToWriter['type']>(type: T): Extract<DuplicatorToWriter, { type: T }>[] {
    const picked = this.inbox.filter((m) => m.type === type) as Extract<DuplicatorToWriter, { type: T }>[];
    for (const m of picked) this.inbox.splice(this.inbox.indexOf(m), 1);
    return picked;
  }

  /** Every assign item received so far (drains the assigns). */
  items(): MessageOf<'assign'>['items'] {
    return this.drain('assign').flatMap((a) => {
      this.medium = a.medium;
      if (a.resumeAt !== undefined) {
        this.fileNumber = Math.max(1, a.resumeAt.fileNumber);
        this.blockAddress = Math.max(1, a.resumeAt.blockAddress);
      }
      return a.items;
    });
  }

  hello(medium?: string): WriterToDuplicator {
    return {
      v: PROTOCOL_VERSION,
      type: 'hello',
      id: this.#id(),
      driveId: this.driveId,
      pid: 4242,
      drive: {
        name: `virtual:/lib#${this.driveId}`,
        transport: 'virtual',
        vendor: 'TAPEDUP',
        product: 'VIRTUAL',
        revision: '1',
        serial: this.driveId,
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
      ...(medium === undefined ? {} : { medium }),
    };
  }

  /** Answers a `mount`. */
  mounted(mount: MessageOf<'mount'>): WriterToDuplicator {
    this.medium = mount.barcode;
    this.fileNumber = 1;
    this.blockAddress = 1;
    return {
      v: PROTOCOL_VERSION,
      type: 'mounted',
      id: this.#id(),
      re: mount.id,
      medium: mount.barcode,
      position: { fileNumber: 0, blockAddress: 0 },
      appendOnly: false,
    };
  }

  /** Writes one item: reports `copy-written` and remembers it in the batch. */
  written(item: MessageOf<'assign'>['items'][number]): WriterToDuplicator {
    const medium = this.medium ?? 'NONE';
    const at = { fileNumber: this.fileNumber, blockAddress: this.blockAddress };
    const blocks = Math.max(1, Math.ceil(item.sizeBytes / 262_144)) + 2;
    this.fileNumber += 1;
    this.blockAddress += blocks + 1;
    this.batch.push({ copyId: item.copyId, medium, ...at, sha256: SHA });
    return {
      v: PROTOCOL_VERSION,
      type: 'copy-written',
      id: this.#id(),
      copyId: item.copyId,
      pendingSync: item.decision === 'defer',
      medium,
      ...at,
      bytes: item.sizeBytes,
      sha256: SHA,
    };
  }

  /** A good sync of everything written since the last one. */
  synced(re?: string, batchId = `${this.driveId}-b${this.#seq}`): WriterToDuplicator {
    const committed = this.batch.splice(0);
    return {
      v: PROTOCOL_VERSION,
      type: 'batch-synced',
      id: this.#id(),
      ...(re === undefined ? {} : { re }),
      batchId,
      committed,
      position: {
        medium: this.medium ?? 'NONE',
        fileNumber: this.fileNumber,
        blockAddress: this.blockAddress,
      },
    };
  }

  /** A failed sync: every copy since the last good sync is lost. */
  syncFailed(sense: Partial<Sense> = {}): WriterToDuplicator {
    const failed = this.batch.splice(0).map((c) => c.copyId);
    return {
      v: PROTOCOL_VERSION,
      type: 'sync-failed',
      id: this.#id(),
      batchId: `${this.driveId}-f${this.#seq}`,
      failed,
      sense: {
        senseKey: 3,
        asc: 0x0c,
        ascq: 0,
        deferred: false,
        category: 'medium',
        code: 'MEDIUM_ERROR',
        message: 'write error',
        ...sense,
      },
    };
  }
}
