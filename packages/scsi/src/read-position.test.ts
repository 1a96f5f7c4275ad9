import { describe, expect, it } from 'vitest';
import { ResponseParseError } from './errors';
import {
  parseReadPositionExtended,
  parseReadPositionLong,
  parseReadPositionShort,
  toTapePosition,
} from './read-position';

// Fixtures are written from the SSC-4 READ POSITION data tables.

function parseError(fn: () => unknown): ResponseParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponseParseError);
    return err as ResponseParseError;
  }
  throw new Error('expected a ResponseParseError');
}

describe('short form (00h)', () => {
  it('at BOP of partition 0, nothing buffered', () => {
    const p = parseReadPositionShort(
      Uint8Array.from([0x80, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0, 0]),
    );
    expect(p).toEqual({
      form: 'short',
      bop: true,
      eop: false,
      bcu: false,
      bycu: false,
      bpu: false,
      perr: false,
      bpew: false,
      partition: 0,
      firstLogicalObjectLocation: 0,
      lastLogicalObjectLocation: 0,
      objectsInBuffer: 0,
      bytesInBuffer: 0,
    });
    expect(toTapePosition(p)).toEqual({
      partition: 0,
      blockNumber: 0,
      fileNumber: undefined,
      bop: true,
      eop: false,
      blocksInBuffer: 0,
      bytesInBuffer: 0,
    });
  });

  it('while writing: host position ahead of the medium by the buffered objects', () => {
    const buf = Uint8Array.from([
      0x00,
      0x01,
      0x00,
      0x00,
      0x00,
      0x00,
      0x12,
      0x34, // first logical object location
      0x00,
      0x00,
      0x12,
      0x00, // last logical object location
      0x00,
      0x00,
      0x00,
      0x34, // objects in buffer
      0x00,
      0xd0,
      0x00,
      0x00, // bytes in buffer
    ]);
    const p = parseReadPositionShort(buf);
    expect(p.partition).toBe(1);
    expect(p.firstLogicalObjectLocation).toBe(0x1234);
    expect(p.lastLogicalObjectLocation).toBe(0x1200);
    expect(p.objectsInBuffer).toBe(0x34);
    expect(p.bytesInBuffer).toBe(0xd00000);
    expect(toTapePosition(p)).toEqual({
      partition: 1,
      blockNumber: 0x1234,
      fileNumber: undefined,
      bop: false,
      eop: false,
      blocksInBuffer: 0x34,
      bytesInBuffer: 0xd00000,
    });
  });

  it('flags in byte 0: BOP 7, EOP 6, BCU 5, BYCU 4, BPU 2, PERR 1, BPEW 0', () => {
    const p = parseReadPositionShort(
      Uint8Array.from([0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    );
    expect([p.bop, p.eop, p.bcu, p.bycu, p.bpu, p.perr, p.bpew]).toEqual([
      false,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    const err = parseError(() => toTapePosition(p));
    expect(err.code).toBe('POSITION_UNKNOWN');
    expect(err.field).toBe('bpu');
  });

  it('unknown buffer counts become undefined', () => {
    const p = parseReadPositionShort(
      Uint8Array.from([0x20, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0x10, 0]),
    );
    const pos = toTapePosition(p);
    expect(pos.blockNumber).toBe(9);
    expect(pos.blocksInBuffer).toBeUndefined();
    expect(pos.bytesInBuffer).toBe(0x1000);
    const perr = parseReadPositionShort(Uint8Array.from([0x02, ...new Array<number>(19).fill(0)]));
    expect(parseError(() => toTapePosition(perr)).field).toBe('perr');
  });

  it("tgt's short-form answer (byte 0 = 14h, the data length) reads as BYCU + BPU: position unknown", () => {
    const tgt = Uint8Array.from([0x14, ...new Array<number>(19).fill(0)]);
    const p = parseReadPositionShort(tgt);
    expect(p.bycu).toBe(true);
    expect(p.bpu).toBe(true);
    expect(parseError(() => toTapePosition(p)).code).toBe('POSITION_UNKNOWN');
  });

  it('rejects fewer than 20 bytes', () => {
    const err = parseError(() => parseReadPositionShort(new Uint8Array(19)));
    expect(err.code).toBe('RESPONSE_TOO_SHORT');
    expect(err.length).toBe(19);
    expect(err.opcode).toBe(0x34);
  });
});

describe('long form (06h)', () => {
  it('partition, 64-bit logical object number and logical file identifier', () => {
    const buf = Uint8Array.from([
      0x40,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x02, // partition
      0x00,
      0x00,
      0x00,
      0x01,
      0x00,
      0x00,
      0x00,
      0x05, // logical object number 2^32 + 5
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x03, // logical file identifier
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
    ]);
    const p = parseReadPositionLong(buf);
    expect(p).toEqual({
      form: 'long',
      bop: false,
      eop: true,
      mpu: false,
      lonu: false,
      bpew: false,
      partition: 2,
      logicalObjectNumber: 4294967301,
      logicalFileIdentifier: 3,
    });
    expect(toTapePosition(p)).toEqual({
      partition: 2,
      blockNumber: 4294967301,
      fileNumber: 3,
      bop: false,
      eop: true,
      blocksInBuffer: undefined,
      bytesInBuffer: undefined,
    });
  });

  it('flags: BOP 7, MPU 3, LONU 2, BPEW 0', () => {
    const p = parseReadPositionLong(Uint8Array.from([0x8d, ...new Array<number>(31).fill(0)]));
    expect([p.bop, p.eop, p.mpu, p.lonu, p.bpew]).toEqual([true, false, true, true, true]);
    expect(parseError(() => toTapePosition(p)).field).toBe('lonu');
    const mpuOnly = parseReadPositionLong(Uint8Array.from([0x08, ...new Array<number>(31).fill(0)]));
    expect(parseError(() => toTapePosition(mpuOnly)).field).toBe('mpu');
  });

  it("tgt's long-form answer (byte 0 = 20h, the data length, a reserved bit) reads as position 0", () => {
    const p = parseReadPositionLong(Uint8Array.from([0x20, ...new Array<number>(31).fill(0)]));
    expect(toTapePosition(p)).toMatchObject({ partition: 0, blockNumber: 0, fileNumber: 0, bop: false });
  });

  it('rejects numbers beyond 2^53 and short buffers', () => {
    const buf = new Uint8Array(32);
    buf[9] = 0x20; // logical object number 0x0020_0000_0000_0000 = 2^53
    const err = parseError(() => parseReadPositionLong(buf));
    expect(err.code).toBe('RESPONSE_VALUE_TOO_LARGE');
    expect(err.field).toBe('logicalObjectNumber');
    expect(parseError(() => parseReadPositionLong(new Uint8Array(20))).code).toBe('RESPONSE_TOO_SHORT');
  });
});

describe('extended form (08h)', () => {
  it('24-bit object count, 64-bit locations and byte count', () => {
    const buf = Uint8Array.from([
      0x80,
      0x00,
      0x00,
      0x1c,
      0x00,
      0x00,
      0x00,
      0x07, // objects in buffer
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x10, // first logical object location
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x09, // last logical object location
      0x00,
      0x00,
      0x00,
      0x01,
      0x00,
      0x00,
      0x00,
      0x00, // bytes in buffer
    ]);
    const p = parseReadPositionExtended(buf);
    expect(p).toMatchObject({
      form: 'extended',
      bop: true,
      partition: 0,
      additionalLength: 0x1c,
      objectsInBuffer: 7,
      firstLogicalObjectLocation: 16,
      lastLogicalObjectLocation: 9,
      bytesInBuffer: 4294967296,
    });
    expect(toTapePosition(p)).toEqual({
      partition: 0,
      blockNumber: 16,
      fileNumber: undefined,
      bop: true,
      eop: false,
      blocksInBuffer: 7,
      bytesInBuffer: 4294967296,
    });
  });

  it('rejects a short buffer', () => {
    expect(parseError(() => parseReadPositionExtended(new Uint8Array(31))).code).toBe('RESPONSE_TOO_SHORT');
  });
});
