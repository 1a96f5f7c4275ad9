/**
 * One image copy being written by the MPX engine: its source, what of it is already on tape, and
 * what the source delivered that is not on tape yet. An image keeps its tag for as long as it runs
 * (tags only need to be unique within a fragment), so framed blocks from the source never need
 * rewriting when the image moves to another fragment or another medium.
 */
import type { AssignItem } from '@tapedup/protocol';
import { encodeImageTrailer, type FragmentEndEntry, type ImageEntry } from '@tapedup/tape-format';
import type { CopyFragmentRecord } from '../batch';
import type { ImageSource, SourceEvent } from '../sources/types';
import type { EngineLogger, Step } from './types';

export type ItemStep = Extract<Step, { kind: 'item' }>;
export type EndEvent = Extract<SourceEvent, { kind: 'end' }>;

/** The fragment being written: one tape file, opened lazily when the first data is at hand. */
export interface OpenFragment {
  fileNumber: number;
  /** Logical object of its header. */
  blockNumber: number;
  /** Clock time the header was written (minimum fragment time). */
  openedAt: number;
  /** Objects written in it so far (header included). */
  objects: number;
  /** Payload bytes in it (maximum fragment size). */
  bytes: number;
  /** Tags of its image table, including images that ended in it; never reused in it. */
  tags: Set<number>;
  /** Its images in table order. */
  table: ImageRun[];
  /** Images whose trailer (complete) is in it: written once its filemark is accepted. */
  finished: ImageRun[];
}

export class ImageRun {
  readonly item: AssignItem;
  readonly tag: number;
  readonly source: ImageSource;
  log: EngineLogger;
  /** When the assign that named it arrived (pickup latency). */
  arrivedAt: number;
  /** Taken over from an earlier medium: no pickup sample, it was picked up there. */
  resumed = false;

  /** Framed blocks delivered and not yet on tape, in order. */
  blocks: Uint8Array[] = [];
  synthetic: { blockLength: number; count: number; payloadBytes: number } | undefined;
  end: EndEvent | undefined;
  /** `next()` rejected: the source broke without an orderly end. */
  broken: unknown;
  #reading = false;

  /** Payload bytes and data blocks on tape, over all fragments and media. */
  bytes = 0;
  blockCount = 0;
  /** Fragments the image appeared in so far: the next one's `fragmentIndex`. */
  fragmentCount = 0;
  fragments: CopyFragmentRecord[] = [];
  /** Its next fragment is on another medium than its last one. */
  fromOtherMedium = false;
  pickedUp = false;
  /** Listed in the open fragment's table. */
  inFragment = false;
  fragBytes = 0;
  fragBlocks = 0;
  /** Its trailer is on tape. */
  ended: 'complete' | 'aborted' | undefined;

  constructor(step: ItemStep, tag: number, source: ImageSource, log: EngineLogger) {
    this.item = step.item;
    this.arrivedAt = step.arrivedAt;
    this.tag = tag;
    this.source = source;
    this.log = log;
  }

  get copyId(): string {
    return this.item.copyId;
  }

  /** Data blocks are at hand. */
  get hasData(): boolean {
    return this.blocks.length > 0 || this.synthetic !== undefined;
  }

  /** A read is outstanding. */
  get reading(): boolean {
    return this.#reading;
  }

  /**
   * Its data is flowing: something is at hand, or a read from a local source (disk, synthetic) is
   * under way. A stream counts only when frames are here: a silent sender is not data.
   */
  get flowing(): boolean {
    return this.ready || (this.#reading && this.item.source.kind === 'disk');
  }

  /** Something can be written for it now: data, or its end. */
  get ready(): boolean {
    return this.hasData || this.end !== undefined || this.broken !== undefined;
  }

  /**
   * Asks the source for its next event unless one is at hand or already asked for. `settled` runs
   * when it arrives; the engine wakes on it (no polling). At most one read is outstanding per image,
   * so what the engine holds per image is bounded by one source event.
   */
  pull(settled: () => void): void {
    if (this.#reading || this.ready || this.ended !== undefined) return;
    this.#reading = true;
    this.source.next().then(
      (event) => {
        this.#reading = false;
        if (event.kind === 'blocks') this.blocks = event.blocks;
        else if (event.kind === 'synthetic') this.synthetic = event;
        else this.end = event;
        settled();
      },
      (error: unknown) => {
        this.#reading = false;
        this.broken = error ?? new Error('source failed');
        settled();
      },
    );
  }

  /** Its entry in the next fragment's image table (header or image start record). */
  entry(): ImageEntry {
    const first = this.fragmentCount === 0;
    return {
      tag: this.tag,
      backupId: this.item.backupId,
      copy: this.item.copy,
      kind: this.item.source.kind,
      fragmentIndex: this.fragmentCount,
      offset: first ? 0 : this.bytes,
      totalSize: this.item.source.kind === 'disk' ? this.item.sizeBytes : undefined,
      firstSequence: first ? 0 : this.blockCount,
      fromOtherMedium: !first && this.fromOtherMedium,
    };
  }

  /** It is now in the table of the fragment at (medium, fileNumber, blockNumber). */
  join(medium: string, fileNumber: number, blockNumber: number): void {
    this.inFragment = true;
    this.fragBytes = 0;
    this.fragBlocks = 0;
    this.fragmentCount += 1;
    this.fromOtherMedium = false;
    this.fragments.push({ medium, fileNumber, blockAddress: blockNumber, offset: this.bytes, length: 0 });
  }

  /** Counts data it wrote in the open fragment. */
  wrote(blocks: number, payloadBytes: number): void {
    this.blockCount += blocks;
    this.bytes += payloadBytes;
    this.fragBlocks += blocks;
    this.fragBytes += payloadBytes;
    const last = this.fragments.at(-1);
    if (last !== undefined) last.length += payloadBytes;
  }

  /** Its line in the fragment end record. */
  endEntry(toOtherMedium: boolean): FragmentEndEntry {
    const continues = this.ended === undefined;
    return {
      tag: this.tag,
      continues,
      continuesOnOtherMedium: continues && toOtherMedium,
      blocks: this.fragBlocks,
      bytes: this.fragBytes,
    };
  }

  /** The open fragment ended. */
  leave(): void {
    this.inFragment = false;
  }

  /** The fragments a catalog records: the first, and every later one holding bytes of the image. */
  cataloguedFragments(): CopyFragmentRecord[] {
    return this.fragments.filter((f, i) => i === 0 || f.length > 0).map((f) => ({ ...f }));
  }

  /** An aborted trailer for an image whose source broke without one: covers what is on tape. */
  abortedTrailer(): Uint8Array {
    return encodeImageTrailer({
      tag: this.tag,
      status: 'aborted',
      totalBytes: this.bytes,
      blockCount: this.blockCount,
      sha256: new Uint8Array(32),
    });
  }

  async close(): Promise<void> {
    await this.source.close().catch((error: unknown) => this.log.warn({ err: error }, 'source close failed'));
  }
}
