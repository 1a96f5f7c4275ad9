import { describe, expect, it } from 'vitest';
import { buildDeviceConfigurationExtension } from './device-configuration-extension';
import { InvalidArgumentError, ResponseParseError } from './errors';
import {
  buildModeParameterList6,
  buildModeParameterList10,
  findModePage,
  parseModeParameters6,
  parseModeParameters10,
} from './mode-parameters';

const bytes = (b: Uint8Array): number[] => Array.from(b);

function thrown<T>(fn: () => unknown, type: new (...args: never[]) => T): T {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as T;
  }
  throw new Error('expected a throw');
}

describe('MODE SELECT parameter lists', () => {
  it('(6): 4-byte header (length reserved, medium type, buffered mode, BDL 8) + block descriptor', () => {
    expect(
      bytes(buildModeParameterList6({ blockDescriptor: { densityCode: 0x58, blockLength: 0 } })),
    ).toEqual([0x00, 0x00, 0x10, 0x08, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(
      bytes(
        buildModeParameterList6({
          bufferedMode: 2,
          speed: 3,
          blockDescriptor: { densityCode: 0, numberOfBlocks: 0x010203, blockLength: 0x040000 },
        }),
      ),
    ).toEqual([0x00, 0x00, 0x23, 0x08, 0x00, 0x01, 0x02, 0x03, 0x00, 0x04, 0x00, 0x00]);
  });

  it('(6): no block descriptor, BDL 0', () => {
    expect(bytes(buildModeParameterList6({ bufferedMode: 0 }))).toEqual([0x00, 0x00, 0x00, 0x00]);
  });

  it('(10): 8-byte header, BDL 0, then the full Device Configuration Extension page (append-only)', () => {
    const list = buildModeParameterList10({
      pages: [buildDeviceConfigurationExtension({ appendOnly: true })],
    });
    expect(list.length).toBe(40);
    expect(bytes(list.subarray(0, 8))).toEqual([0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00]);
    expect(bytes(list.subarray(8, 17))).toEqual([0x50, 0x01, 0x00, 0x1c, 0x00, 0x10, 0x00, 0x00, 0x00]);
    expect(bytes(list.subarray(17))).toEqual(new Array<number>(23).fill(0));
  });

  it('(10): block descriptor length in bytes 6..7', () => {
    expect(
      bytes(buildModeParameterList10({ blockDescriptor: { densityCode: 0x5c, blockLength: 512 } })),
    ).toEqual([
      0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x5c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
    ]);
  });

  it('rejects pages with PS set, non-pages, oversize lists and bad header fields', () => {
    const ps = Uint8Array.from([0x90, 0x01, 0x00, 0x1c]);
    expect(thrown(() => buildModeParameterList6({ pages: [ps] }), InvalidArgumentError).argument).toBe(
      'pages[0]',
    );
    expect(
      thrown(() => buildModeParameterList10({ pages: [new Uint8Array(1)] }), InvalidArgumentError).argument,
    ).toBe('pages[0]');
    const big = new Uint8Array(300);
    big[0] = 0x10;
    expect(thrown(() => buildModeParameterList6({ pages: [big] }), InvalidArgumentError).argument).toBe(
      'pages',
    );
    expect(thrown(() => buildModeParameterList6({ bufferedMode: 8 }), InvalidArgumentError).argument).toBe(
      'bufferedMode',
    );
    expect(
      thrown(
        () => buildModeParameterList10({ blockDescriptor: { densityCode: 0, blockLength: 0x1000000 } }),
        InvalidArgumentError,
      ).argument,
    ).toBe('blockDescriptor.blockLength');
  });
});

describe('MODE SENSE(6) data', () => {
  // WP set, buffered mode 1, one block descriptor (density 58h, 512-byte blocks),
  // then the Device Configuration page (10h, page_0 format, length 0Eh).
  const sense6 = Uint8Array.from([
    0x1b, 0x00, 0x90, 0x08, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x10, 0x0e, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x64, 0x40, 0x00, 0x18, 0x00, 0x00, 0x00, 0x01, 0x80,
  ]);

  it('parses header, device-specific parameter, block descriptor and pages', () => {
    const p = parseModeParameters6(sense6);
    expect(p.headerLength).toBe(4);
    expect(p.modeDataLength).toBe(0x1b);
    expect(p.mediumType).toBe(0);
    expect(p.deviceSpecific).toEqual({ raw: 0x90, writeProtected: true, bufferedMode: 1, speed: 0 });
    expect(p.blockDescriptorLength).toBe(8);
    expect(p.blockDescriptors).toEqual([{ densityCode: 0x58, numberOfBlocks: 0, blockLength: 512 }]);
    expect(p.pages).toHaveLength(1);
    const page = p.pages[0];
    expect(page?.pageCode).toBe(0x10);
    expect(page?.subpageCode).toBe(0);
    expect(page?.subpageFormat).toBe(false);
    expect(page?.parametersSavable).toBe(false);
    expect(page?.pageLength).toBe(0x0e);
    expect(bytes(page?.bytes ?? new Uint8Array())).toEqual(bytes(sense6.subarray(12)));
    expect(p.truncated).toBe(false);
    expect(findModePage(p, 0x10)?.pageLength).toBe(0x0e);
    expect(findModePage(p, 0x10, 0x01)).toBeUndefined();
  });

  it('flags a response cut by a small allocation length', () => {
    const p = parseModeParameters6(sense6.subarray(0, 20));
    expect(p.truncated).toBe(true);
    expect(p.blockDescriptors).toHaveLength(1);
    expect(p.pages).toEqual([]);
    const headerOnly = parseModeParameters6(sense6.subarray(0, 8));
    expect(headerOnly.truncated).toBe(true);
    expect(headerOnly.blockDescriptors).toEqual([]);
  });

  it('ignores bytes past MODE DATA LENGTH', () => {
    const padded = Uint8Array.from([0x03, 0x00, 0x10, 0x00, 0x10, 0x0e, 0xff]);
    const p = parseModeParameters6(padded);
    expect(p.pages).toEqual([]);
    expect(p.truncated).toBe(false);
  });

  it('rejects short headers and odd block descriptor lengths', () => {
    expect(thrown(() => parseModeParameters6(new Uint8Array(3)), ResponseParseError).code).toBe(
      'RESPONSE_TOO_SHORT',
    );
    const odd = Uint8Array.from([0x08, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0]);
    const err = thrown(() => parseModeParameters6(odd), ResponseParseError);
    expect(err.code).toBe('RESPONSE_MALFORMED');
    expect(err.field).toBe('blockDescriptorLength');
  });
});

describe('MODE SENSE(10) data', () => {
  // DBD, buffered mode 1, then the Device Configuration Extension page in append-only mode with
  // SHORT ERASE MODE 2 (the shape mhVTL answers with append-only switched on).
  const sense10 = Uint8Array.from([
    0x00,
    0x26,
    0x00,
    0x10,
    0x00,
    0x00,
    0x00,
    0x00,
    0x50,
    0x01,
    0x00,
    0x1c,
    0x00,
    0x12,
    0x00,
    0x00,
    0x00,
    ...new Array<number>(23).fill(0),
  ]);

  it('walks a sub_page format page', () => {
    const p = parseModeParameters10(sense10);
    expect(p.headerLength).toBe(8);
    expect(p.modeDataLength).toBe(0x26);
    expect(p.deviceSpecific.bufferedMode).toBe(1);
    expect(p.deviceSpecific.writeProtected).toBe(false);
    expect(p.blockDescriptors).toEqual([]);
    const page = findModePage(p, 0x10, 0x01);
    expect(page?.subpageFormat).toBe(true);
    expect(page?.pageLength).toBe(0x1c);
    expect(page?.bytes.length).toBe(32);
    expect(p.truncated).toBe(false);
  });

  it('several pages in a row', () => {
    const buf = Uint8Array.from([
      0x00,
      0x0e,
      0x00,
      0x10,
      0x00,
      0x00,
      0x00,
      0x00,
      0x0f,
      0x02,
      0xc0,
      0x80, // page 0Fh length 2
      0xd0,
      0x01,
      0x00,
      0x00, // page 10h/01h, PS set, length 0
    ]);
    const p = parseModeParameters10(buf);
    expect(p.pages.map((x) => [x.pageCode, x.subpageCode, x.parametersSavable])).toEqual([
      [0x0f, 0, false],
      [0x10, 1, true],
    ]);
  });

  it('a sub_page header cut in half marks truncation', () => {
    const p = parseModeParameters10(sense10.subarray(0, 11));
    expect(p.truncated).toBe(true);
    expect(p.pages).toEqual([]);
  });

  it('rejects LONGLBA and short headers', () => {
    const longLba = Uint8Array.from([0x00, 0x06, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]);
    expect(thrown(() => parseModeParameters10(longLba), ResponseParseError).field).toBe('longLba');
    expect(thrown(() => parseModeParameters10(new Uint8Array(7)), ResponseParseError).code).toBe(
      'RESPONSE_TOO_SHORT',
    );
  });
});
