/**
 * Turns raw sense bytes into a `ScsiError` with every machine-readable field filled in.
 */
import { lookupAsc } from './asc-table';
import { classifySense, isRetryableCategory, ScsiError } from './errors';
import { opcodeName } from './opcodes';
import { type DecodedSense, decodeSense } from './sense';

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

/**
 * The `ScsiError.code` for decoded sense: the UPPER_SNAKE name of the ASC/ASCQ pair when the table
 * knows it, except for 00h/00h NO ADDITIONAL SENSE INFORMATION and unknown pairs, where the sense key
 * name says more (`BLANK_CHECK`, `MEDIUM_ERROR`, …).
 */
export function senseCode(sense: Pick<DecodedSense, 'senseKeyName' | 'asc' | 'ascq'>): string {
  if (sense.asc === 0 && sense.ascq === 0) return sense.senseKeyName;
  return lookupAsc(sense.asc, sense.ascq)?.code ?? sense.senseKeyName;
}

/** A one-line human description, e.g. `MEDIUM_ERROR, WRITE ERROR (0Ch/00h), deferred`. */
export function describeSense(sense: DecodedSense): string {
  const entry = lookupAsc(sense.asc, sense.ascq);
  const ascText = entry?.name ?? 'UNKNOWN ADDITIONAL SENSE';
  const parts = [`${sense.senseKeyName}, ${ascText} (${hex2(sense.asc)}h/${hex2(sense.ascq)}h)`];
  if (sense.deferred) parts.push('deferred');
  if (sense.filemark) parts.push('filemark');
  if (sense.eom) parts.push('EOM');
  if (sense.ili) parts.push('ILI');
  if (sense.information !== undefined) parts.push(`information ${sense.information}`);
  return parts.join(', ');
}

/**
 * Builds the error for a CHECK CONDITION. `retryable` follows the category, except that an ASC the
 * table marks (e.g. MEDIUM NOT PRESENT, MANUAL INTERVENTION REQUIRED) overrides it, and a deferred
 * error is never retryable: it reports the loss of data written before the failed command, so
 * repeating that command cannot recover it.
 */
export function senseToError(bytes: Uint8Array, opcode?: number): ScsiError {
  const prefix = opcode === undefined ? '' : `${opcodeName(opcode)}: `;
  const result = decodeSense(bytes);
  const sense = bytes.slice();
  if (!result.ok) {
    return new ScsiError(`${prefix}undecodable sense data: ${result.message}`, {
      code: result.reason === 'UNSUPPORTED_RESPONSE_CODE' ? 'SENSE_UNSUPPORTED_FORMAT' : 'SENSE_TOO_SHORT',
      category: 'other',
      retryable: false,
      ...(opcode === undefined ? {} : { opcode }),
      sense,
    });
  }
  const s = result.sense;
  const category = classifySense(s.senseKey, s.asc, s.ascq, s.eom);
  const tableRetryable = lookupAsc(s.asc, s.ascq)?.retryable;
  const retryable = s.deferred ? false : (tableRetryable ?? isRetryableCategory(category));
  return new ScsiError(`${prefix}${describeSense(s)}`, {
    code: senseCode(s),
    senseKey: s.senseKey,
    asc: s.asc,
    ascq: s.ascq,
    deferred: s.deferred,
    eom: s.eom,
    filemark: s.filemark,
    ili: s.ili,
    ...(s.information === undefined ? {} : { information: s.information }),
    category,
    retryable,
    ...(opcode === undefined ? {} : { opcode }),
    sense,
  });
}
