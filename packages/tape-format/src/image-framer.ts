import { createHash, type Hash } from 'node:crypto';
import { checkInteger } from './bytes';
import { DATA_HEADER_LENGTH, DEFAULT_BLOCK_PAYLOAD_SIZE } from './constants';
import { writeDataHeader } from './data-block';
import { TapeFormatError } from './errors';
import { checkBlockPayloadSize } from './fragment-header';
import { encodeImageTrailer, type ImageTrailer } from './image-trailer';

export interface ImageFramerOptions {
  /** The image's tag in the current fragment. Change it with {@link ImageFramer.retag} at a new fragment. */
  tag: number;
  /** Payload bytes per data block: a power of two, default 256 KiB. Must not exceed the device's block limit. */
  blockPayloadSize?: number | undefined;
  /**
   * The device's largest block (READ BLOCK LIMITS). When given, `blockPayloadSize` plus the 32-byte
   * header must fit in it.
   */
  maxBlockSize?: number | undefined;
}

/** Where the image stands: what the next fragment header entry must say to continue it. */
export interface ImageFramerState {
  /** Payload bytes framed so far (the `offset` of the next fragment). */
  bytes: number;
  /** Data blocks framed so far (the `firstSequence` of the next fragment). */
  blocks: number;
  /** Bytes accepted but not yet in a block (less than one payload). */
  pending: number;
}

/**
 * Turns one image's byte stream into framed data blocks: each block carries the image's tag, a
 * sequence number that runs across the whole image, and CRC32Cs of its header and payload; the
 * framer accumulates the image's SHA-256 for its trailer. Blocks depend only on the bytes, never on
 * how they were chunked. Memory: one block buffer.
 *
 * Each returned block is a fresh buffer the caller owns (it may be transferred to another thread).
 */
export class ImageFramer {
  private tag: number;
  private readonly payloadSize: number;
  private readonly hash: Hash = createHash('sha256');
  private block: Uint8Array;
  private fill = 0;
  private bytes = 0;
  private sequence = 0;
  private finished = false;

  constructor(options: ImageFramerOptions) {
    checkInteger(options.tag, 'tag', 0, 0xffff);
    this.payloadSize = options.blockPayloadSize ?? DEFAULT_BLOCK_PAYLOAD_SIZE;
    checkBlockPayloadSize(this.payloadSize);
    if (options.maxBlockSize !== undefined) {
      checkInteger(options.maxBlockSize, 'maxBlockSize', 1, Number.MAX_SAFE_INTEGER);
      checkInteger(this.payloadSize + DATA_HEADER_LENGTH, 'blockPayloadSize + 32', 1, options.maxBlockSize);
    }
    this.tag = options.tag;
    this.block = new Uint8Array(DATA_HEADER_LENGTH + this.payloadSize);
  }

  get state(): ImageFramerState {
    return { bytes: this.bytes, blocks: this.sequence, pending: this.fill };
  }

  /** The payload size blocks are cut at. */
  get blockPayloadSize(): number {
    return this.payloadSize;
  }

  /** Uses a new tag from now on (the image moved to a new fragment). Call {@link flush} first. */
  retag(tag: number): void {
    checkInteger(tag, 'tag', 0, 0xffff);
    this.tag = tag;
  }

  /** Accepts the next bytes of the image; returns the blocks that became full (possibly none). */
  push(chunk: Uint8Array): Uint8Array[] {
    this.assertOpen();
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(this.payloadSize - this.fill, chunk.length - at);
      this.block.set(chunk.subarray(at, at + take), DATA_HEADER_LENGTH + this.fill);
      this.fill += take;
      at += take;
      if (this.fill === this.payloadSize) out.push(this.emit());
    }
    return out;
  }

  /**
   * Frames a block whose payload the caller already placed at `block[32..]`, e.g. read from a file
   * straight into the memory it travels in, so the bytes are not copied once more: adds the payload
   * to the image's SHA-256 and fills the 32-byte header in place. The framer keeps no reference to
   * `block`. Allowed only between blocks (nothing pending from {@link push}); as long as every block
   * but the image's last is full, the blocks are the ones {@link push} would have made.
   */
  frameInPlace(block: Uint8Array): void {
    this.assertOpen();
    if (this.fill !== 0) {
      throw new TapeFormatError('INVALID_STATE', 'ImageFramer.frameInPlace with bytes pending from push()', {
        tag: this.tag,
      });
    }
    const length = block.length - DATA_HEADER_LENGTH;
    checkInteger(length, 'block.length - 32', 1, this.payloadSize);
    this.hash.update(block.subarray(DATA_HEADER_LENGTH));
    writeDataHeader(block, this.tag, this.sequence, length);
    this.bytes += length;
    this.sequence += 1;
  }

  /**
   * Emits the partly filled block, if any. Call it when the fragment ends before the image does
   * (a short block mid-image is allowed; the next fragment's entry records the offset).
   */
  flush(): Uint8Array[] {
    this.assertOpen();
    return this.fill > 0 ? [this.emit()] : [];
  }

  /**
   * Ends the image: returns its last (short) block, if any, and the encoded trailer. With
   * `status: 'aborted'` the trailer marks the image as failed at this point.
   */
  finish(status: ImageTrailer['status'] = 'complete'): {
    blocks: Uint8Array[];
    trailer: Uint8Array;
    info: ImageTrailer;
  } {
    const blocks = this.flush();
    this.finished = true;
    const info: ImageTrailer = {
      tag: this.tag,
      status,
      totalBytes: this.bytes,
      blockCount: this.sequence,
      sha256: new Uint8Array(this.hash.digest()),
    };
    return { blocks, trailer: encodeImageTrailer(info), info };
  }

  private emit(): Uint8Array {
    const length = this.fill;
    writeDataHeader(this.block, this.tag, this.sequence, length);
    const full = length === this.payloadSize;
    const out = full ? this.block : this.block.slice(0, DATA_HEADER_LENGTH + length);
    if (full) this.block = new Uint8Array(DATA_HEADER_LENGTH + this.payloadSize);
    this.sequence += 1;
    this.fill = 0;
    return out;
  }

  private assertOpen(): void {
    if (this.finished) {
      throw new TapeFormatError('INVALID_STATE', 'ImageFramer used after finish()', { tag: this.tag });
    }
  }
}
