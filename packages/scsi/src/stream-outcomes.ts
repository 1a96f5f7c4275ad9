/**
 * What a CHECK CONDITION means for the stream commands whose "errors" are often normal outcomes:
 * READ(6) meeting a filemark or end of data, SPACE(6) stopping early, WRITE past early warning.
 * Transports (iSCSI, SG_IO) share these rules so every device reports the same `ReadResult`,
 * `SpaceResult` and `WriteResult`.
 *
 * Besides the SSC-4 forms, the tgt forms are accepted: tgtd reports end of data on READ as
 * BLANK CHECK with the EOM bit and ASC 00h/00h, SPACE reaching EOD or BOP as NO SENSE 00h/05h or
 * 00h/04h without INFORMATION, and a WRITE past its capacity as NO SENSE with only the EOM bit.
 */
import { type ScsiError, SenseKey } from './errors';
import { Opcode } from './opcodes';
import { type DecodedSense, decodeSense } from './sense';
import { senseToError } from './sense-error';

export type ReadOutcome =
  | {
      kind: 'data';
      /** Bytes the device transferred into the host buffer. */
      transferred: number;
      /** The block was longer than requested; only `transferred` bytes of it arrived. */
      overlength: boolean;
      /** The block's real length. */
      blockLength: number;
    }
  | { kind: 'filemark' }
  | { kind: 'end-of-data' }
  | { kind: 'error'; error: ScsiError };

function isNoSenseLike(s: DecodedSense): boolean {
  return s.senseKey === SenseKey.NO_SENSE || s.senseKey === SenseKey.RECOVERED_ERROR;
}

function isEndOfData(s: DecodedSense): boolean {
  if (s.asc === 0x00 && s.ascq === 0x05) return s.senseKey === SenseKey.BLANK_CHECK || isNoSenseLike(s);
  // tgt: BLANK CHECK, EOM, 00h/00h.
  return s.senseKey === SenseKey.BLANK_CHECK && s.asc === 0x00 && s.ascq === 0x00;
}

/**
 * Interprets the sense of a variable-mode READ(6) of `requestedLength` bytes (SILI=0) that ended
 * in CHECK CONDITION. A deferred error is always an error: it belongs to earlier writes.
 */
export function readOutcomeFromSense(sense: Uint8Array, requestedLength: number): ReadOutcome {
  const result = decodeSense(sense);
  if (!result.ok || result.sense.deferred)
    return { kind: 'error', error: senseToError(sense, Opcode.READ_6) };
  const s = result.sense;
  if (isNoSenseLike(s) && (s.filemark || (s.asc === 0x00 && s.ascq === 0x01))) return { kind: 'filemark' };
  if (isEndOfData(s)) return { kind: 'end-of-data' };
  if (isNoSenseLike(s) && s.ili && s.information !== undefined) {
    // INFORMATION = requested length - actual block length (negative for a longer block).
    const blockLength = requestedLength - s.information;
    if (blockLength >= 0) {
      const overlength = s.information < 0;
      return {
        kind: 'data',
        transferred: overlength ? requestedLength : blockLength,
        overlength,
        blockLength,
      };
    }
  }
  return { kind: 'error', error: senseToError(sense, Opcode.READ_6) };
}

export type SpaceOutcome =
  | {
      kind: 'stopped';
      stoppedAt: 'filemark' | 'bot' | 'end-of-data';
      /**
       * Objects actually spaced over (absolute value), from the INFORMATION residue. `undefined`
       * when the device did not report a residue (tgt does not): the caller must then re-read the
       * position or count for itself.
       */
      spaced: number | undefined;
    }
  | { kind: 'error'; error: ScsiError };

/** Interprets the sense of a SPACE(6) of `count` objects that ended in CHECK CONDITION. */
export function spaceOutcomeFromSense(sense: Uint8Array, count: number): SpaceOutcome {
  const result = decodeSense(sense);
  if (!result.ok || result.sense.deferred)
    return { kind: 'error', error: senseToError(sense, Opcode.SPACE_6) };
  const s = result.sense;
  let stoppedAt: 'filemark' | 'bot' | 'end-of-data' | undefined;
  if (isEndOfData(s)) stoppedAt = 'end-of-data';
  else if (isNoSenseLike(s) && s.asc === 0x00 && s.ascq === 0x04) stoppedAt = 'bot';
  else if (isNoSenseLike(s) && (s.filemark || (s.asc === 0x00 && s.ascq === 0x01))) stoppedAt = 'filemark';
  if (stoppedAt === undefined) return { kind: 'error', error: senseToError(sense, Opcode.SPACE_6) };
  // SSC reports the residue as the difference between the requested and the actual count.
  const spaced =
    s.information === undefined ? undefined : Math.max(0, Math.abs(count) - Math.abs(s.information));
  return { kind: 'stopped', stoppedAt, spaced };
}

export type WriteOutcome = { kind: 'early-warning' } | { kind: 'error'; error: ScsiError };

/**
 * Interprets the sense of a WRITE(6) or WRITE FILEMARKS(6) that ended in CHECK CONDITION. NO SENSE
 * or RECOVERED ERROR with EOM (00h/02h, 00h/07h programmable early warning, or tgt's bare EOM) means
 * the data was written and the early-warning point passed. Anything else is an error, including
 * VOLUME OVERFLOW and every deferred error.
 */
export function writeOutcomeFromSense(sense: Uint8Array, opcode: number = Opcode.WRITE_6): WriteOutcome {
  const result = decodeSense(sense);
  if (result.ok && !result.sense.deferred && isNoSenseLike(result.sense)) {
    const s = result.sense;
    const ewAsc = s.asc === 0x00 && (s.ascq === 0x02 || s.ascq === 0x07 || s.ascq === 0x00);
    if ((s.eom && ewAsc) || (s.asc === 0x00 && (s.ascq === 0x02 || s.ascq === 0x07))) {
      return { kind: 'early-warning' };
    }
  }
  return { kind: 'error', error: senseToError(sense, opcode) };
}
