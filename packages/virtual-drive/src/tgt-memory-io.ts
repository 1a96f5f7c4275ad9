import type { CartridgeIo } from './tgt-io';

/** One file operation as `MemoryCartridgeIo` records it. */
export type IoOperation =
  | { op: 'write'; position: number; bytes: Uint8Array }
  | { op: 'truncate'; length: number }
  | { op: 'datasync' };

/**
 * An in-memory `CartridgeIo` that records every operation, so a test can rebuild the file as a power
 * loss could have left it: all operations before some fdatasync, plus any subset of those after it.
 * `durableImage()` is the simplest such outcome: everything up to the last fdatasync, nothing after.
 */
export class MemoryCartridgeIo implements CartridgeIo {
  private bytes: Uint8Array;
  private length: number;
  private readonly initial: Uint8Array;
  readonly log: IoOperation[] = [];
  closed = false;

  constructor(initial: Uint8Array = new Uint8Array(0)) {
    this.initial = initial.slice();
    this.bytes = initial.slice();
    this.length = initial.length;
  }

  /** The file content after applying `operations` (default: all recorded so far) to the initial image. */
  static apply(initial: Uint8Array, operations: ReadonlyArray<IoOperation>): Uint8Array {
    const io = new MemoryCartridgeIo(initial);
    for (const operation of operations) {
      if (operation.op === 'write') io.put(operation.bytes, operation.position);
      else if (operation.op === 'truncate') io.setLength(operation.length);
    }
    return io.image();
  }

  /** The initial image this io started from. */
  initialImage(): Uint8Array {
    return this.initial.slice();
  }

  image(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** What survives a power loss that drops every operation after the last fdatasync. */
  durableImage(): Uint8Array {
    let last = -1;
    this.log.forEach((operation, k) => {
      if (operation.op === 'datasync') last = k;
    });
    return MemoryCartridgeIo.apply(this.initial, this.log.slice(0, last + 1));
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.length, position + length);
    return this.bytes.slice(Math.min(position, end), end);
  }

  async write(buffers: ReadonlyArray<Uint8Array>, position: number): Promise<void> {
    let at = position;
    for (const buffer of buffers) {
      this.log.push({ op: 'write', position: at, bytes: buffer.slice() });
      this.put(buffer, at);
      at += buffer.length;
    }
  }

  async truncate(length: number): Promise<void> {
    this.log.push({ op: 'truncate', length });
    this.setLength(length);
  }

  async datasync(): Promise<void> {
    this.log.push({ op: 'datasync' });
  }

  async size(): Promise<number> {
    return this.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private put(buffer: Uint8Array, position: number): void {
    this.setLength(Math.max(this.length, position + buffer.length));
    this.bytes.set(buffer, position);
  }

  private setLength(length: number): void {
    if (length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(length, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    } else if (length < this.length) {
      this.bytes.fill(0, length, this.length);
    }
    this.length = length;
  }
}
