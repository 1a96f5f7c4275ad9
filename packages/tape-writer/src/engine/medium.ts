/**
 * Getting a cartridge ready to write: mount it, label it when blank or check its label, and put the
 * tape at a given position with whatever the drive supports (LOCATE, or REWIND + SPACE).
 */
import { ScsiError, type TapeDevice } from '@tapedup/scsi';
import { decodeVolumeLabel, encodeVolumeLabel, isTapeFormatError } from '@tapedup/tape-format';
import { WriterError } from './errors';

/**
 * Puts a cartridge into the writer's drive. Virtual libraries move a cartridge file into the drive;
 * a real standalone drive can only confirm what is loaded.
 */
export interface MediaChanger {
  /** Makes `barcode` the loaded, ready cartridge (unloading any other). Returns its pool. */
  mount(barcode: string): Promise<{ pool: string }>;
}

/** A position after a filemark: the start of tape file `fileNumber`, at logical object `blockNumber`. */
export interface FilePosition {
  fileNumber: number;
  blockNumber: number;
}

/** Tape file 1 starts after the label block and its filemark. */
export const DATA_START: FilePosition = Object.freeze({ fileNumber: 1, blockNumber: 2 });

export interface PreparedMedium {
  barcode: string;
  pool: string;
  labelId: string;
  /** The label was written now (the medium was blank). */
  labelled: boolean;
}

export interface PrepareOptions {
  barcode: string;
  pool: string;
  newLabelId: () => string;
  now: () => number;
  maxBlockSize: number;
}

function isBlank(error: unknown): boolean {
  return error instanceof ScsiError && (error.category === 'blank-check' || error.category === 'end-of-data');
}

/**
 * Reads the label of the loaded cartridge, or labels it when it is blank (label block, then a
 * synchronous filemark so the label is on the medium before any data). Leaves the tape at
 * {@link DATA_START}. Throws `LABEL_MISMATCH` when the label names another barcode and
 * `FOREIGN_MEDIUM` when the first block is not a tapedup label.
 */
export async function prepareMedium(device: TapeDevice, options: PrepareOptions): Promise<PreparedMedium> {
  await device.rewind();
  let first: Awaited<ReturnType<TapeDevice['readBlock']>> | undefined;
  try {
    first = await device.readBlock(options.maxBlockSize);
  } catch (error) {
    if (!isBlank(error)) throw error;
  }
  if (first === undefined || first.kind === 'end-of-data') {
    await device.rewind();
    const labelId = options.newLabelId();
    await device.writeBlock(
      encodeVolumeLabel({ labelId, barcode: options.barcode, pool: options.pool, createdAt: options.now() }),
    );
    await device.writeFilemarks(1, { immediate: false });
    return { barcode: options.barcode, pool: options.pool, labelId, labelled: true };
  }
  if (first.kind !== 'data') {
    throw new WriterError('FOREIGN_MEDIUM', `${options.barcode}: tape file 0 holds no volume label`, {
      retryable: false,
    });
  }
  let label: ReturnType<typeof decodeVolumeLabel>;
  try {
    label = decodeVolumeLabel(first.data);
  } catch (cause) {
    if (!isTapeFormatError(cause)) throw cause;
    throw new WriterError('FOREIGN_MEDIUM', `${options.barcode}: first block is not a tapedup volume label`, {
      retryable: false,
      cause,
    });
  }
  if (label.barcode !== options.barcode) {
    throw new WriterError(
      'LABEL_MISMATCH',
      `the cartridge mounted as ${options.barcode} is labelled ${label.barcode}`,
      { retryable: false },
    );
  }
  const after = await device.readBlock(options.maxBlockSize);
  if (after.kind === 'end-of-data') {
    // The label made it but its filemark did not: finish the label file.
    await device.writeFilemarks(1, { immediate: false });
  } else if (after.kind !== 'filemark') {
    throw new WriterError(
      'FOREIGN_MEDIUM',
      `${options.barcode}: the volume label is not followed by a filemark`,
      {
        retryable: false,
      },
    );
  }
  return { barcode: options.barcode, pool: label.pool, labelId: label.labelId, labelled: false };
}

/**
 * Positions at the start of tape file `target.fileNumber` (logical object `target.blockNumber`):
 * LOCATE when the drive has it, else REWIND + SPACE filemarks. Checks the position read back.
 */
export async function positionAt(device: TapeDevice, target: FilePosition): Promise<void> {
  if (device.capabilities().locate) {
    await device.locate(target.blockNumber);
  } else {
    await device.rewind();
    if (target.fileNumber > 0) {
      const spaced = await device.space('filemarks', target.fileNumber);
      if (spaced.spaced !== target.fileNumber) {
        throw new WriterError(
          'POSITION_UNKNOWN',
          `tape file ${target.fileNumber} does not exist (${spaced.spaced} filemarks on the medium)`,
        );
      }
    }
  }
  const position = await device.readPosition();
  if (position.blockNumber !== target.blockNumber) {
    throw new WriterError(
      'POSITION_MISMATCH',
      `positioned for object ${target.blockNumber}, the drive reports ${position.blockNumber}`,
    );
  }
}

/** Largest SPACE count (24-bit signed field). */
const MAX_SPACE = 0x7fffff;

/**
 * Positions just after the last filemark on the medium (the start of whatever partial tape file
 * follows it, which is then overwritten) and returns where that is. Counts the filemarks itself, so
 * it works on drives whose READ POSITION says nothing useful.
 */
export async function positionAfterLastFilemark(device: TapeDevice): Promise<FilePosition> {
  await device.rewind();
  const forward = await device.space('filemarks', MAX_SPACE);
  if (forward.spaced === 0) {
    throw new WriterError('POSITION_UNKNOWN', 'the medium holds no filemark, not even after its label');
  }
  await device.space('filemarks', -1);
  await device.space('filemarks', 1);
  const position = await device.readPosition();
  return { fileNumber: forward.spaced, blockNumber: position.blockNumber };
}
