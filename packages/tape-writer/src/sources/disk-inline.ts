/**
 * Small `disk` images read and framed on the calling thread, whole, when they are opened. For an
 * image of a block or so, the worker's trips between threads (post the task, wake the worker, post
 * the chunk back) are most of the pickup time, and on a busy machine each trip waits for the
 * scheduler: the pickup tail was made of them. Reading a few hundred kilobytes from a local storage
 * unit blocks for well under a millisecond; larger images keep the worker (see `DiskSourceOpener`).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { DATA_HEADER_LENGTH, ImageFramer } from '@tapedup/tape-format';
import { type DsuRoots, resolveSourceSync, SourceError } from '../dsu';
import { endEvent } from './end-event';
import type { ImageSource, SourceEvent } from './types';

export interface InlineImage {
  roots: DsuRoots;
  dsu: string;
  path: string;
  /** The announced size; the file must have it. */
  sizeBytes: number;
  tag: number;
  blockPayloadSize: number;
}

/**
 * Checks and reads the image now; throws the `SourceError` of a source that cannot be read at all
 * (like `resolveSource`). A read that fails part way gives a source whose end is aborted after the
 * blocks read before the failure.
 */
export function openInline(image: InlineImage): ImageSource {
  const { absolutePath } = resolveSourceSync(image.roots, image.dsu, image.path, image.sizeBytes);
  const framer = new ImageFramer({ tag: image.tag, blockPayloadSize: image.blockPayloadSize });
  const blocks: Uint8Array[] = [];
  let offset = 0;
  let error: SourceError | undefined;
  let fd: number | undefined;
  try {
    fd = openSync(absolutePath, 'r');
    while (offset < image.sizeBytes) {
      const want = Math.min(image.blockPayloadSize, image.sizeBytes - offset);
      const block = new Uint8Array(DATA_HEADER_LENGTH + want);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, block, DATA_HEADER_LENGTH + got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      if (got > 0) {
        const framed = block.subarray(0, DATA_HEADER_LENGTH + got);
        framer.frameInPlace(framed);
        blocks.push(framed);
        offset += got;
      }
      if (got < want) {
        error = new SourceError(
          'SHORT_READ',
          image.dsu,
          image.path,
          `file ended at byte ${offset} of ${image.sizeBytes}`,
        );
        break;
      }
    }
  } catch (cause) {
    error = new SourceError('READ_FAILED', image.dsu, image.path, 'disk read failed', cause);
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Closing a read-only descriptor cannot lose data; the read outcome is what matters.
      }
    }
  }
  return new InlineImageSource(framer, blocks, offset, error);
}

class InlineImageSource implements ImageSource {
  #blocks: Uint8Array[] | undefined;
  #aborted = false;
  #ended = false;

  constructor(
    private readonly framer: ImageFramer,
    blocks: Uint8Array[],
    private readonly payloadBytes: number,
    private readonly error: SourceError | undefined,
  ) {
    this.#blocks = blocks.length > 0 ? blocks : undefined;
  }

  async next(): Promise<SourceEvent> {
    if (this.#ended) throw new Error('disk source: next() after end');
    const blocks = this.#blocks;
    if (blocks !== undefined) {
      this.#blocks = undefined;
      return { kind: 'blocks', blocks, payloadBytes: this.payloadBytes };
    }
    this.#ended = true;
    // Everything was read at open: an abort only changes how the trailer closes the image.
    const status = this.error !== undefined || this.#aborted ? 'aborted' : 'complete';
    return endEvent(this.framer.finish(status), this.error);
  }

  abort(): void {
    this.#aborted = true;
  }

  async close(): Promise<void> {
    this.#blocks = undefined;
  }
}
