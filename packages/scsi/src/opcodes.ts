/**
 * Operation codes of the SPC-4 and SSC-4 commands tapedup sends, with the hints a transport
 * needs to issue them: CDB length, direction of the data phase and a timeout class.
 */

export const Opcode = {
  TEST_UNIT_READY: 0x00,
  REWIND: 0x01,
  REQUEST_SENSE: 0x03,
  READ_BLOCK_LIMITS: 0x05,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  WRITE_FILEMARKS_6: 0x10,
  SPACE_6: 0x11,
  INQUIRY: 0x12,
  MODE_SELECT_6: 0x15,
  ERASE_6: 0x19,
  MODE_SENSE_6: 0x1a,
  LOAD_UNLOAD: 0x1b,
  LOCATE_10: 0x2b,
  READ_POSITION: 0x34,
  MODE_SELECT_10: 0x55,
  MODE_SENSE_10: 0x5a,
  ALLOW_OVERWRITE: 0x82,
  SPACE_16: 0x91,
  LOCATE_16: 0x92,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Direction of the data phase: `in` = device to host, `out` = host to device. */
export type DataDirection = 'none' | 'in' | 'out';

/**
 * How long a command may legitimately take; transports map each class to a deadline.
 * - `short`: answered from drive state, no tape motion (INQUIRY, MODE SENSE, READ POSITION, or any
 *   command sent with IMMED=1, which returns once the command is accepted).
 * - `io`: one READ/WRITE; bounded by the buffer, but a write may wait for the buffer to drain.
 * - `long`: may move the tape or flush the whole buffer to the medium: WRITE FILEMARKS with IMMED=0
 *   (the synchronising filemark), REWIND, LOAD/UNLOAD, SPACE, LOCATE, short ERASE.
 * - `very-long`: ERASE with LONG=1, which erases to the end of the partition (hours).
 */
export type TimeoutClass = 'short' | 'io' | 'long' | 'very-long';

/** Deadlines a transport can start from, in milliseconds, per {@link TimeoutClass}. */
export const SUGGESTED_TIMEOUT_MS: Readonly<Record<TimeoutClass, number>> = {
  short: 60_000,
  // Writes can block behind a full buffer while the drive backhitches.
  io: 15 * 60_000,
  // A full-length LTO locate or rewind takes minutes; give it generous room.
  long: 60 * 60_000,
  'very-long': 12 * 60 * 60_000,
};

export interface CommandInfo {
  opcode: number;
  /** Name as the standards spell it, e.g. `WRITE FILEMARKS(6)`. */
  name: string;
  cdbLength: 6 | 10 | 16;
  dataDirection: DataDirection;
  /** Timeout class when IMMED is 0 (or the command has no IMMED bit). */
  timeoutClass: TimeoutClass;
  /** Bit 0 of byte 1 is IMMED for this command (ERASE(6) keeps it in bit 1). */
  immedBit?: { byte: number; bit: number };
  /** Standard that defines the command. */
  standard: 'SPC-4' | 'SSC-4';
}

const table: CommandInfo[] = [
  {
    opcode: 0x00,
    name: 'TEST UNIT READY',
    cdbLength: 6,
    dataDirection: 'none',
    timeoutClass: 'short',
    standard: 'SPC-4',
  },
  {
    opcode: 0x01,
    name: 'REWIND',
    cdbLength: 6,
    dataDirection: 'none',
    timeoutClass: 'long',
    immedBit: { byte: 1, bit: 0 },
    standard: 'SSC-4',
  },
  {
    opcode: 0x03,
    name: 'REQUEST SENSE',
    cdbLength: 6,
    dataDirection: 'in',
    timeoutClass: 'short',
    standard: 'SPC-4',
  },
  {
    opcode: 0x05,
    name: 'READ BLOCK LIMITS',
    cdbLength: 6,
    dataDirection: 'in',
    timeoutClass: 'short',
    standard: 'SSC-4',
  },
  { opcode: 0x08, name: 'READ(6)', cdbLength: 6, dataDirection: 'in', timeoutClass: 'io', standard: 'SSC-4' },
  {
    opcode: 0x0a,
    name: 'WRITE(6)',
    cdbLength: 6,
    dataDirection: 'out',
    timeoutClass: 'io',
    standard: 'SSC-4',
  },
  {
    opcode: 0x10,
    name: 'WRITE FILEMARKS(6)',
    cdbLength: 6,
    dataDirection: 'none',
    timeoutClass: 'long',
    immedBit: { byte: 1, bit: 0 },
    standard: 'SSC-4',
  },
  {
    opcode: 0x11,
    name: 'SPACE(6)',
    cdbLength: 6,
    dataDirection: 'none',
    timeoutClass: 'long',
    standard: 'SSC-4',
  },
  {
    opcode: 0x12,
    name: 'INQUIRY',
    cdbLength: 6,
    dataDirection: 'in',
    timeoutClass: 'short',
    standard: 'SPC-4',
  },
  {
    opcode: 0x15,
    name: 'MODE SELECT(6)',
    cdbLength: 6,
    dataDirection: 'out',
    timeoutClass: 'short',
    standard: 'SPC-4',
  },
  {
    opcode: 0x19,
    name: 'ERASE(6)',
    cdbLength: 6,
    dataDirection: 'none',
    timeoutClass: 'long',
    immedBit: { byte: 1, bit: 1 },
    standard: 'SSC-4',
  },
  {
    opcode: 0x1a,
    name: 'MODE SENSE(6)',
    cdbLength: 6,
    dataDirection: 'in',
    timeoutClass: 'short',
    standard: 'SPC-4',
  },
  {
    opcode: 0x1b,
    name: 'LOAD UNLOAD',
    cdbLength: 6,
    dataDirection: 'none',
    timeoutClass: 'long',
    immedBit: { byte: 1, bit: 0 },
    standard: 'SSC-4',
  },
  {
    opcode: 0x2b,
    name: 'LOCATE(10)',
    cdbLength: 10,
    dataDirection: 'none',
    timeoutClass: 'long',
    immedBit: { byte: 1, bit: 0 },
    standard: 'SSC-4',
  },
  {
    opcode: 0x34,
    name: 'READ POSITION',
    cdbLength: 10,
    dataDirection: 'in',
    timeoutClass: 'short',
    standard: 'SSC-4',
  },
  {
    opcode: 0x55,
    name: 'MODE SELECT(10)',
    cdbLength: 10,
    dataDirection: 'out',
    timeoutClass: 'short',
    standard: 'SPC-4',
  },
  {
    opcode: 0x5a,
    name: 'MODE SENSE(10)',
    cdbLength: 10,
    dataDirection: 'in',
    timeoutClass: 'short',
    standard: 'SPC-4',
  },
  {
    opcode: 0x82,
    name: 'ALLOW OVERWRITE',
    cdbLength: 16,
    dataDirection: 'none',
    timeoutClass: 'short',
    standard: 'SSC-4',
  },
  {
    opcode: 0x91,
    name: 'SPACE(16)',
    cdbLength: 16,
    dataDirection: 'none',
    timeoutClass: 'long',
    standard: 'SSC-4',
  },
  {
    opcode: 0x92,
    name: 'LOCATE(16)',
    cdbLength: 16,
    dataDirection: 'none',
    timeoutClass: 'long',
    immedBit: { byte: 1, bit: 0 },
    standard: 'SSC-4',
  },
];

/** Every command this package builds, keyed by opcode. */
export const COMMANDS: ReadonlyMap<number, Readonly<CommandInfo>> = new Map(table.map((c) => [c.opcode, c]));

/** The command's table entry, or `undefined` for an opcode this package does not know. */
export function commandInfo(opcode: number): Readonly<CommandInfo> | undefined {
  return COMMANDS.get(opcode);
}

/** Name of an opcode for logs and error messages; unknown ones read like `OPCODE 0xC1`. */
export function opcodeName(opcode: number): string {
  return COMMANDS.get(opcode)?.name ?? `OPCODE 0x${opcode.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * The timeout class of a concrete CDB. IMMED=1 makes every tape-motion command `short` (the drive
 * acknowledges before moving); ERASE with LONG=1 and IMMED=0 is `very-long`. Unknown opcodes are
 * treated as `long` so a transport errs on the side of patience.
 */
export function timeoutClassOf(cdb: Uint8Array): TimeoutClass {
  const opcode = cdb[0];
  const info = opcode === undefined ? undefined : COMMANDS.get(opcode);
  if (info === undefined) return 'long';
  const byte1 = cdb[1] ?? 0;
  if (info.immedBit !== undefined && ((cdb[info.immedBit.byte] ?? 0) >>> info.immedBit.bit) & 1)
    return 'short';
  if (info.opcode === Opcode.ERASE_6 && (byte1 & 0x01) === 1) return 'very-long';
  return info.timeoutClass;
}
