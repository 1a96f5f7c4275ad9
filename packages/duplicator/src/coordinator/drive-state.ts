/**
 * What the coordinator knows about one drive's writer between messages. Held in memory only: the
 * catalog is the truth, and a restart rebuilds this from `hello` (everything in flight having been
 * requeued by `Catalog.recoverInFlight`).
 */
import type { WriterState } from '@tapedup/protocol';
import { type BatchState, emptyBatch, withDeferredImage } from '../policy';

/** Where a disk image is read from. */
export interface DiskSource {
  readonly kind: 'disk';
  readonly dsu: string;
  readonly path: string;
}

/** A live image: its data arrives on the PULL endpoint the writer binds for the copy. */
export interface StreamSource {
  readonly kind: 'stream';
}

export type CopySource = DiskSource | StreamSource;

/** A copy handed to the writer, known by its wire id. */
export interface CopyInFlight {
  readonly wire: string;
  readonly copyId: number;
  readonly imageId: number;
  readonly attempt: number;
  readonly requestId: string;
  readonly backupId: string;
  readonly copy: number;
  readonly sizeBytes: number;
  readonly priority: number;
  readonly kind: 'disk' | 'stream';
  readonly deadline: number | undefined;
  readonly source: CopySource;
  /** The PULL endpoint of a `stream` copy (announced in `accepted.streams`). */
  readonly streamEndpoint: string | undefined;
  /** The medium the copy was assigned to (a spanned copy moves to the next one). */
  medium: string;
  /** Epoch ms when it was assigned (the start of its batch, for the batch's age). */
  readonly assignedAt: number;
  decision: 'defer' | 'sync';
  /** Why, as logged and sent to the writer. */
  reason: string;
  /** The sync group (copies of one image on several drives, flushed together), if any. */
  group: string | undefined;
  /** Where the writer reported the copy (after `copy-written`). */
  written?: { medium: string; fileNumber: number; blockAddress: number; bytes: number; sha256: string };
}

export interface DriveState {
  readonly id: string;
  connected: boolean;
  pid: number | undefined;
  /** What the writer says is loaded. */
  loadedMedium: string | undefined;
  /** The medium the coordinator writes on with this drive. */
  medium: string | undefined;
  /** A `mount` sent and not yet answered. */
  mounting: { barcode: string; msgId: string } | undefined;
  /** The next `assign` must carry `resumeAt` (fresh writer, new medium, or after a failure). */
  needsResume: boolean;
  /** Assigned, not yet reported written, in assignment order. */
  readonly outstanding: Map<string, CopyInFlight>;
  /** Reported written, not yet covered by a good sync. */
  readonly pending: Map<string, CopyInFlight>;
  /** Epoch ms of the drive's last good sync (or of the writer's hello). */
  lastSyncAt: number;
  syncInFlight: { batchId: string; msgId: string; sentAt: number } | undefined;
  state: WriterState;
  rateBytesPerSec: number | undefined;
  lastSyncMs: number | undefined;
  lastSeen: number;
  shutdownAcked: boolean;
}

export function newDriveState(id: string, now: number): DriveState {
  return {
    id,
    connected: false,
    pid: undefined,
    loadedMedium: undefined,
    medium: undefined,
    mounting: undefined,
    needsResume: true,
    outstanding: new Map(),
    pending: new Map(),
    lastSyncAt: now,
    syncInFlight: undefined,
    state: 'idle',
    rateBytesPerSec: undefined,
    lastSyncMs: undefined,
    lastSeen: now,
    shutdownAcked: false,
  };
}

/**
 * The policy's view of the drive's open batch once everything handed out is written: the copies
 * written and not yet synced, then those still outstanding, restarting after each `sync` decision.
 */
export function openBatchOf(d: DriveState): BatchState {
  let batch = emptyBatch(d.lastSyncAt);
  for (const c of [...d.pending.values(), ...d.outstanding.values()]) {
    batch =
      c.decision === 'sync'
        ? emptyBatch(c.assignedAt)
        : withDeferredImage(
            batch,
            {
              sizeBytes: c.sizeBytes,
              priority: c.priority,
              kind: c.kind,
              attempt: c.attempt,
              deadline: c.deadline,
            },
            c.assignedAt,
          );
  }
  return batch;
}

/** Forgets everything in flight (after the catalog failed it); the next assign repositions. */
export function clearInFlight(d: DriveState, now: number): CopyInFlight[] {
  const lost = [...d.pending.values(), ...d.outstanding.values()];
  d.pending.clear();
  d.outstanding.clear();
  d.syncInFlight = undefined;
  d.lastSyncAt = now;
  d.needsResume = true;
  return lost;
}
