import { ByteWriter, bytesToUuid, checkInteger, utf8Length, uuidToBytes } from './bytes';
import { MAX_BARCODE_BYTES, MAX_POOL_BYTES, Magic } from './constants';
import { closeRecord, encodeRecord, openRecord } from './envelope';
import { TapeFormatError } from './errors';

/** The first block of a medium (tape file 0). */
export interface VolumeLabel {
  /** UUID that identifies this labelling of the medium; fragment headers and EHs repeat it. */
  labelId: string;
  /** Cartridge barcode, 1..32 bytes of UTF-8. */
  barcode: string;
  /** Volume pool the medium belongs to, 0..255 bytes of UTF-8. */
  pool: string;
  /** When the medium was labelled, milliseconds since the Unix epoch. */
  createdAt: number;
}

export function checkText(value: string, field: string, min: number, max: number): void {
  const length = utf8Length(value);
  if (length < min || length > max) {
    throw new TapeFormatError(
      'INVALID_ARGUMENT',
      `${field} must be ${min}..${max} bytes of UTF-8, got ${length}`,
      {
        field,
      },
    );
  }
}

export function encodeVolumeLabel(label: VolumeLabel): Uint8Array {
  checkText(label.barcode, 'barcode', 1, MAX_BARCODE_BYTES);
  checkText(label.pool, 'pool', 0, MAX_POOL_BYTES);
  checkInteger(label.createdAt, 'createdAt', 0, Number.MAX_SAFE_INTEGER);
  const body = new ByteWriter()
    .bytes(uuidToBytes(label.labelId, 'labelId'))
    .u64(label.createdAt)
    .string(label.barcode)
    .string(label.pool)
    .finish();
  return encodeRecord(Magic.volumeLabel, body);
}

export function decodeVolumeLabel(block: Uint8Array): VolumeLabel {
  const r = openRecord(block, Magic.volumeLabel);
  const labelId = bytesToUuid(r.bytes(16, 'labelId'));
  const createdAt = r.u64('createdAt');
  const barcode = r.string('barcode', MAX_BARCODE_BYTES);
  const pool = r.string('pool', MAX_POOL_BYTES);
  closeRecord(r, Magic.volumeLabel);
  return { labelId, barcode, pool, createdAt };
}
