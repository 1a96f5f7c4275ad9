/**
 * Sense data decoding (SPC-4 "Sense data"): fixed format (response codes 70h current, 71h
 * deferred) and descriptor format (72h current, 73h deferred). Never throws: any byte string,
 * however short or malformed, yields a typed result.
 */
import { bit, byteAt, getU64, getUint, toSafeNumber } from './bytes';
import { SenseKey } from './errors';

export type SenseFormat = 'fixed' | 'descriptor';

/** Sense-key-specific information (SPC-4), decoded according to the sense key. */
export type SenseKeySpecific =
  | {
      kind: 'field-pointer';
      /** C/D: true when the field is in the CDB, false when in the parameter list. */
      inCdb: boolean;
      /** Byte of the offending field. */
      fieldPointer: number;
      /** Bit of the offending field, when BPV was set. */
      bitPointer?: number | undefined;
    }
  | { kind: 'progress' /** Fraction done, 0..65535 of 65536. */; progress: number; percent: number }
  | { kind: 'retry-count'; actualRetryCount: number }
  | {
      kind: 'segment-pointer';
      segmentDescriptor: boolean;
      fieldPointer: number;
      bitPointer?: number | undefined;
    }
  | { kind: 'unit-attention-queue'; overflow: boolean }
  | { kind: 'raw'; bytes: Uint8Array };

/** One sense data descriptor of descriptor-format sense data. */
export type SenseDescriptor =
  | { type: 0x00; kind: 'information'; valid: boolean; information: bigint }
  | { type: 0x01; kind: 'command-specific'; commandSpecificInformation: bigint }
  | { type: 0x02; kind: 'sense-key-specific'; sksv: boolean; bytes: Uint8Array }
  | { type: 0x03; kind: 'field-replaceable-unit'; fieldReplaceableUnitCode: number }
  | { type: 0x04; kind: 'stream-commands'; filemark: boolean; eom: boolean; ili: boolean }
  | { type: 0x05; kind: 'block-commands'; ili: boolean }
  | { type: number; kind: 'other'; bytes: Uint8Array };

export interface DecodedSense {
  format: SenseFormat;
  /** 70h, 71h, 72h or 73h. */
  responseCode: number;
  /** Response code 71h/73h: the error belongs to an earlier command whose data was buffered. */
  deferred: boolean;
  senseKey: number;
  senseKeyName: string;
  asc: number;
  ascq: number;
  /** FILEMARK bit (fixed byte 2, or the stream commands descriptor). */
  filemark: boolean;
  /** EOM bit: end of medium or early warning. */
  eom: boolean;
  /** ILI bit: the block length differed from the requested length. */
  ili: boolean;
  /**
   * Fixed format: the VALID bit (INFORMATION holds a meaningful value). Descriptor format: an
   * information descriptor with its VALID bit set was present.
   */
  informationValid: boolean;
  /**
   * The INFORMATION field as a signed value (the residue of READ/WRITE/SPACE can be negative:
   * fixed format holds a 32-bit two's-complement value, the information descriptor 64 bits).
   * Present only when `informationValid`; `undefined` when a 64-bit value exceeds 2^53.
   */
  information?: number | undefined;
  /** The raw, unsigned INFORMATION field as sent (4 bytes fixed, 8 bytes descriptor), when valid. */
  informationRaw?: bigint | undefined;
  /** COMMAND-SPECIFIC INFORMATION, when the device sent it. */
  commandSpecificInformation?: bigint | undefined;
  fieldReplaceableUnitCode?: number | undefined;
  /** Sense-key-specific bytes, when SKSV was set. */
  senseKeySpecific?: SenseKeySpecific | undefined;
  /** SDAT_OVFL: the device had more sense data than fit. */
  senseDataOverflow: boolean;
  /** ADDITIONAL SENSE LENGTH as sent (byte 7). */
  additionalSenseLength: number;
  /** The buffer ended before the ADDITIONAL SENSE LENGTH (or a descriptor length) said it would. */
  truncated: boolean;
  /** Descriptor format: every descriptor, in order, including ones this decoder does not know. */
  descriptors: SenseDescriptor[];
}

export type SenseDecodeFailure = 'EMPTY' | 'TOO_SHORT' | 'UNSUPPORTED_RESPONSE_CODE';

export type SenseDecodeResult =
  | { ok: true; sense: DecodedSense }
  | {
      ok: false;
      reason: SenseDecodeFailure;
      responseCode?: number | undefined;
      length: number;
      message: string;
    };

const SENSE_KEY_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SenseKey).map(([name, value]) => [value, name]),
);

/** `MEDIUM_ERROR` for 3, `RESERVED_0C` for the reserved key 0Ch. */
export function senseKeyName(senseKey: number): string {
  return SENSE_KEY_NAMES[senseKey] ?? `RESERVED_${senseKey.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * Decodes sense data. Extra bytes past ADDITIONAL SENSE LENGTH are ignored; a buffer shorter than
 * the length it announces is decoded as far as it goes and flagged `truncated`.
 */
export function decodeSense(bytes: Uint8Array): SenseDecodeResult {
  const length = bytes.length;
  if (length === 0) return { ok: false, reason: 'EMPTY', length, message: 'no sense data' };
  const responseCode = byteAt(bytes, 0) & 0x7f;
  if (responseCode === 0x70 || responseCode === 0x71) {
    // Byte 2 carries the sense key; anything shorter cannot say what happened.
    if (length < 3) return tooShort(responseCode, length, 3);
    return { ok: true, sense: decodeFixed(bytes, responseCode) };
  }
  if (responseCode === 0x72 || responseCode === 0x73) {
    if (length < 2) return tooShort(responseCode, length, 2);
    return { ok: true, sense: decodeDescriptor(bytes, responseCode) };
  }
  return {
    ok: false,
    reason: 'UNSUPPORTED_RESPONSE_CODE',
    responseCode,
    length,
    message: `response code 0x${responseCode.toString(16)} is neither fixed (70h/71h) nor descriptor (72h/73h) sense`,
  };
}

function tooShort(responseCode: number, length: number, needed: number): SenseDecodeResult {
  return {
    ok: false,
    reason: 'TOO_SHORT',
    responseCode,
    length,
    message: `${length} byte(s) of sense data; at least ${needed} are needed to read the sense key`,
  };
}

function decodeFixed(bytes: Uint8Array, responseCode: number): DecodedSense {
  const byte2 = byteAt(bytes, 2);
  const additionalSenseLength = byteAt(bytes, 7);
  const announced = 8 + additionalSenseLength;
  // A device may omit byte 7 entirely (very short buffers); then decode what is there.
  const end = bytes.length >= 8 ? Math.min(bytes.length, announced) : bytes.length;
  const truncated = bytes.length < 8 || bytes.length < announced;
  const has = (offset: number, size: number): boolean => offset + size <= end;

  const senseKey = byte2 & 0x0f;
  const informationValid = bit(byteAt(bytes, 0), 7) && has(3, 4);
  const sense: DecodedSense = {
    format: 'fixed',
    responseCode,
    deferred: responseCode === 0x71,
    senseKey,
    senseKeyName: senseKeyName(senseKey),
    asc: has(12, 1) ? byteAt(bytes, 12) : 0,
    ascq: has(13, 1) ? byteAt(bytes, 13) : 0,
    filemark: bit(byte2, 7),
    eom: bit(byte2, 6),
    ili: bit(byte2, 5),
    informationValid,
    senseDataOverflow: bit(byte2, 4),
    additionalSenseLength,
    truncated,
    descriptors: [],
  };
  if (informationValid) {
    const raw = getUint(bytes, 3, 4);
    sense.informationRaw = BigInt(raw);
    sense.information = raw | 0; // signed 32-bit residue
  }
  if (has(8, 4)) {
    const csi = getUint(bytes, 8, 4);
    if (csi !== 0) sense.commandSpecificInformation = BigInt(csi);
  }
  if (has(14, 1) && byteAt(bytes, 14) !== 0) sense.fieldReplaceableUnitCode = byteAt(bytes, 14);
  if (has(15, 3) && bit(byteAt(bytes, 15), 7)) {
    sense.senseKeySpecific = decodeSenseKeySpecific(senseKey, bytes.subarray(15, 18));
  }
  return sense;
}

function decodeDescriptor(bytes: Uint8Array, responseCode: number): DecodedSense {
  const additionalSenseLength = byteAt(bytes, 7);
  const announced = 8 + additionalSenseLength;
  const end = bytes.length >= 8 ? Math.min(bytes.length, announced) : bytes.length;
  let truncated = bytes.length < 8 || bytes.length < announced;
  const senseKey = byteAt(bytes, 1) & 0x0f;
  const sense: DecodedSense = {
    format: 'descriptor',
    responseCode,
    deferred: responseCode === 0x73,
    senseKey,
    senseKeyName: senseKeyName(senseKey),
    asc: bytes.length > 2 ? byteAt(bytes, 2) : 0,
    ascq: bytes.length > 3 ? byteAt(bytes, 3) : 0,
    filemark: false,
    eom: false,
    ili: false,
    informationValid: false,
    senseDataOverflow: bit(byteAt(bytes, 4), 7),
    additionalSenseLength,
    truncated: false,
    descriptors: [],
  };

  let offset = 8;
  while (offset + 2 <= end) {
    const type = byteAt(bytes, offset);
    const total = 2 + byteAt(bytes, offset + 1);
    if (offset + total > end) {
      truncated = true;
      break;
    }
    const d = bytes.subarray(offset, offset + total);
    const descriptor = decodeOneDescriptor(type, d);
    sense.descriptors.push(descriptor);
    applyDescriptor(sense, descriptor);
    offset += total;
  }
  // A lone byte left over is a descriptor header cut in half.
  if (offset < end) truncated = true;
  sense.truncated = truncated;
  return sense;
}

function decodeOneDescriptor(type: number, d: Uint8Array): SenseDescriptor {
  // Each known descriptor has a fixed ADDITIONAL LENGTH; a shorter one is kept raw, not misread.
  switch (type) {
    case 0x00:
      if (d.length >= 12)
        return { type, kind: 'information', valid: bit(byteAt(d, 2), 7), information: getU64(d, 4) };
      break;
    case 0x01:
      if (d.length >= 12) return { type, kind: 'command-specific', commandSpecificInformation: getU64(d, 4) };
      break;
    case 0x02:
      if (d.length >= 7)
        return { type, kind: 'sense-key-specific', sksv: bit(byteAt(d, 4), 7), bytes: d.slice(4, 7) };
      break;
    case 0x03:
      if (d.length >= 4)
        return { type, kind: 'field-replaceable-unit', fieldReplaceableUnitCode: byteAt(d, 3) };
      break;
    case 0x04:
      if (d.length >= 4) {
        const b = byteAt(d, 3);
        return { type, kind: 'stream-commands', filemark: bit(b, 7), eom: bit(b, 6), ili: bit(b, 5) };
      }
      break;
    case 0x05:
      if (d.length >= 4) return { type, kind: 'block-commands', ili: bit(byteAt(d, 3), 5) };
      break;
  }
  return { type, kind: 'other', bytes: d.slice() };
}

function applyDescriptor(sense: DecodedSense, descriptor: SenseDescriptor): void {
  switch (descriptor.kind) {
    case 'information':
      if (descriptor.valid) {
        sense.informationValid = true;
        sense.informationRaw = descriptor.information;
        sense.information = toSafeNumber(BigInt.asIntN(64, descriptor.information));
      }
      break;
    case 'command-specific':
      sense.commandSpecificInformation = descriptor.commandSpecificInformation;
      break;
    case 'sense-key-specific':
      if (descriptor.sksv) sense.senseKeySpecific = decodeSenseKeySpecific(sense.senseKey, descriptor.bytes);
      break;
    case 'field-replaceable-unit':
      sense.fieldReplaceableUnitCode = descriptor.fieldReplaceableUnitCode;
      break;
    case 'stream-commands':
      sense.filemark = descriptor.filemark;
      sense.eom = descriptor.eom;
      sense.ili = sense.ili || descriptor.ili;
      break;
    case 'block-commands':
      sense.ili = sense.ili || descriptor.ili;
      break;
    default:
      break;
  }
}

/** Decodes the three sense-key-specific bytes (SKSV is bit 7 of the first) for `senseKey`. */
export function decodeSenseKeySpecific(senseKey: number, sks: Uint8Array): SenseKeySpecific {
  const b0 = byteAt(sks, 0);
  const value = getUint(sks, 1, 2);
  switch (senseKey) {
    case SenseKey.ILLEGAL_REQUEST:
      return {
        kind: 'field-pointer',
        inCdb: bit(b0, 6),
        fieldPointer: value,
        bitPointer: bit(b0, 3) ? b0 & 0x07 : undefined,
      };
    case SenseKey.NO_SENSE:
    case SenseKey.NOT_READY:
      return { kind: 'progress', progress: value, percent: Math.floor((value * 10000) / 65536) / 100 };
    case SenseKey.RECOVERED_ERROR:
    case SenseKey.MEDIUM_ERROR:
    case SenseKey.HARDWARE_ERROR:
      return { kind: 'retry-count', actualRetryCount: value };
    case SenseKey.COPY_ABORTED:
      return {
        kind: 'segment-pointer',
        segmentDescriptor: bit(b0, 5),
        fieldPointer: value,
        bitPointer: bit(b0, 3) ? b0 & 0x07 : undefined,
      };
    case SenseKey.UNIT_ATTENTION:
      return { kind: 'unit-attention-queue', overflow: bit(b0, 0) };
    default:
      return { kind: 'raw', bytes: sks.slice(0, 3) };
  }
}
