import type {
  DriveIdentity,
  ReadResult,
  SpaceResult,
  SpaceUnit,
  TapeDevice,
  TapeDeviceCapabilities,
  TapePosition,
  WriteFilemarksOptions,
  WriteResult,
} from '@tapedup/scsi';
import { ScsiError, SenseKey, UnsupportedOperationError } from '@tapedup/scsi';

/** One logical object on the in-memory medium. */
export type MemoryObject = { kind: 'data'; data: Uint8Array } | { kind: 'filemark' };

export interface MemoryTapeOptions {
  name?: string;
  /** Largest block the device accepts; default 1 MiB + 64. */
  maxBlockSize?: number;
  /** Writes that leave the tape holding at least this many objects report early warning. */
  earlyWarningAt?: number;
  /** Writes beyond this many objects fail with VOLUME OVERFLOW. */
  capacityObjects?: number;
}

/**
 * A minimal in-memory {@link TapeDevice} for tests: a list of blocks and filemarks and a head
 * position. Writing anywhere truncates what follows (as tape does). No buffer, no timing, no
 * append-only mode. `objects` is public so tests can inspect and damage the medium.
 */
export class MemoryTape implements TapeDevice {
  readonly name: string;
  objects: MemoryObject[] = [];
  position = 0;
  private opened = false;
  private readonly caps: TapeDeviceCapabilities;
  private readonly earlyWarningAt: number;
  private readonly capacityObjects: number;

  constructor(options: MemoryTapeOptions = {}) {
    this.name = options.name ?? 'memory:tape';
    this.earlyWarningAt = options.earlyWarningAt ?? Number.POSITIVE_INFINITY;
    this.capacityObjects = options.capacityObjects ?? Number.POSITIVE_INFINITY;
    this.caps = {
      immediateFilemarks: true,
      readPosition: true,
      bufferedCounts: false,
      locate: true,
      spaceToEndOfData: true,
      appendOnly: false,
      allowOverwrite: false,
      earlyWarning: Number.isFinite(this.earlyWarningAt),
      maxBlockSize: options.maxBlockSize ?? 1024 * 1024 + 64,
      minBlockSize: 1,
    };
  }

  async open(): Promise<void> {
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  async inquiry(): Promise<DriveIdentity> {
    return {
      peripheralDeviceType: 1,
      vendor: 'TAPEDUP',
      product: 'MEMORY TAPE',
      revision: '0001',
      serial: this.name,
    };
  }

  capabilities(): TapeDeviceCapabilities {
    if (!this.opened)
      throw new ScsiError(`${this.name} is not open`, { code: 'NOT_OPEN', category: 'not-ready' });
    return this.caps;
  }

  async testUnitReady(): Promise<void> {}

  async writeBlock(data: Uint8Array): Promise<WriteResult> {
    if (data.length > this.caps.maxBlockSize || data.length < this.caps.minBlockSize) {
      throw new ScsiError(`block of ${data.length} bytes outside the block limits`, {
        senseKey: SenseKey.ILLEGAL_REQUEST,
        asc: 0x24,
      });
    }
    return this.put({ kind: 'data', data: data.slice() });
  }

  async writeFilemarks(count: number, _options: WriteFilemarksOptions): Promise<WriteResult> {
    let result: WriteResult = { earlyWarning: this.objects.length >= this.earlyWarningAt };
    for (let i = 0; i < count; i++) result = this.put({ kind: 'filemark' });
    return result;
  }

  private put(object: MemoryObject): WriteResult {
    if (this.position >= this.capacityObjects) {
      throw new ScsiError('end of medium', {
        senseKey: SenseKey.VOLUME_OVERFLOW,
        asc: 0x00,
        ascq: 0x02,
        eom: true,
      });
    }
    this.objects.length = this.position;
    this.objects.push(object);
    this.position += 1;
    return { earlyWarning: this.objects.length >= this.earlyWarningAt };
  }

  async readBlock(maxLength: number): Promise<ReadResult> {
    if (this.objects.length === 0) {
      throw new ScsiError('blank medium', { senseKey: SenseKey.BLANK_CHECK, asc: 0x00, ascq: 0x05 });
    }
    const object = this.objects[this.position];
    if (object === undefined) return { kind: 'end-of-data' };
    this.position += 1;
    if (object.kind === 'filemark') return { kind: 'filemark' };
    const overlength = object.data.length > maxLength;
    return {
      kind: 'data',
      data: overlength ? object.data.slice(0, maxLength) : object.data.slice(),
      overlength,
      blockLength: object.data.length,
    };
  }

  async space(unit: SpaceUnit, count: number): Promise<SpaceResult> {
    if (unit === 'end-of-data') {
      const spaced = this.objects.length - this.position;
      this.position = this.objects.length;
      return { spaced };
    }
    const step = count < 0 ? -1 : 1;
    let spaced = 0;
    while (spaced < Math.abs(count)) {
      if (step > 0 && this.position >= this.objects.length) return { spaced, stoppedAt: 'end-of-data' };
      if (step < 0 && this.position === 0) return { spaced, stoppedAt: 'bot' };
      const index = step > 0 ? this.position : this.position - 1;
      const object = this.objects[index]!;
      this.position += step;
      if (object.kind === 'filemark') {
        if (unit === 'blocks') return { spaced, stoppedAt: 'filemark' };
        spaced += 1;
      } else if (unit === 'blocks') {
        spaced += 1;
      }
    }
    return { spaced };
  }

  async locate(blockNumber: number): Promise<void> {
    if (blockNumber > this.objects.length) {
      throw new ScsiError(`locate beyond end of data (${blockNumber})`, {
        senseKey: SenseKey.BLANK_CHECK,
        asc: 0x00,
        ascq: 0x05,
      });
    }
    this.position = blockNumber;
  }

  async readPosition(): Promise<TapePosition> {
    const fileNumber = this.objects.slice(0, this.position).filter((o) => o.kind === 'filemark').length;
    return {
      partition: 0,
      blockNumber: this.position,
      fileNumber,
      bop: this.position === 0,
      eop: this.objects.length >= this.earlyWarningAt,
    };
  }

  async rewind(): Promise<void> {
    this.position = 0;
  }

  async load(): Promise<void> {
    this.position = 0;
  }

  async unload(): Promise<void> {
    this.position = 0;
  }

  async setAppendOnly(_enabled: boolean): Promise<void> {
    throw new UnsupportedOperationError('append-only mode', this.name);
  }

  async allowOverwrite(_blockNumber: number): Promise<void> {
    throw new UnsupportedOperationError('ALLOW OVERWRITE', this.name);
  }
}
