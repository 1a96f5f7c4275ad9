import type { ImageSink } from '../reader/restore-image';

/** A sink that keeps everything it is given (tests only: it buffers the whole image). */
export class CollectingSink implements ImageSink {
  chunks: Uint8Array[] = [];
  resets = 0;

  write(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
  }

  reset(): void {
    this.resets += 1;
    this.chunks = [];
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
