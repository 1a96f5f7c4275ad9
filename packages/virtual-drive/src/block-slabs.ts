/**
 * Where the drive keeps its copies of the host's blocks until they reach the medium store: large
 * slabs reused in turn, instead of one fresh buffer per block. A fresh buffer per block made the
 * garbage collector, not the copy, the main cost of a fast write stream (every block a new external
 * allocation to track and free); slabs make the copy a plain memcpy into memory already mapped.
 *
 * A slab is reused only once every copy in it was released (the store holds those blocks and,
 * by the `MediumStore.append` contract, no longer refers to the bytes). A copy that is never
 * released (its data was dropped: power loss, a deferred error) only keeps its slab out of reuse;
 * the slab is then garbage once nothing refers to it.
 */
export interface Slab {
  readonly bytes: Uint8Array;
  /** Bytes handed out from the start of the slab. */
  used: number;
  /** Copies handed out and not released. */
  live: number;
}

export interface BlockCopy {
  readonly data: Uint8Array;
  /** The slab holding `data`; undefined for a block too large for slabs (a plain copy). */
  readonly slab: Slab | undefined;
}

export class BlockSlabs {
  #current: Slab | undefined;
  #free: Slab[] = [];

  constructor(
    /** Bytes per slab. */
    readonly slabBytes = 4 * 1024 * 1024,
    /** Empty slabs kept for reuse; more are left to the garbage collector. */
    readonly keepFree = 2,
  ) {
    if (!Number.isSafeInteger(slabBytes) || slabBytes < 1) {
      throw new RangeError(`BlockSlabs option "slabBytes" must be a positive integer, got ${slabBytes}`);
    }
    if (!Number.isSafeInteger(keepFree) || keepFree < 0) {
      throw new RangeError(`BlockSlabs option "keepFree" must be a non-negative integer, got ${keepFree}`);
    }
  }

  /** Slabs kept empty for reuse (for tests and diagnostics). */
  get freeSlabs(): number {
    return this.#free.length;
  }

  /** A copy of `data` the caller may keep until it calls {@link release}. */
  copy(data: Uint8Array): BlockCopy {
    // Large blocks would waste most of a slab: those get a buffer of their own.
    if (data.length > this.slabBytes / 4) return { data: data.slice(), slab: undefined };
    let slab = this.#current;
    if (slab === undefined || slab.used + data.length > slab.bytes.length) {
      if (slab !== undefined) this.#retire(slab);
      slab = this.#free.pop() ?? { bytes: new Uint8Array(this.slabBytes), used: 0, live: 0 };
      this.#current = slab;
    }
    const view = slab.bytes.subarray(slab.used, slab.used + data.length);
    view.set(data);
    slab.used += data.length;
    slab.live += 1;
    return { data: view, slab };
  }

  /** The copy's bytes are no longer referred to; its slab is reused once all its copies are. */
  release(slab: Slab | undefined): void {
    if (slab === undefined || slab.live === 0) return;
    slab.live -= 1;
    if (slab.live > 0) return;
    if (slab === this.#current) slab.used = 0;
    else this.#recycle(slab);
  }

  /** The current slab is full: it becomes reusable when its last copy is released. */
  #retire(slab: Slab): void {
    this.#current = undefined;
    if (slab.live === 0) this.#recycle(slab);
  }

  #recycle(slab: Slab): void {
    slab.used = 0;
    if (this.#free.length < this.keepFree && !this.#free.includes(slab)) this.#free.push(slab);
  }
}
