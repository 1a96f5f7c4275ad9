/**
 * What the engine reads images through. A source turns one image copy into framed tape-format data
 * blocks (tag, sequence, CRC32C) and, at its end, the image trailer (size, block count, SHA-256).
 * Read-ahead is the source's business but must be bounded: it may hold at most a fixed number of
 * chunks that `next()` has not returned yet.
 */
import type { AssignItem } from '@tapedup/protocol';
import type { SourceError } from '../dsu';

export type SourceEvent =
  /**
   * Framed data blocks, in sequence order. They stay valid until the next `next()` call, and no
   * longer: a source may reuse their memory for later blocks once asked for the next event (the
   * engine asks only after the drive took every block of this one).
   */
  | { kind: 'blocks'; blocks: Uint8Array[]; payloadBytes: number }
  /**
   * `count` data blocks of `blockLength` bytes with no content (simulation only): the engine writes
   * them as synthetic blocks when the device can, zero-filled otherwise.
   */
  | { kind: 'synthetic'; blockLength: number; count: number; payloadBytes: number }
  /**
   * The image ended. `complete`: every byte was delivered and `trailer` closes the image. `aborted`:
   * the source failed (`error`) or was asked to stop ({@link ImageSource.abort}); `trailer` is an
   * aborted trailer that covers exactly the blocks delivered before it.
   */
  | {
      kind: 'end';
      status: 'complete' | 'aborted';
      trailer: Uint8Array;
      bytes: number;
      blocks: number;
      /** SHA-256 (hex) of the `bytes` delivered. */
      sha256: string;
      error?: SourceError | undefined;
    };

export interface ImageSource {
  /** The next event. After an `end` event it must not be called again. */
  next(): Promise<SourceEvent>;
  /** Stop reading: later `next()` calls deliver what was already read, then an aborted `end`. */
  abort(): void;
  /** Releases the source (idempotent). */
  close(): Promise<void>;
}

export interface SourceOpenOptions {
  /** The image's tag in the fragment. */
  tag: number;
  /** Payload bytes per data block. */
  blockPayloadSize: number;
}

/** Opens the source of an assigned copy. Rejects with a `SourceError` when it cannot be read at all. */
export interface SourceOpener {
  open(item: AssignItem, options: SourceOpenOptions): Promise<ImageSource>;
  /** Releases shared resources (worker pools). */
  close?(): Promise<void>;
}
