import { describe, expect, it } from 'vitest';
import {
  BLANK_CARTRIDGE_SIZE,
  BLOCK_HEADER_SIZE,
  BlockType,
  barcodeProblem,
  decodeBlockHeader,
  decodeMam,
  encodeBlankCartridge,
  encodeBlockHeader,
  encodeMam,
  FIRST_BLOCK_OFFSET,
  MAM_SIZE,
  objectHeader,
} from './tgt-format';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// Captured from `tgtimg --op new --device-type tape --barcode=X123 --size=100 --type=data`.
const TGTIMG_BOT_HEADER = hex(`
  46a7456e 00000000 00000064 00000010
  00000000 00000000 00000000 00000000
  00000000 00000000 00000000 00000480`);
const TGTIMG_EOD_HEADER = hex(`
  72951469 00000000 00000000 00000020
  00000000 00000001 00000000 00000000
  00000000 00000480 00000000 00000480`);

describe('block header codec', () => {
  it('encodes the BOT and EOD headers byte for byte as tgtimg does', () => {
    const bytes = encodeBlankCartridge({
      barcode: 'X123',
      capacityBytes: 100 * 1024 * 1024,
      createdAtSeconds: 1,
    });
    expect(bytes.length).toBe(BLANK_CARTRIDGE_SIZE);
    expect(Buffer.from(bytes.subarray(0, 48)).toString('hex')).toBe(
      Buffer.from(TGTIMG_BOT_HEADER).toString('hex'),
    );
    expect(Buffer.from(bytes.subarray(FIRST_BLOCK_OFFSET)).toString('hex')).toBe(
      Buffer.from(TGTIMG_EOD_HEADER).toString('hex'),
    );
  });

  it('decodes tgtimg headers with valid checksums', () => {
    const bot = decodeBlockHeader(TGTIMG_BOT_HEADER);
    expect(bot).toEqual({
      checksumValid: true,
      diskSize: 0,
      blockSize: 100,
      type: BlockType.BOT,
      blockNumber: 0,
      prev: 0,
      curr: 0,
      next: 1152,
    });
    const eod = decodeBlockHeader(TGTIMG_EOD_HEADER);
    expect(eod.type).toBe(BlockType.EOD);
    expect(eod.blockNumber).toBe(1);
    expect(eod.checksumValid).toBe(true);
  });

  it('round-trips 64-bit offsets above 4 GiB', () => {
    const header = objectHeader(6_000_000_000, 2 ** 40 + 5, 2 ** 52 + 7, 262_144, false);
    const decoded = decodeBlockHeader(encodeBlockHeader(header));
    expect(decoded).toEqual({ ...header, checksumValid: true });
    expect(decoded.next).toBe(2 ** 52 + 7 + BLOCK_HEADER_SIZE + 262_144);
  });

  it('flags any flipped bit as a checksum mismatch', () => {
    const header = encodeBlockHeader(objectHeader(3, 1152, 2000, 512, false));
    for (const at of [0, 4, 20, 47]) {
      const copy = header.slice();
      copy[at] = (copy[at] as number) ^ 0x01;
      expect(decodeBlockHeader(copy).checksumValid, `byte ${at}`).toBe(false);
    }
  });

  it('encodes a header at an offset inside a larger buffer', () => {
    const buffer = new Uint8Array(200);
    encodeBlockHeader(objectHeader(0, 0, 1152, 0, true), buffer, 100);
    const decoded = decodeBlockHeader(buffer, 100);
    expect(decoded.type).toBe(BlockType.FILEMARK);
    expect(decoded.checksumValid).toBe(true);
    expect(buffer.subarray(0, 100).every((b) => b === 0)).toBe(true);
  });
});

describe('MAM codec', () => {
  it('lays out fields at tgt offsets and pads the barcode to 31 characters', () => {
    const bytes = encodeBlankCartridge({
      barcode: 'X123',
      capacityBytes: 100 * 1024 * 1024,
      createdAtSeconds: 1795599871,
    });
    const at = (offset: number, length: number) =>
      Buffer.from(bytes.subarray(BLOCK_HEADER_SIZE + offset, BLOCK_HEADER_SIZE + offset + length));
    expect(at(0, 4).readUInt32BE()).toBe(2);
    expect(at(8, 8).readBigUInt64BE()).toBe(104_857_600n);
    expect(at(16, 8).readBigUInt64BE()).toBe(104_857_600n);
    expect(at(40, 8).readBigUInt64BE()).toBe(256n);
    expect(at(264, 16).toString('latin1')).toBe('X123_1795599871\0');
    expect(at(336, 1)[0]).toBe(1);
    expect(at(568, 32).toString('latin1')).toBe(`X123${' '.repeat(27)}\0`);
  });

  it('decodes what it encodes', () => {
    const fields = {
      formatVersion: 2,
      remainingCapacity: 5 * 2 ** 40,
      maxCapacity: 18e12,
      mamSpaceRemaining: 256,
      mediumManufacturer: 'Foo     ',
      mediumSerialNumber: 'TD0001L9_1700000000',
      mediumLength: 384,
      mediumWidth: 127,
      mediumType: 4,
      mediumTypeInformation: 20,
      applicationVendor: 'Bar     ',
      barcode: 'TD0001L9',
      mediaPool: 'offsite',
    };
    const bytes = encodeMam(fields);
    expect(bytes.length).toBe(MAM_SIZE);
    expect(decodeMam(bytes)).toEqual(fields);
  });

  it('keeps the serial number within its field for a long barcode', () => {
    const barcode = 'B'.repeat(31);
    const mam = decodeMam(
      encodeBlankCartridge({ barcode, capacityBytes: 1, createdAtSeconds: 1795599871 }),
      48,
    );
    expect(mam.mediumSerialNumber).toBe(`${'B'.repeat(20)}_1795599871`);
    expect(mam.barcode).toBe(barcode);
  });
});

describe('barcodeProblem', () => {
  it('accepts LTO-style and tgt-style labels', () => {
    expect(barcodeProblem('TD0001L9')).toBeUndefined();
    expect(barcodeProblem('X')).toBeUndefined();
    expect(barcodeProblem('A'.repeat(31))).toBeUndefined();
  });

  it.each<[unknown, string]>([
    ['', 'empty'],
    ['A'.repeat(32), 'too long'],
    ['A B', 'space'],
    ['TD\u00e9', 'non-ASCII'],
    [42, 'not a string'],
  ])('rejects %j (%s)', (value) => {
    expect(barcodeProblem(value)).toMatch(/must be/);
  });
});
