/**
 * The persistent side of a virtual cartridge: the ordered list of logical
 * objects (data blocks and filemarks) that have reached the medium, followed by
 * end of data. The drive model (buffer, timing, faults) sits in front of it and
 * only hands objects over when its buffer drains them to "the medium".
 *
 * Two implementations: the tgt SSC backing-store file (`TgtCartridgeFile`), and
 * `SyntheticMedium`, which keeps only block lengths in memory so a simulation
 * can write 100 TB in seconds.
 */

export type MediumObject = { kind: 'data'; length: number } | { kind: 'filemark' };

export type AppendObject =
  | { kind: 'data'; length: number; data?: Uint8Array | undefined }
  | { kind: 'filemark' };

export interface MediumInfo {
  barcode: string;
  /** Usable capacity in bytes of user data (the tgt header's size). */
  capacityBytes: number;
  writeProtected: boolean;
  /** Whether data bytes are stored (false for synthetic media: reads return zero-filled blocks). */
  storesData: boolean;
}

export interface MediumStore {
  info(): MediumInfo;
  /** Number of logical objects before end of data. */
  objectCount(): number;
  /** The object at `index` (0-based logical object number), or undefined at/after EOD. */
  objectAt(index: number): MediumObject | undefined;
  /** Bytes of user data held in objects [0, index). Used for early warning and capacity checks. */
  bytesBefore(index: number): number;
  /** Reads the data of the data block at `index`. */
  readData(index: number): Promise<Uint8Array>;
  /**
   * Makes `index` the end of data: objects at and after it are discarded (a write in the middle of
   * the tape erases what follows). `index` may equal `objectCount()` (no-op).
   */
  truncate(index: number): Promise<void>;
  /**
   * Appends objects at end of data. A data block carries its bytes, or only its `length` in
   * synthetic-payload mode (then a data-storing medium writes zeros). The store does not refer to
   * those bytes once the returned promise settles (it wrote or copied them): the drive reuses them.
   */
  append(objects: ReadonlyArray<AppendObject>): Promise<void>;
  /** Makes everything appended so far durable (fdatasync for files). */
  sync(): Promise<void>;
  close(): Promise<void>;
}
