import { describe, expect, it } from 'vitest';
import { type DecodedSense, decodeSense, decodeSenseKeySpecific, senseKeyName } from './sense';

// Fixtures are sense buffers as devices return them. The "tgt" ones are what tgtd 1.0.x builds in
// usr/scsi.c sense_data_build and usr/bs_ssc.c (fixed format, ADDITIONAL SENSE LENGTH 0Ah, 18
// bytes, INFORMATION at bytes 3..6 with VALID set when present).

function decoded(bytes: number[]): DecodedSense {
  const result = decodeSense(Uint8Array.from(bytes));
  if (!result.ok) throw new Error(`expected decodable sense, got ${result.reason}`);
  return result.sense;
}

describe('fixed format (70h/71h)', () => {
  it('tgt READ(6) variable mode meeting a filemark: NO SENSE, FILEMARK, 00/01, residue = requested length', () => {
    // resp_var_read: requested 262144 bytes, the object is a filemark (length 0), info = 262144 - 0.
    const s = decoded([
      0xf0, 0x00, 0x80, 0x00, 0x04, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(s.format).toBe('fixed');
    expect(s.responseCode).toBe(0x70);
    expect(s.deferred).toBe(false);
    expect(s.senseKey).toBe(0x0);
    expect(s.senseKeyName).toBe('NO_SENSE');
    expect(s.filemark).toBe(true);
    expect(s.eom).toBe(false);
    expect(s.ili).toBe(false);
    expect(s.asc).toBe(0x00);
    expect(s.ascq).toBe(0x01);
    expect(s.informationValid).toBe(true);
    expect(s.information).toBe(262144);
    expect(s.informationRaw).toBe(0x40000n);
    expect(s.additionalSenseLength).toBe(10);
    expect(s.truncated).toBe(false);
    expect(s.senseKeySpecific).toBeUndefined();
  });

  it('tgt READ(6) fixed mode meeting a filemark: residue = blocks not transferred', () => {
    // resp_fixed_read: 8 blocks requested, filemark met after 3, info = 8 - 3 = 5.
    const s = decoded([
      0xf0, 0x00, 0x80, 0x00, 0x00, 0x00, 0x05, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(s.filemark).toBe(true);
    expect(s.information).toBe(5);
  });

  it('tgt READ(6) of a block longer than requested: ILI with a negative residue', () => {
    // requested 4096, block is 8192: info = 4096 - 8192 = -4096 = FFFFF000h.
    const s = decoded([
      0xf0, 0x00, 0x20, 0xff, 0xff, 0xf0, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(s.ili).toBe(true);
    expect(s.filemark).toBe(false);
    expect(s.information).toBe(-4096);
    expect(s.informationRaw).toBe(0xfffff000n);
  });

  it('tgt ALLOW OVERWRITE: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE 20/00, no INFORMATION', () => {
    const s = decoded([
      0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(s.senseKey).toBe(0x5);
    expect(s.senseKeyName).toBe('ILLEGAL_REQUEST');
    expect([s.asc, s.ascq]).toEqual([0x20, 0x00]);
    expect(s.informationValid).toBe(false);
    expect(s.information).toBeUndefined();
  });

  it('tgt READ(6) at end of data: BLANK CHECK with the EOM bit, 00/00', () => {
    const s = decoded([
      0x70, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(s.senseKey).toBe(0x8);
    expect(s.eom).toBe(true);
    expect([s.asc, s.ascq]).toEqual([0, 0]);
  });

  it('a drive reporting end of data the SSC way: BLANK CHECK, 00/05', () => {
    const s = decoded([
      0x70, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(s.senseKeyName).toBe('BLANK_CHECK');
    expect([s.asc, s.ascq]).toEqual([0x00, 0x05]);
  });

  it('deferred 71h MEDIUM ERROR write error with INFORMATION (objects not written)', () => {
    const s = decoded([
      0xf1, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00,
      0x00,
    ]);
    expect(s.responseCode).toBe(0x71);
    expect(s.deferred).toBe(true);
    expect(s.senseKeyName).toBe('MEDIUM_ERROR');
    expect([s.asc, s.ascq]).toEqual([0x0c, 0x00]);
    expect(s.information).toBe(7);
  });

  it('command-specific information, FRU code and SDAT_OVFL', () => {
    const s = decoded([
      0x70, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x0a, 0xde, 0xad, 0xbe, 0xef, 0x44, 0x00, 0x9a, 0x00, 0x00,
      0x00,
    ]);
    expect(s.senseKeyName).toBe('HARDWARE_ERROR');
    expect(s.senseDataOverflow).toBe(true);
    expect(s.commandSpecificInformation).toBe(0xdeadbeefn);
    expect(s.fieldReplaceableUnitCode).toBe(0x9a);
  });

  it('ILLEGAL REQUEST with a CDB field pointer and bit pointer (SKSV, C/D, BPV)', () => {
    const s = decoded([
      0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0xcb, 0x00,
      0x01,
    ]);
    expect(s.senseKeySpecific).toEqual({
      kind: 'field-pointer',
      inCdb: true,
      fieldPointer: 1,
      bitPointer: 3,
    });
  });

  it('ILLEGAL REQUEST pointing into the parameter list without a bit pointer', () => {
    const s = decoded([
      0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x80, 0x00,
      0x15,
    ]);
    expect(s.senseKeySpecific).toEqual({
      kind: 'field-pointer',
      inCdb: false,
      fieldPointer: 0x15,
      bitPointer: undefined,
    });
  });

  it('NOT READY with progress indication (half done)', () => {
    const s = decoded([
      0x70, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x04, 0x07, 0x00, 0x80, 0x80,
      0x00,
    ]);
    expect(s.senseKeySpecific).toEqual({ kind: 'progress', progress: 0x8000, percent: 50 });
  });

  it('SKSV clear: no sense-key-specific information', () => {
    const s = decoded([
      0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x4b, 0x00,
      0x01,
    ]);
    expect(s.senseKeySpecific).toBeUndefined();
  });

  it('bytes beyond ADDITIONAL SENSE LENGTH are ignored', () => {
    // Length 6: the descriptor ends at byte 13, so the SKSV byte at 15 is padding.
    const s = decoded([
      0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0xcb, 0x00,
      0x01,
    ]);
    expect(s.truncated).toBe(false);
    expect([s.asc, s.ascq]).toEqual([0x24, 0x00]);
    expect(s.senseKeySpecific).toBeUndefined();
  });

  it('a buffer shorter than ADDITIONAL SENSE LENGTH is decoded as far as it goes', () => {
    const s = decoded([0x70, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x11, 0x01]);
    expect(s.truncated).toBe(true);
    expect(s.senseKeyName).toBe('MEDIUM_ERROR');
    expect([s.asc, s.ascq]).toEqual([0x11, 0x01]);
    const cut = decoded([0xf0, 0x00, 0x83, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00]);
    expect(cut.truncated).toBe(true);
    expect(cut.filemark).toBe(true);
    expect(cut.information).toBe(1);
    expect([cut.asc, cut.ascq]).toEqual([0, 0]);
    const tiny = decoded([0x70, 0x00, 0x06]);
    expect(tiny.truncated).toBe(true);
    expect(tiny.senseKeyName).toBe('UNIT_ATTENTION');
    expect(tiny.informationValid).toBe(false);
  });
});

describe('descriptor format (72h/73h)', () => {
  it('information + stream commands descriptors: filemark with a residue of 2', () => {
    const s = decoded([
      0x72, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
      // information descriptor: type 00h, length 0Ah, VALID, INFORMATION = 2
      0x00, 0x0a, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
      // stream commands descriptor: type 04h, length 02h, FILEMARK
      0x04, 0x02, 0x00, 0x80,
    ]);
    expect(s.format).toBe('descriptor');
    expect(s.deferred).toBe(false);
    expect(s.senseKeyName).toBe('NO_SENSE');
    expect([s.asc, s.ascq]).toEqual([0x00, 0x01]);
    expect(s.filemark).toBe(true);
    expect(s.eom).toBe(false);
    expect(s.informationValid).toBe(true);
    expect(s.information).toBe(2);
    expect(s.informationRaw).toBe(2n);
    expect(s.descriptors.map((d) => d.kind)).toEqual(['information', 'stream-commands']);
    expect(s.truncated).toBe(false);
  });

  it('deferred 73h with EOM + ILI and a negative 64-bit INFORMATION', () => {
    const s = decoded([
      0x73, 0x03, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0a, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0x04, 0x02, 0x00, 0x60,
    ]);
    expect(s.responseCode).toBe(0x73);
    expect(s.deferred).toBe(true);
    expect(s.senseKeyName).toBe('MEDIUM_ERROR');
    expect(s.eom).toBe(true);
    expect(s.ili).toBe(true);
    expect(s.information).toBe(-1);
    expect(s.informationRaw).toBe(0xffffffffffffffffn);
  });

  it('tgt descriptor sense (sense_format=1): 8 bytes, no descriptors', () => {
    const s = decoded([0x72, 0x05, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(s.senseKeyName).toBe('ILLEGAL_REQUEST');
    expect([s.asc, s.ascq]).toEqual([0x20, 0x00]);
    expect(s.descriptors).toEqual([]);
    expect(s.truncated).toBe(false);
  });

  it('information descriptor with VALID clear is kept but not applied', () => {
    const s = decoded([
      0x72, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x09,
    ]);
    expect(s.informationValid).toBe(false);
    expect(s.information).toBeUndefined();
    expect(s.descriptors[0]).toEqual({ type: 0, kind: 'information', valid: false, information: 9n });
  });

  it('an INFORMATION beyond 2^53 keeps the raw value only', () => {
    const s = decoded([
      0x72, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00,
    ]);
    expect(s.informationValid).toBe(true);
    expect(s.information).toBeUndefined();
    expect(s.informationRaw).toBe(0x0100000000000000n);
  });

  it('command-specific, sense-key-specific, FRU, block commands and unknown descriptors', () => {
    const s = decoded([
      0x72, 0x02, 0x04, 0x01, 0x80, 0x00, 0x00, 0x20,
      // command-specific information = 0x1122334455667788
      0x01, 0x0a, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
      // sense-key-specific: SKSV, progress 0010h
      0x02, 0x06, 0x00, 0x00, 0x80, 0x00, 0x10, 0x00,
      // field replaceable unit code 7Eh
      0x03, 0x02, 0x00, 0x7e,
      // block commands, ILI
      0x05, 0x02, 0x00, 0x20,
      // vendor specific descriptor 80h with two bytes
      0x80, 0x02, 0xab, 0xcd,
    ]);
    expect(s.senseKeyName).toBe('NOT_READY');
    expect(s.senseDataOverflow).toBe(true);
    expect(s.commandSpecificInformation).toBe(0x1122334455667788n);
    expect(s.senseKeySpecific).toEqual({ kind: 'progress', progress: 0x10, percent: 0.02 });
    expect(s.fieldReplaceableUnitCode).toBe(0x7e);
    expect(s.ili).toBe(true);
    const last = s.descriptors[4];
    expect(last?.kind).toBe('other');
    expect(last?.type).toBe(0x80);
    expect(last && 'bytes' in last ? Array.from(last.bytes) : []).toEqual([0x80, 0x02, 0xab, 0xcd]);
  });

  it('a known descriptor shorter than its format is kept raw', () => {
    const s = decoded([0x72, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x02, 0x80, 0x00]);
    expect(s.descriptors).toHaveLength(1);
    expect(s.descriptors[0]?.kind).toBe('other');
    expect(s.informationValid).toBe(false);
  });

  it('a descriptor running past the end marks the sense truncated and is dropped', () => {
    const s = decoded([
      0x72, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x04, 0x02, 0x00, 0x80, 0x00, 0x0a, 0x80, 0x00, 0x00,
    ]);
    expect(s.truncated).toBe(true);
    expect(s.filemark).toBe(true);
    expect(s.descriptors.map((d) => d.kind)).toEqual(['stream-commands']);
  });

  it('a stray byte after the last descriptor marks the sense truncated', () => {
    const s = decoded([0x72, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x04, 0x02, 0x00, 0x40, 0x07]);
    expect(s.eom).toBe(true);
    expect(s.truncated).toBe(true);
  });

  it('only two bytes: key known, everything else absent', () => {
    const s = decoded([0x72, 0x06]);
    expect(s.senseKeyName).toBe('UNIT_ATTENTION');
    expect(s.truncated).toBe(true);
    expect([s.asc, s.ascq]).toEqual([0, 0]);
  });
});

describe('garbage', () => {
  it('empty, too short and unknown response codes yield a typed failure', () => {
    expect(decodeSense(new Uint8Array(0))).toMatchObject({ ok: false, reason: 'EMPTY', length: 0 });
    expect(decodeSense(Uint8Array.from([0x70, 0x00]))).toMatchObject({
      ok: false,
      reason: 'TOO_SHORT',
      responseCode: 0x70,
      length: 2,
    });
    expect(decodeSense(Uint8Array.from([0x72]))).toMatchObject({
      ok: false,
      reason: 'TOO_SHORT',
      responseCode: 0x72,
    });
    expect(decodeSense(Uint8Array.from([0x7f, 0x00, 0x05, 0x00]))).toMatchObject({
      ok: false,
      reason: 'UNSUPPORTED_RESPONSE_CODE',
      responseCode: 0x7f,
    });
    expect(decodeSense(new Uint8Array(18))).toMatchObject({
      ok: false,
      reason: 'UNSUPPORTED_RESPONSE_CODE',
      responseCode: 0,
    });
  });

  it('never throws on random bytes, and every success is internally consistent', () => {
    // Deterministic xorshift so a failure reproduces.
    let state = 0x2545f491;
    const next = (): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
    let decodedCount = 0;
    for (let i = 0; i < 20_000; i++) {
      const len = next() % 64;
      const buf = new Uint8Array(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      // Bias half the cases towards valid response codes so the decoders are exercised.
      if (len > 0 && i % 2 === 0) buf[0] = 0x70 + (next() % 4) + (next() & 0x80);
      const result = decodeSense(buf);
      if (result.ok) {
        decodedCount++;
        expect(result.sense.senseKey).toBeLessThanOrEqual(0x0f);
        expect([0x70, 0x71, 0x72, 0x73]).toContain(result.sense.responseCode);
        expect(result.sense.deferred).toBe(
          result.sense.responseCode === 0x71 || result.sense.responseCode === 0x73,
        );
      } else {
        expect(['EMPTY', 'TOO_SHORT', 'UNSUPPORTED_RESPONSE_CODE']).toContain(result.reason);
      }
    }
    expect(decodedCount).toBeGreaterThan(5_000);
  });
});

describe('sense-key-specific and names', () => {
  it('decodes per sense key', () => {
    expect(decodeSenseKeySpecific(0x3, Uint8Array.from([0x80, 0x00, 0x03]))).toEqual({
      kind: 'retry-count',
      actualRetryCount: 3,
    });
    expect(decodeSenseKeySpecific(0x6, Uint8Array.from([0x81, 0x00, 0x00]))).toEqual({
      kind: 'unit-attention-queue',
      overflow: true,
    });
    expect(decodeSenseKeySpecific(0xa, Uint8Array.from([0xa9, 0x01, 0x02]))).toEqual({
      kind: 'segment-pointer',
      segmentDescriptor: true,
      fieldPointer: 0x0102,
      bitPointer: 1,
    });
    const raw = decodeSenseKeySpecific(0x7, Uint8Array.from([0x80, 0x12, 0x34]));
    expect(raw.kind).toBe('raw');
    expect(raw.kind === 'raw' ? Array.from(raw.bytes) : []).toEqual([0x80, 0x12, 0x34]);
  });

  it('names sense keys, including reserved ones', () => {
    expect(senseKeyName(0x0d)).toBe('VOLUME_OVERFLOW');
    expect(senseKeyName(0x0c)).toBe('RESERVED_0C');
  });
});
