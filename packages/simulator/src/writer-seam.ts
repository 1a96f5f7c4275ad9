/**
 * The seam between the simulator and the tape writer it drives. The simulator plays the duplicator's
 * part (planner, sync policy, drive statistics, retries); whatever sits behind `WriterUnderTest`
 * writes the copies to a `TapeDevice` and reports what it wrote and what each sync proved, exactly
 * as a writer process reports to the duplicator.
 */
import type { Clock, VirtualDrive } from '@tapedup/virtual-drive';

/** One image copy to write, with the filemark the policy chose for its end. */
export interface WriteJob {
  readonly copyId: string;
  readonly imageId: string;
  /** 1..n within the image. */
  readonly copyNumber: number;
  readonly sizeBytes: number;
  readonly priority: number;
  /** 1 for the first attempt; a retry is always ended with a sync. */
  readonly attempt: number;
  /** The policy's reason code, for the writer's log. */
  readonly reason: string;
  /** `defer`: immediate filemark (the batch stays open); `sync`: synchronous filemark (ends the batch). */
  readonly ending: 'defer' | 'sync';
}

/** What the writer tells the simulator, in the order things happened. */
export type WriterReport =
  /** The copy's data and filemark were accepted by the drive (not yet proven on the medium). */
  | { readonly type: 'image-written'; readonly copyId: string; readonly bytes: number }
  /**
   * A synchronous filemark (or flush) returned GOOD and the position read back matched: every copy
   * written since the last good sync is committed. (The sync's duration and the bytes it flushed are
   * measured on the device by the simulator, for every synchronous filemark.)
   */
  | { readonly type: 'batch-synced'; readonly copyIds: readonly string[] }
  /** One copy failed on its own (its source); the batch goes on. */
  | { readonly type: 'copy-failed'; readonly copyId: string; readonly code: string }
  /**
   * An error since the last good sync (write, deferred, sync, position mismatch): every copy of the
   * batch, including one being written, failed; none is committed. The writer has repositioned to the
   * last committed position before resolving.
   */
  | { readonly type: 'sync-failed'; readonly copyIds: readonly string[]; readonly code: string };

/** Everything a writer gets from the simulator. */
export interface WriterContext {
  readonly driveId: string;
  readonly mediumId: string;
  /**
   * The drive (a `TapeDevice`), opened, with a synthetic medium loaded at its beginning. Its
   * `writeSyntheticBlocks` lets a writer push many synthetic blocks in one command.
   */
  readonly device: VirtualDrive;
  /** Model time. */
  readonly clock: Clock;
  /** Called synchronously for every report, before the call that caused it resolves. */
  readonly report: (report: WriterReport) => void;
}

/** The writer behind the seam: one per drive. */
export interface WriterUnderTest {
  /**
   * Writes the copies in order, each with its filemark, as one hand-over (the writer sees them all
   * queued); resolves once every report they caused was delivered. After a failed batch the copies
   * not yet started may be dropped unreported: the simulator puts them back in its queue.
   */
  write(jobs: readonly WriteJob[]): Promise<void>;
  /** Ends the open batch with a flush-only sync (WRITE FILEMARKS count 0, IMMED=0). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the writer of each drive; `name` is reported with the results. */
export interface WriterFactory {
  readonly name: string;
  /**
   * True: hand the writer a drive's assigned copies together, each decided in turn against the batch
   * as it will be (up to the first synchronous ending), as the duplicator hands a writer its window;
   * a writer that packs images needs to see the next one queued. False: one copy per hand-over,
   * decided just before it is written.
   */
  readonly queuesAhead: boolean;
  create(context: WriterContext): Promise<WriterUnderTest>;
}
