import type { AssignItem, MessageOf, TapeLocation, WriterToDuplicator } from '@tapedup/protocol';
import type { TapeDevice } from '@tapedup/scsi';
import type { Logger } from 'pino';
import type { SourceOpener } from '../sources/types';
import type { MediaChanger } from './medium';

/** The subset of pino the engine uses (a pino logger or a child of one). */
export type EngineLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'child'>;

/** A device that can write length-only blocks in one command (the virtual drive, for simulation). */
export interface SyntheticBlockWriter {
  writeSyntheticBlocks(length: number, count: number): Promise<{ earlyWarning: boolean }>;
}

/**
 * A device that takes several data blocks in one call (the virtual drive): exactly that many WRITE
 * commands in order, as if each were its own `writeBlock`, stopping after the first block that
 * reports early warning (`written` counts the blocks written). Optional: without it the engine
 * writes one block per call.
 */
export interface BlockBatchWriter {
  writeBlocks(blocks: readonly Uint8Array[]): Promise<{ written: number; earlyWarning: boolean }>;
}

export interface WriterEngineOptions {
  /** The drive id (`SafeId`) this writer reports as. */
  driveId: string;
  /** The drive, open. The engine never closes it. */
  device: TapeDevice;
  /** Milliseconds since the epoch (heartbeat `at`, label and fragment times, latencies). */
  clock: { now(): number };
  logger: EngineLogger;
  sources: SourceOpener;
  changer: MediaChanger;
  /** Receives every report, in order. Must not throw. */
  report: (message: WriterToDuplicator) => void;
  /** Payload bytes per data block: a power of two, default 256 KiB (capped by the drive's limit). */
  blockPayloadSize?: number;
  /** Enable SSC-4 append-only mode on cartridges when the drive supports it (default false). */
  appendOnly?: boolean;
  /** Prefix of message and batch ids; make it unique per writer run (default the drive id). */
  idPrefix?: string;
  /** UUID generator for volume labels (default crypto.randomUUID). */
  newLabelId?: () => string;
  /**
   * MPX factor: most images written at once, interleaved block by block in one fragment (1..32,
   * default 1 = one image per fragment). Only items with the same `mpxGroup` (or none) share one.
   */
  mpxFactor?: number;
  /** While data flows, a next-image split waits until the fragment is this old (default 4000 ms). */
  minFragmentMs?: number;
  /** A fragment ends (immediate filemark) once it holds this many payload bytes (default: no limit). */
  maxFragmentBytes?: number;
  /**
   * Images one MPX fragment's table may name (2..65535, default 16). An image that would exceed it
   * starts a new fragment: the next-image split.
   */
  maxFragmentImages?: number;
  /**
   * Pack small images at MPX factor 1 (default false): when an image completes with a `defer`
   * decision, the next `disk` item for the medium is already queued and the fragment is younger than
   * `minFragmentMs`, that item joins the open fragment (image start record) instead of the fragment
   * ending; one immediate filemark then closes several images. A `sync` decision always ends the
   * fragment with a synchronous filemark.
   */
  packImages?: boolean;
  /**
   * Checkpoint long images (default off): a fragment open this long (ms) while an image in it is
   * still running ends with reason `checkpoint`; its filemark is synchronous unless every image in
   * the fragment was assigned `defer`. The images continue in the next fragment.
   */
  checkpointMs?: number;
}

/** Where the writer is; the heartbeat state. */
export type EngineState = MessageOf<'heartbeat'>['state'];

export type Command =
  | MessageOf<'assign'>
  | MessageOf<'sync-now'>
  | MessageOf<'mount'>
  | MessageOf<'shutdown'>;

/** One unit of queued work, in arrival order. */
export type Step =
  | {
      kind: 'item';
      item: AssignItem;
      medium: string;
      /** Only on the first item of an assign that carried one. */
      resumeAt: TapeLocation | undefined;
      arrivedAt: number;
    }
  | { kind: 'sync'; message: MessageOf<'sync-now'> }
  | { kind: 'mount'; message: MessageOf<'mount'> }
  | { kind: 'shutdown'; message: MessageOf<'shutdown'> };
