import type { AppendObject, MediumInfo, MediumObject, MediumStore } from './medium';
import {
  type FileNumberingMedium,
  type InMemoryMediumOptions,
  type PowerFailingMedium,
  validateInMemoryOptions,
} from './medium-extensions';

type Stored = { kind: 'data'; data: Uint8Array } | { kind: 'filemark' };

/**
 * A data-storing medium in memory, for unit tests: it keeps every block's bytes, counts syncs, and
 * can lose what was appended since the last sync (`loseUnsynced`), like a file without fdatasync.
 */
export class MemoryMedium implements MediumStore, FileNumberingMedium, PowerFailingMedium {
  readonly #info: MediumInfo;
  #objects: Stored[] = [];
  /** bytesBefore(i) for i in [0, objects.length]. */
  #prefix: number[] = [0];
  #durable: Stored[] = [];
  #syncs = 0;
  #closed = false;

  constructor(options: InMemoryMediumOptions) {
    validateInMemoryOptions('MemoryMedium', options);
    this.#info = Object.freeze({
      barcode: options.barcode,
      capacityBytes: options.capacityBytes,
      writeProtected: options.writeProtected ?? false,
      storesData: true,
    });
  }

  info(): MediumInfo {
    return this.#info;
  }

  get syncCount(): number {
    return this.#syncs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  objectCount(): number {
    return this.#objects.length;
  }

  objectAt(index: number): MediumObject | undefined {
    const o = this.#objects[index];
    if (!o) return undefined;
    return o.kind === 'data' ? { kind: 'data', length: o.data.length } : { kind: 'filemark' };
  }

  bytesBefore(index: number): number {
    const clamped = Math.min(Math.max(0, index), this.#objects.length);
    return this.#prefix[clamped]!;
  }

  filemarksBefore(index: number): number {
    let n = 0;
    const end = Math.min(index, this.#objects.length);
    for (let i = 0; i < end; i++) if (this.#objects[i]!.kind === 'filemark') n++;
    return n;
  }

  async readData(index: number): Promise<Uint8Array> {
    const o = this.#objects[index];
    if (o?.kind !== 'data')
      throw new RangeError(`MemoryMedium.readData: object ${index} is not a data block`);
    return o.data.slice();
  }

  async truncate(index: number): Promise<void> {
    this.#objects.length = Math.min(this.#objects.length, Math.max(0, index));
    this.#prefix.length = this.#objects.length + 1;
  }

  async append(objects: ReadonlyArray<AppendObject>): Promise<void> {
    for (const o of objects) {
      const stored: Stored =
        o.kind === 'filemark'
          ? { kind: 'filemark' }
          : { kind: 'data', data: o.data ? o.data.slice() : new Uint8Array(o.length) };
      if (stored.kind === 'data' && stored.data.length !== (o.kind === 'data' ? o.length : 0)) {
        throw new RangeError('MemoryMedium.append: data length differs from the object length');
      }
      this.#objects.push(stored);
      this.#prefix.push(this.#prefix.at(-1)! + (stored.kind === 'data' ? stored.data.length : 0));
    }
  }

  async sync(): Promise<void> {
    this.#durable = this.#objects.slice();
    this.#syncs++;
  }

  loseUnsynced(): void {
    this.#objects = this.#durable.slice();
    this.#prefix = [0];
    for (const o of this.#objects)
      this.#prefix.push(this.#prefix.at(-1)! + (o.kind === 'data' ? o.data.length : 0));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
