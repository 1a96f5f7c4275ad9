import { BLOCK_HEADER_SIZE } from './tgt-format';

const FILEMARK = 1;

/**
 * In-memory index of a cartridge's logical objects: 9 bytes per object (a header offset in a
 * Float64Array, exact up to 2^53, and a kind byte), so ten million blocks take about 90 MB and no
 * per-block JavaScript object exists.
 *
 * Because tgt stores blocks densely (each header is followed by exactly its data), the offsets alone
 * give every length and every running byte count: object `i` holds `offset[i+1] - offset[i] - 48`
 * bytes and the data before it is `offset[i] - offset[0] - 48 * i`. `offset[count]` is the EOD header.
 */
export class ObjectIndex {
  private offsets: Float64Array;
  private kinds: Uint8Array;
  private n = 0;
  /** Indices of the filemarks, ascending: file numbers by binary search, memory per filemark only. */
  private marks = new Float64Array(64);
  private markCount = 0;

  constructor(firstOffset: number, initialCapacity = 1024) {
    this.offsets = new Float64Array(initialCapacity + 1);
    this.kinds = new Uint8Array(initialCapacity);
    this.offsets[0] = firstOffset;
  }

  get count(): number {
    return this.n;
  }

  /** Offset of the header of object `index`; `index === count` gives the EOD header's offset. */
  offsetOf(index: number): number {
    return this.offsets[index] as number;
  }

  get eodOffset(): number {
    return this.offsets[this.n] as number;
  }

  isFilemark(index: number): boolean {
    return this.kinds[index] === FILEMARK;
  }

  /** Stored data bytes of object `index` (0 for a filemark). */
  lengthOf(index: number): number {
    return (this.offsets[index + 1] as number) - (this.offsets[index] as number) - BLOCK_HEADER_SIZE;
  }

  /** User data bytes in objects [0, index). */
  bytesBefore(index: number): number {
    return (this.offsets[index] as number) - (this.offsets[0] as number) - BLOCK_HEADER_SIZE * index;
  }

  /** Filemarks among objects [0, index). */
  filemarksBefore(index: number): number {
    let low = 0;
    let high = this.markCount;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.marks[mid] as number) < index) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Adds an object at the current EOD; the EOD moves past its header and data. */
  push(filemark: boolean, length: number): void {
    if (this.n === this.kinds.length) this.grow();
    if (filemark) {
      if (this.markCount === this.marks.length) {
        const marks = new Float64Array(this.marks.length * 2);
        marks.set(this.marks);
        this.marks = marks;
      }
      this.marks[this.markCount] = this.n;
      this.markCount += 1;
    }
    this.kinds[this.n] = filemark ? FILEMARK : 0;
    this.offsets[this.n + 1] = (this.offsets[this.n] as number) + BLOCK_HEADER_SIZE + length;
    this.n += 1;
  }

  /** Drops objects at and after `index`; the EOD moves to object `index`'s offset. */
  truncate(index: number): void {
    this.markCount = this.filemarksBefore(index);
    this.n = index;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.kinds.length * 2);
    const offsets = new Float64Array(capacity + 1);
    offsets.set(this.offsets);
    const kinds = new Uint8Array(capacity);
    kinds.set(this.kinds);
    this.offsets = offsets;
    this.kinds = kinds;
  }
}
