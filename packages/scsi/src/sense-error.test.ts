import { describe, expect, it } from 'vitest';
import { ScsiError } from './errors';
import { Opcode } from './opcodes';
import { decodeSense } from './sense';
import { describeSense, senseCode, senseToError } from './sense-error';

/** 18-byte fixed sense: response code, byte 2 (flags | key), INFORMATION, ASC, ASCQ. */
function fixed(
  responseCode: number,
  byte2: number,
  asc: number,
  ascq: number,
  information?: number,
): Uint8Array {
  const b = new Uint8Array(18);
  b[0] = responseCode | (information === undefined ? 0 : 0x80);
  b[2] = byte2;
  if (information !== undefined) new DataView(b.buffer).setInt32(3, information);
  b[7] = 0x0a;
  b[12] = asc;
  b[13] = ascq;
  return b;
}

describe('senseToError', () => {
  it('tgt READ(6) filemark: every field filled', () => {
    const bytes = Uint8Array.from([
      0xf0, 0x00, 0x80, 0x00, 0x04, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00,
    ]);
    const err = senseToError(bytes, Opcode.READ_6);
    expect(err).toBeInstanceOf(ScsiError);
    expect(err.code).toBe('FILEMARK_DETECTED');
    expect(err.senseKey).toBe(0);
    expect(err.asc).toBe(0);
    expect(err.ascq).toBe(1);
    expect(err.filemark).toBe(true);
    expect(err.eom).toBe(false);
    expect(err.ili).toBe(false);
    expect(err.deferred).toBe(false);
    expect(err.information).toBe(262144);
    expect(err.category).toBe('other');
    expect(err.retryable).toBe(false);
    expect(err.opcode).toBe(0x08);
    expect(Array.from(err.sense ?? [])).toEqual(Array.from(bytes));
    expect(err.message).toBe('READ(6): NO_SENSE, FILEMARK DETECTED (00h/01h), filemark, information 262144');
  });

  it('tgt ALLOW OVERWRITE: illegal request, not retryable', () => {
    const err = senseToError(fixed(0x70, 0x05, 0x20, 0x00), Opcode.ALLOW_OVERWRITE);
    expect(err.code).toBe('INVALID_COMMAND_OPERATION_CODE');
    expect(err.category).toBe('illegal-request');
    expect(err.retryable).toBe(false);
    expect(err.information).toBeUndefined();
    expect(
      err.message.startsWith('ALLOW OVERWRITE: ILLEGAL_REQUEST, INVALID COMMAND OPERATION CODE (20h/00h)'),
    ).toBe(true);
  });

  it('BLANK CHECK 00/05 is end-of-data; tgt BLANK CHECK + EOM 00/00 is blank-check named by its key', () => {
    const eod = senseToError(fixed(0x70, 0x08, 0x00, 0x05), Opcode.READ_6);
    expect(eod.code).toBe('END_OF_DATA_DETECTED');
    expect(eod.category).toBe('end-of-data');
    const tgt = senseToError(fixed(0x70, 0x48, 0x00, 0x00), Opcode.READ_6);
    expect(tgt.code).toBe('BLANK_CHECK');
    expect(tgt.eom).toBe(true);
    expect(tgt.category).toBe('blank-check');
  });

  it('deferred MEDIUM ERROR write error is never retryable', () => {
    const err = senseToError(fixed(0x71, 0x03, 0x0c, 0x00, 3), Opcode.WRITE_FILEMARKS_6);
    expect(err.code).toBe('WRITE_ERROR');
    expect(err.deferred).toBe(true);
    expect(err.category).toBe('medium');
    expect(err.retryable).toBe(false);
    expect(err.information).toBe(3);
    expect(err.message).toContain('deferred');
  });

  it('deferred unit attention is still not retryable', () => {
    const err = senseToError(fixed(0x71, 0x06, 0x29, 0x00));
    expect(err.category).toBe('unit-attention');
    expect(err.retryable).toBe(false);
  });

  it('early warning on WRITE: NO SENSE, EOM, 00/02', () => {
    const err = senseToError(fixed(0x70, 0x40, 0x00, 0x02), Opcode.WRITE_6);
    expect(err.code).toBe('END_OF_PARTITION_MEDIUM_DETECTED');
    expect(err.category).toBe('eom-warning');
    expect(err.eom).toBe(true);
    // tgt sets only the EOM bit, ASC 00/00.
    const tgt = senseToError(fixed(0x70, 0x40, 0x00, 0x00), Opcode.WRITE_6);
    expect(tgt.code).toBe('NO_SENSE');
    expect(tgt.category).toBe('eom-warning');
  });

  it('VOLUME OVERFLOW with EOM 00/02', () => {
    const err = senseToError(fixed(0x70, 0x4d, 0x00, 0x02, 1), Opcode.WRITE_6);
    expect(err.category).toBe('volume-overflow');
    expect(err.code).toBe('END_OF_PARTITION_MEDIUM_DETECTED');
    expect(err.information).toBe(1);
  });

  it('append-only refusal: DATA PROTECT 5A/02', () => {
    const err = senseToError(fixed(0x70, 0x07, 0x5a, 0x02), Opcode.WRITE_6);
    expect(err.code).toBe('OPERATOR_SELECTED_WRITE_PROTECT');
    expect(err.category).toBe('data-protect');
    expect(err.retryable).toBe(false);
  });

  it('write protected cartridge: DATA PROTECT 27/00', () => {
    const err = senseToError(fixed(0x70, 0x07, 0x27, 0x00), Opcode.WRITE_6);
    expect(err.code).toBe('WRITE_PROTECTED');
    expect(err.category).toBe('data-protect');
  });

  it('unit attention and not-ready retryability follows the ASC', () => {
    const ua = senseToError(fixed(0x70, 0x06, 0x28, 0x00));
    expect(ua.category).toBe('unit-attention');
    expect(ua.retryable).toBe(true);
    expect(ua.code).toBe('NOT_READY_TO_READY_CHANGE_MEDIUM_MAY_HAVE_CHANGED');
    const becoming = senseToError(fixed(0x70, 0x02, 0x04, 0x01));
    expect(becoming.category).toBe('not-ready');
    expect(becoming.retryable).toBe(true);
    const noMedium = senseToError(fixed(0x70, 0x02, 0x3a, 0x00));
    expect(noMedium.category).toBe('not-ready');
    expect(noMedium.retryable).toBe(false);
    const manual = senseToError(fixed(0x70, 0x02, 0x04, 0x03));
    expect(manual.retryable).toBe(false);
  });

  it('aborted command is retryable; hardware error is not', () => {
    const aborted = senseToError(fixed(0x70, 0x0b, 0x4b, 0x00));
    expect(aborted.category).toBe('aborted');
    expect(aborted.retryable).toBe(true);
    expect(aborted.code).toBe('DATA_PHASE_ERROR');
    const hw = senseToError(fixed(0x70, 0x04, 0x44, 0x00));
    expect(hw.category).toBe('hardware');
    expect(hw.retryable).toBe(false);
    expect(hw.code).toBe('INTERNAL_TARGET_FAILURE');
  });

  it('unknown ASC falls back to the sense key name', () => {
    const err = senseToError(fixed(0x70, 0x03, 0x99, 0x42));
    expect(err.code).toBe('MEDIUM_ERROR');
    expect(err.asc).toBe(0x99);
    expect(err.message).toBe('MEDIUM_ERROR, UNKNOWN ADDITIONAL SENSE (99h/42h)');
    expect(err.opcode).toBeUndefined();
  });

  it('descriptor format with stream descriptor: ILI and residue', () => {
    const bytes = Uint8Array.from([
      0x72, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0a, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x01, 0x00, 0x04, 0x02, 0x00, 0x20,
    ]);
    const err = senseToError(bytes, Opcode.READ_6);
    expect(err.ili).toBe(true);
    expect(err.information).toBe(256);
    expect(err.code).toBe('NO_SENSE');
    expect(err.message).toBe(
      'READ(6): NO_SENSE, NO ADDITIONAL SENSE INFORMATION (00h/00h), ILI, information 256',
    );
  });

  it('undecodable sense becomes a typed error, never a throw', () => {
    const short = senseToError(Uint8Array.from([0x70]), Opcode.WRITE_6);
    expect(short).toBeInstanceOf(ScsiError);
    expect(short.code).toBe('SENSE_TOO_SHORT');
    expect(short.category).toBe('other');
    expect(short.retryable).toBe(false);
    expect(short.opcode).toBe(0x0a);
    const empty = senseToError(new Uint8Array(0));
    expect(empty.code).toBe('SENSE_TOO_SHORT');
    const vendor = senseToError(Uint8Array.from([0x7f, 1, 2, 3, 4]));
    expect(vendor.code).toBe('SENSE_UNSUPPORTED_FORMAT');
    expect(Array.from(vendor.sense ?? [])).toEqual([0x7f, 1, 2, 3, 4]);
  });

  it('keeps its own copy of the sense bytes', () => {
    const bytes = fixed(0x70, 0x03, 0x11, 0x00);
    const err = senseToError(bytes);
    bytes[2] = 0;
    expect(err.sense?.[2]).toBe(0x03);
  });
});

describe('senseCode and describeSense', () => {
  it('prefer the ASC name, except for 00/00', () => {
    expect(senseCode({ senseKeyName: 'MEDIUM_ERROR', asc: 0x11, ascq: 0x01 })).toBe('READ_RETRIES_EXHAUSTED');
    expect(senseCode({ senseKeyName: 'ABORTED_COMMAND', asc: 0, ascq: 0 })).toBe('ABORTED_COMMAND');
    expect(senseCode({ senseKeyName: 'HARDWARE_ERROR', asc: 0x40, ascq: 0x81 })).toBe(
      'DIAGNOSTIC_FAILURE_ON_COMPONENT',
    );
  });
  it('lists the flags that are set', () => {
    const r = decodeSense(fixed(0x71, 0xe3, 0x0c, 0x00, -2));
    if (!r.ok) throw new Error('decodable');
    expect(describeSense(r.sense)).toBe(
      'MEDIUM_ERROR, WRITE ERROR (0Ch/00h), deferred, filemark, EOM, ILI, information -2',
    );
  });
});
