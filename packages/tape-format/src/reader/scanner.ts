import type { TapeDevice } from '@tapedup/scsi';
import { ScsiError } from '@tapedup/scsi';
import { type DataBlockHeader, decodeDataHeader } from '../data-block';
import { blockTypeOf, decodeBlock } from '../decode-block';
import type { EmptyHeader } from '../empty-header';
import { TapeFormatError } from '../errors';
import type { FragmentEnd } from '../fragment-end';
import type { FragmentHeader, ImageStart } from '../fragment-header';
import type { ImageTrailer } from '../image-trailer';
import type { VolumeLabel } from '../volume-label';

/** Where a block or filemark is: logical object number from BOT and the tape file holding it. */
export interface TapeLocation {
  device: string;
  /** Filemarks between BOT and the object (the label is tape file 0). */
  tapeFile: number;
  /** Logical object number (SSC): blocks and filemarks counted from 0 at BOT. */
  blockNumber: number;
}

/**
 * What a sequential read of a medium meets, in tape order. Data blocks have their header checked but
 * not their payload: the consumer calls `checkDataPayload` for the blocks it cares about.
 */
export type ScanEvent =
  | { type: 'volume-label'; at: TapeLocation; label: VolumeLabel }
  | { type: 'fragment-header'; at: TapeLocation; header: FragmentHeader }
  | { type: 'image-start'; at: TapeLocation; start: ImageStart }
  | { type: 'data'; at: TapeLocation; header: DataBlockHeader; block: Uint8Array }
  | { type: 'image-trailer'; at: TapeLocation; trailer: ImageTrailer }
  | { type: 'fragment-end'; at: TapeLocation; end: FragmentEnd }
  | { type: 'empty-header'; at: TapeLocation; emptyHeader: EmptyHeader }
  | { type: 'bad-block'; at: TapeLocation; error: TapeFormatError }
  | { type: 'filemark'; at: TapeLocation }
  | { type: 'end-of-data'; at: TapeLocation };

export interface ScanOptions {
  /** Largest block to read; default the device's `maxBlockSize`. A longer block is reported as `OVERLENGTH_BLOCK`. */
  maxBlockSize?: number | undefined;
  /**
   * Start at this tape file instead of BOT (LOCATE to `blockNumber` when given and supported, otherwise
   * REWIND + SPACE filemarks). Without it the scan rewinds and starts with the label.
   */
  from?: { tapeFile: number; blockNumber?: number | undefined } | undefined;
}

/**
 * Reads a medium block by block from BOT (or `from`) to end of data, decoding every block.
 * The device must be open with a medium loaded; the scan moves the tape but does not open, close
 * or unload. Device failures reject (they are not format problems); format problems are events.
 * Memory: one block at a time.
 */
export async function* scanMedium(device: TapeDevice, options: ScanOptions = {}): AsyncGenerator<ScanEvent> {
  const maxLength = options.maxBlockSize ?? device.capabilities().maxBlockSize;
  let tapeFile = 0;
  let blockNumber = 0;
  if (options.from === undefined || options.from.tapeFile === 0) {
    await device.rewind();
  } else {
    const { tapeFile: file, blockNumber: target } = options.from;
    if (target !== undefined && device.capabilities().locate) {
      await device.locate(target);
    } else {
      await device.rewind();
      const spaced = await device.space('filemarks', file);
      if (spaced.spaced !== file) {
        // Fewer tape files than asked for: the space stopped at end of data.
        const position = await device.readPosition();
        yield {
          type: 'end-of-data',
          at: { device: device.name, tapeFile: spaced.spaced, blockNumber: position.blockNumber },
        };
        return;
      }
    }
    tapeFile = file;
    blockNumber = (await device.readPosition()).blockNumber;
  }
  for (;;) {
    const at: TapeLocation = { device: device.name, tapeFile, blockNumber };
    let result: Awaited<ReturnType<TapeDevice['readBlock']>>;
    try {
      result = await device.readBlock(maxLength);
    } catch (error) {
      // A blank medium or reading into unwritten tape is the end of what there is to read.
      if (
        error instanceof ScsiError &&
        (error.category === 'blank-check' || error.category === 'end-of-data')
      ) {
        yield { type: 'end-of-data', at };
        return;
      }
      throw error;
    }
    if (result.kind === 'end-of-data') {
      yield { type: 'end-of-data', at };
      return;
    }
    blockNumber += 1;
    if (result.kind === 'filemark') {
      yield { type: 'filemark', at };
      tapeFile += 1;
      continue;
    }
    if (result.overlength) {
      const error = new TapeFormatError(
        'OVERLENGTH_BLOCK',
        `block of ${result.blockLength} bytes is longer than the reader's ${maxLength}`,
        { field: 'maxBlockSize' },
      ).at(at);
      yield { type: 'bad-block', at, error };
      continue;
    }
    yield decodeAt(result.data, at);
  }
}

function decodeAt(data: Uint8Array, at: TapeLocation): ScanEvent {
  try {
    if (blockTypeOf(data) === 'data')
      return { type: 'data', at, header: decodeDataHeader(data), block: data };
    const decoded = decodeBlock(data);
    switch (decoded.type) {
      case 'volume-label':
        return { type: 'volume-label', at, label: decoded.label };
      case 'fragment-header':
        return { type: 'fragment-header', at, header: decoded.header };
      case 'image-start':
        return { type: 'image-start', at, start: decoded.start };
      case 'image-trailer':
        return { type: 'image-trailer', at, trailer: decoded.trailer };
      case 'fragment-end':
        return { type: 'fragment-end', at, end: decoded.end };
      case 'empty-header':
        return { type: 'empty-header', at, emptyHeader: decoded.emptyHeader };
      case 'data':
        // Unreachable: data blocks are decoded above without their payload check.
        return { type: 'data', at, header: decoded.block, block: data };
    }
  } catch (error) {
    if (error instanceof TapeFormatError) return { type: 'bad-block', at, error: error.at(at) };
    throw error;
  }
}
