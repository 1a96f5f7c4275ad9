/**
 * SCSI errors as machine-readable values. Every failure a {@link TapeDevice}
 * raises is a `ScsiError` (or a subclass): callers branch on `category`,
 * `retryable` and `deferred`, never on the message text.
 */

/** SPC-4 sense keys (table 28). */
export const SenseKey = {
  NO_SENSE: 0x0,
  RECOVERED_ERROR: 0x1,
  NOT_READY: 0x2,
  MEDIUM_ERROR: 0x3,
  HARDWARE_ERROR: 0x4,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
  DATA_PROTECT: 0x7,
  BLANK_CHECK: 0x8,
  VENDOR_SPECIFIC: 0x9,
  COPY_ABORTED: 0xa,
  ABORTED_COMMAND: 0xb,
  VOLUME_OVERFLOW: 0xd,
  MISCOMPARE: 0xe,
  COMPLETED: 0xf,
} as const;
export type SenseKey = (typeof SenseKey)[keyof typeof SenseKey];

/**
 * What kind of failure this is, from the point of view of a tape writer.
 * - `medium`: the cartridge failed (MEDIUM ERROR); freeze the medium, retry elsewhere.
 * - `hardware`: the drive failed; take the drive out of service.
 * - `data-protect`: write protected cartridge, or an append-only violation.
 * - `illegal-request`: the device does not support the command or a field (a capability gap or a bug).
 * - `unit-attention`: reset, medium changed, mode parameters changed; the position is unknown.
 * - `not-ready`: no medium, becoming ready, or the medium is not loaded.
 * - `eom-warning`: early warning / end of partition reached; the command itself may have succeeded.
 * - `end-of-data`: a read or space ran into end of data.
 * - `blank-check`: read past written data, or a blank medium.
 * - `volume-overflow`: a write could not be completed because the physical end was reached.
 * - `aborted`: the command was aborted (transport, timeout, target reset); usually retryable.
 * - `transport`: the path to the device failed (connection dropped, errno, timeout without sense).
 * - `other`: anything the classifier did not recognise.
 */
export type ScsiErrorCategory =
  | 'medium'
  | 'hardware'
  | 'data-protect'
  | 'illegal-request'
  | 'unit-attention'
  | 'not-ready'
  | 'eom-warning'
  | 'end-of-data'
  | 'blank-check'
  | 'volume-overflow'
  | 'aborted'
  | 'transport'
  | 'other';

export interface ScsiErrorFields {
  /** Stable machine-readable code, e.g. `MEDIUM_ERROR`, `DATA_PROTECT`, `TRANSPORT_TIMEOUT`. */
  code?: string;
  senseKey?: number;
  asc?: number;
  ascq?: number;
  /** True when the sense data is deferred (response code 71h/73h): it belongs to an earlier, buffered command. */
  deferred?: boolean;
  /** End of medium / early warning bit. */
  eom?: boolean;
  /** Filemark bit. */
  filemark?: boolean;
  /** Incorrect length indicator. */
  ili?: boolean;
  /** The INFORMATION field (residue for READ/WRITE/SPACE), when valid. */
  information?: number;
  /** Overrides the category computed from the sense key and ASC/ASCQ. */
  category?: ScsiErrorCategory;
  /** Overrides the retryable flag computed from the category. */
  retryable?: boolean;
  /** The operation code of the failed command, when known. */
  opcode?: number;
  /** Raw sense bytes as returned by the device, when there were any. */
  sense?: Uint8Array;
  cause?: unknown;
}

/** Categorises a sense key + ASC/ASCQ. Pure; also used by the sense decoder. */
export function classifySense(senseKey: number, asc = 0, ascq = 0, eom = false): ScsiErrorCategory {
  switch (senseKey) {
    case SenseKey.MEDIUM_ERROR:
      return 'medium';
    case SenseKey.HARDWARE_ERROR:
      return 'hardware';
    case SenseKey.DATA_PROTECT:
      return 'data-protect';
    case SenseKey.ILLEGAL_REQUEST:
      return 'illegal-request';
    case SenseKey.UNIT_ATTENTION:
      return 'unit-attention';
    case SenseKey.NOT_READY:
      return 'not-ready';
    case SenseKey.BLANK_CHECK:
      // 00h/05h END-OF-DATA DETECTED is the normal way a read meets the end of written data.
      return asc === 0x00 && ascq === 0x05 ? 'end-of-data' : 'blank-check';
    case SenseKey.VOLUME_OVERFLOW:
      return 'volume-overflow';
    case SenseKey.ABORTED_COMMAND:
      return 'aborted';
    case SenseKey.NO_SENSE:
    case SenseKey.RECOVERED_ERROR:
      if (asc === 0x00 && ascq === 0x05) return 'end-of-data';
      if (eom || (asc === 0x00 && (ascq === 0x02 || ascq === 0x04))) return 'eom-warning';
      return 'other';
    default:
      return 'other';
  }
}

/** Whether retrying the same command (on the same drive and medium) can be expected to succeed. */
export function isRetryableCategory(category: ScsiErrorCategory): boolean {
  return (
    category === 'unit-attention' ||
    category === 'not-ready' ||
    category === 'aborted' ||
    category === 'transport'
  );
}

const SENSE_KEY_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SenseKey).map(([name, value]) => [value, name]),
);

export class ScsiError extends Error {
  override readonly name: string = 'ScsiError';
  readonly code: string;
  readonly senseKey: number | undefined;
  readonly asc: number | undefined;
  readonly ascq: number | undefined;
  readonly deferred: boolean;
  readonly eom: boolean;
  readonly filemark: boolean;
  readonly ili: boolean;
  readonly information: number | undefined;
  readonly category: ScsiErrorCategory;
  readonly retryable: boolean;
  readonly opcode: number | undefined;
  readonly sense: Uint8Array | undefined;

  constructor(message: string, fields: ScsiErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.senseKey = fields.senseKey;
    this.asc = fields.asc;
    this.ascq = fields.ascq;
    this.deferred = fields.deferred ?? false;
    this.eom = fields.eom ?? false;
    this.filemark = fields.filemark ?? false;
    this.ili = fields.ili ?? false;
    this.information = fields.information;
    this.opcode = fields.opcode;
    this.sense = fields.sense;
    this.category =
      fields.category ??
      (fields.senseKey === undefined
        ? 'other'
        : classifySense(fields.senseKey, fields.asc, fields.ascq, fields.eom));
    this.retryable = fields.retryable ?? isRetryableCategory(this.category);
    this.code =
      fields.code ??
      (fields.senseKey === undefined ? 'SCSI_ERROR' : (SENSE_KEY_NAMES[fields.senseKey] ?? 'SCSI_ERROR'));
  }

  /** A plain object for logs and protocol messages (no Buffer, no stack). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      category: this.category,
      retryable: this.retryable,
      deferred: this.deferred,
      senseKey: this.senseKey,
      asc: this.asc,
      ascq: this.ascq,
      eom: this.eom,
      filemark: this.filemark,
      ili: this.ili,
      information: this.information,
      opcode: this.opcode,
    };
  }
}

/** The device or its transport did not answer in time. Never a hang: every command has a deadline. */
export class ScsiTimeoutError extends ScsiError {
  override readonly name = 'ScsiTimeoutError';
  constructor(message: string, fields: ScsiErrorFields = {}) {
    super(message, { code: 'TRANSPORT_TIMEOUT', category: 'transport', retryable: true, ...fields });
  }
}

/** The path to the device failed without sense data (connection dropped, errno from the OS). */
export class ScsiTransportError extends ScsiError {
  override readonly name = 'ScsiTransportError';
  readonly errno: string | undefined;
  constructor(message: string, fields: ScsiErrorFields & { errno?: string } = {}) {
    super(message, {
      code: fields.errno ? `TRANSPORT_${fields.errno}` : 'TRANSPORT_ERROR',
      category: 'transport',
      retryable: true,
      ...fields,
    });
    this.errno = fields.errno;
  }
}

/** A device was asked for something its capabilities say it does not do. */
export class UnsupportedOperationError extends ScsiError {
  override readonly name = 'UnsupportedOperationError';
  constructor(operation: string, device: string) {
    super(`${device} does not support ${operation}`, {
      code: 'UNSUPPORTED',
      category: 'illegal-request',
      retryable: false,
      senseKey: SenseKey.ILLEGAL_REQUEST,
      asc: 0x20,
      ascq: 0x00,
    });
  }
}

/**
 * A CDB builder or parameter-list builder was given an argument outside the range its field can hold.
 * Raised before anything reaches a device; `argument` names the offending option.
 */
export class InvalidArgumentError extends ScsiError {
  override readonly name = 'InvalidArgumentError';
  /** The option or argument name, e.g. `count` or `allocationLength`. */
  readonly argument: string;
  /** The rejected value, as given. */
  readonly value: unknown;
  /** What was expected, e.g. `an integer in 0..16777215`. */
  readonly expected: string;
  constructor(argument: string, value: unknown, expected: string) {
    super(`${argument} must be ${expected} (got ${describeValue(value)})`, {
      code: 'INVALID_ARGUMENT',
      category: 'illegal-request',
      retryable: false,
    });
    this.argument = argument;
    this.value = value;
    this.expected = expected;
  }
}

/** Why a device response could not be parsed. */
export type ResponseParseErrorCode =
  | 'RESPONSE_TOO_SHORT'
  | 'RESPONSE_MALFORMED'
  | 'RESPONSE_VALUE_TOO_LARGE'
  | 'POSITION_UNKNOWN';

/**
 * Parameter data returned by a device (READ POSITION, INQUIRY, MODE SENSE, …) is shorter than
 * its format requires or contradicts itself. `response` names the structure, `field` the field.
 */
export class ResponseParseError extends ScsiError {
  override readonly name = 'ResponseParseError';
  readonly response: string;
  readonly field: string | undefined;
  readonly length: number;
  constructor(
    code: ResponseParseErrorCode,
    message: string,
    details: { response: string; length: number; field?: string; opcode?: number },
  ) {
    super(`${details.response}: ${message}`, {
      code,
      category: 'other',
      retryable: false,
      ...(details.opcode === undefined ? {} : { opcode: details.opcode }),
    });
    this.response = details.response;
    this.field = details.field;
    this.length = details.length;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
