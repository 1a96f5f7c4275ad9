import { describe, expect, it } from 'vitest';
import { parseMaximumLogicalObjectIdentifier, parseReadBlockLimits } from './block-limits';
import { ResponseParseError } from './errors';

function parseError(fn: () => unknown): ResponseParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponseParseError);
    return err as ResponseParseError;
  }
  throw new Error('expected a ResponseParseError');
}

describe('READ BLOCK LIMITS data', () => {
  it('tgt variable mode: granularity 9, max 1 MiB, min 4', () => {
    expect(parseReadBlockLimits(Uint8Array.from([0x09, 0x10, 0x00, 0x00, 0x00, 0x04]))).toEqual({
      granularity: 9,
      maxBlockLength: 0x100000,
      minBlockLength: 4,
      fixedOnly: false,
    });
  });

  it('tgt fixed 512-byte mode: max == min', () => {
    expect(parseReadBlockLimits(Uint8Array.from([0x09, 0x00, 0x02, 0x00, 0x02, 0x00]))).toEqual({
      granularity: 9,
      maxBlockLength: 512,
      minBlockLength: 512,
      fixedOnly: true,
    });
  });

  it('ignores the reserved bits 7..5 of byte 0', () => {
    expect(parseReadBlockLimits(Uint8Array.from([0xe2, 0xff, 0xff, 0xff, 0x00, 0x01])).granularity).toBe(2);
  });

  it('MLOI form: maximum logical object identifier in bytes 12..19', () => {
    const buf = Uint8Array.from([
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
      0xff, 0xff, 0xfe,
    ]);
    expect(parseMaximumLogicalObjectIdentifier(buf)).toBe(0xfffffffen);
  });

  it('rejects short buffers', () => {
    expect(parseError(() => parseReadBlockLimits(new Uint8Array(5))).opcode).toBe(0x05);
    expect(parseError(() => parseMaximumLogicalObjectIdentifier(new Uint8Array(19))).code).toBe(
      'RESPONSE_TOO_SHORT',
    );
  });
});
