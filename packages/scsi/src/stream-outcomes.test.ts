import { describe, expect, it } from 'vitest';
import { readOutcomeFromSense, spaceOutcomeFromSense, writeOutcomeFromSense } from './stream-outcomes';

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

describe('readOutcomeFromSense', () => {
  it('tgt filemark (NO SENSE, FILEMARK, 00/01, residue = requested length)', () => {
    const tgt = Uint8Array.from([
      0xf0, 0x00, 0x80, 0x00, 0x04, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(readOutcomeFromSense(tgt, 0x40000)).toEqual({ kind: 'filemark' });
  });

  it('end of data: SSC BLANK CHECK 00/05 and tgt BLANK CHECK + EOM 00/00', () => {
    expect(readOutcomeFromSense(fixed(0x70, 0x08, 0x00, 0x05), 1024)).toEqual({ kind: 'end-of-data' });
    expect(readOutcomeFromSense(fixed(0x70, 0x48, 0x00, 0x00), 1024)).toEqual({ kind: 'end-of-data' });
  });

  it('a shorter block: ILI with a positive residue', () => {
    expect(readOutcomeFromSense(fixed(0x70, 0x20, 0x00, 0x00, 1000), 4096)).toEqual({
      kind: 'data',
      transferred: 3096,
      overlength: false,
      blockLength: 3096,
    });
  });

  it('a longer block (tgt: info = requested - block = -4096): the first requestedLength bytes arrive', () => {
    expect(readOutcomeFromSense(fixed(0x70, 0x20, 0x00, 0x00, -4096), 4096)).toEqual({
      kind: 'data',
      transferred: 4096,
      overlength: true,
      blockLength: 8192,
    });
  });

  it('medium errors, impossible residues, deferred sense and garbage are errors', () => {
    const medium = readOutcomeFromSense(fixed(0x70, 0x03, 0x11, 0x00), 4096);
    expect(medium.kind === 'error' ? medium.error.category : undefined).toBe('medium');
    const impossible = readOutcomeFromSense(fixed(0x70, 0x20, 0x00, 0x00, 5000), 4096);
    expect(impossible.kind).toBe('error');
    const deferred = readOutcomeFromSense(fixed(0x71, 0x80, 0x00, 0x01, 1), 4096);
    expect(deferred.kind === 'error' ? deferred.error.deferred : undefined).toBe(true);
    const garbage = readOutcomeFromSense(Uint8Array.from([0x12]), 4096);
    expect(garbage.kind === 'error' ? garbage.error.code : undefined).toBe('SENSE_UNSUPPORTED_FORMAT');
    expect(garbage.kind === 'error' ? garbage.error.opcode : undefined).toBe(0x08);
  });
});

describe('spaceOutcomeFromSense', () => {
  it('spacing blocks stops at a filemark with the residue', () => {
    expect(spaceOutcomeFromSense(fixed(0x70, 0x80, 0x00, 0x01, 7), 10)).toEqual({
      kind: 'stopped',
      stoppedAt: 'filemark',
      spaced: 3,
    });
    expect(spaceOutcomeFromSense(fixed(0x70, 0x80, 0x00, 0x01, 2), -5)).toEqual({
      kind: 'stopped',
      stoppedAt: 'filemark',
      spaced: 3,
    });
  });

  it('tgt reaching EOD or BOP: NO SENSE 00/05 or 00/04 without a residue', () => {
    expect(spaceOutcomeFromSense(fixed(0x70, 0x00, 0x00, 0x05), 4)).toEqual({
      kind: 'stopped',
      stoppedAt: 'end-of-data',
      spaced: undefined,
    });
    expect(spaceOutcomeFromSense(fixed(0x70, 0x00, 0x00, 0x04), -4)).toEqual({
      kind: 'stopped',
      stoppedAt: 'bot',
      spaced: undefined,
    });
  });

  it('SSC BLANK CHECK end of data with the residue', () => {
    expect(spaceOutcomeFromSense(fixed(0x70, 0x08, 0x00, 0x05, 1), 3)).toEqual({
      kind: 'stopped',
      stoppedAt: 'end-of-data',
      spaced: 2,
    });
  });

  it('positioning errors are errors', () => {
    const err = spaceOutcomeFromSense(fixed(0x70, 0x03, 0x3b, 0x00), 3);
    expect(err.kind === 'error' ? err.error.code : undefined).toBe('SEQUENTIAL_POSITIONING_ERROR');
    expect(err.kind === 'error' ? err.error.opcode : undefined).toBe(0x11);
  });
});

describe('writeOutcomeFromSense', () => {
  it('early warning: NO SENSE + EOM 00/02, programmable 00/07, tgt bare EOM', () => {
    expect(writeOutcomeFromSense(fixed(0x70, 0x40, 0x00, 0x02))).toEqual({ kind: 'early-warning' });
    expect(writeOutcomeFromSense(fixed(0x70, 0x00, 0x00, 0x07))).toEqual({ kind: 'early-warning' });
    expect(writeOutcomeFromSense(fixed(0x70, 0x40, 0x00, 0x00))).toEqual({ kind: 'early-warning' });
    expect(writeOutcomeFromSense(fixed(0x70, 0x41, 0x00, 0x02))).toEqual({ kind: 'early-warning' });
  });

  it('volume overflow, append-only refusal and deferred errors are errors', () => {
    const overflow = writeOutcomeFromSense(fixed(0x70, 0x4d, 0x00, 0x02, 1));
    expect(overflow.kind === 'error' ? overflow.error.category : undefined).toBe('volume-overflow');
    const refused = writeOutcomeFromSense(fixed(0x70, 0x07, 0x5a, 0x02), 0x10);
    expect(refused.kind === 'error' ? [refused.error.category, refused.error.opcode] : undefined).toEqual([
      'data-protect',
      0x10,
    ]);
    const deferred = writeOutcomeFromSense(fixed(0x71, 0x43, 0x0c, 0x00));
    expect(deferred.kind === 'error' ? deferred.error.deferred : undefined).toBe(true);
    const noEom = writeOutcomeFromSense(fixed(0x70, 0x00, 0x00, 0x00));
    expect(noEom.kind).toBe('error');
  });
});
