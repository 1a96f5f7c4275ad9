import { describe, expect, it } from 'vitest';
import {
  buildDeviceConfigurationExtension,
  parseDeviceConfigurationExtension,
  WriteMode,
} from './device-configuration-extension';
import { InvalidArgumentError, ResponseParseError } from './errors';

const bytes = (b: Uint8Array): number[] => Array.from(b);

describe('Device Configuration Extension page (10h/01h)', () => {
  it('append-only: SPF page 10h, subpage 01h, length 1Ch, WRITE MODE 1 in byte 5 bits 7..4', () => {
    expect(bytes(buildDeviceConfigurationExtension({ appendOnly: true }))).toEqual([
      0x50, 0x01, 0x00, 0x1c, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
  });

  it('every field in its place', () => {
    const page = buildDeviceConfigurationExtension({
      tapeAlertRespectParameterFields: true,
      tapeAlertSelectExceptionReporting: true,
      tapeAlertRespectPageControl: true,
      tapeAlertPreventLogSenseDeactivation: true,
      writeMode: WriteMode.APPEND_ONLY,
      shortEraseMode: 2,
      programmableEarlyWarningSize: 0x0102,
      automationWritesRequireEncryption: true,
      writesRequireEncryption: true,
      automationEncryptedVolumeRequiresEncryption: true,
      encryptedVolumeRequiresEncryption: true,
    });
    expect(bytes(page.subarray(0, 10))).toEqual([0x50, 0x01, 0x00, 0x1c, 0x0f, 0x12, 0x01, 0x02, 0x0f, 0x00]);
    expect(page.length).toBe(32);
  });

  it('parses what it builds, and a parsed page can be spread back with one field flipped', () => {
    const parsed = parseDeviceConfigurationExtension(
      Uint8Array.from([
        0xd0,
        0x01,
        0x00,
        0x1c,
        0x05,
        0x12,
        0x00,
        0x64,
        0x01,
        ...new Array<number>(23).fill(0),
      ]),
    );
    expect(parsed).toEqual({
      parametersSavable: true,
      tapeAlertRespectParameterFields: false,
      tapeAlertSelectExceptionReporting: true,
      tapeAlertRespectPageControl: false,
      tapeAlertPreventLogSenseDeactivation: true,
      writeMode: 1,
      appendOnly: true,
      shortEraseMode: 2,
      programmableEarlyWarningSize: 100,
      automationWritesRequireEncryption: false,
      writesRequireEncryption: false,
      automationEncryptedVolumeRequiresEncryption: false,
      encryptedVolumeRequiresEncryption: true,
    });
    const { parametersSavable: _ps, ...fields } = parsed;
    const off = buildDeviceConfigurationExtension({ ...fields, appendOnly: false });
    // PS cleared for MODE SELECT, WRITE MODE 0, everything else kept.
    expect(bytes(off.subarray(0, 9))).toEqual([0x50, 0x01, 0x00, 0x1c, 0x05, 0x02, 0x00, 0x64, 0x01]);
    expect(parseDeviceConfigurationExtension(off).appendOnly).toBe(false);
  });

  it('vendor-specific write modes are not append-only', () => {
    const page = buildDeviceConfigurationExtension({ writeMode: 0x0e });
    expect(page[5]).toBe(0xe0);
    expect(parseDeviceConfigurationExtension(page)).toMatchObject({ writeMode: 0x0e, appendOnly: false });
  });

  it('rejects out-of-range fields', () => {
    for (const [options, argument] of [
      [{ writeMode: 16 }, 'writeMode'],
      [{ shortEraseMode: -1 }, 'shortEraseMode'],
      [{ programmableEarlyWarningSize: 0x10000 }, 'programmableEarlyWarningSize'],
      [{ appendOnly: 'yes' as unknown as boolean }, 'appendOnly'],
    ] as const) {
      let caught: unknown;
      try {
        buildDeviceConfigurationExtension(options);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it('rejects other pages and short buffers', () => {
    const cases: Array<[number[], string]> = [
      [[0x10, 0x0e, 0, 0, 0, 0, 0, 0, 0], 'RESPONSE_MALFORMED'], // page 10h without SPF
      [[0x50, 0x02, 0, 0x1c, 0, 0, 0, 0, 0], 'RESPONSE_MALFORMED'], // subpage 02h
      [[0x51, 0x01, 0, 0x1c, 0, 0, 0, 0, 0], 'RESPONSE_MALFORMED'], // page 11h
      [[0x50, 0x01, 0, 0x1c, 0, 0x10], 'RESPONSE_TOO_SHORT'],
    ];
    for (const [buf, code] of cases) {
      let caught: unknown;
      try {
        parseDeviceConfigurationExtension(Uint8Array.from(buf));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ResponseParseError);
      expect((caught as ResponseParseError).code).toBe(code);
    }
  });
});
