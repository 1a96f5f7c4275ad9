/**
 * The Device Configuration Extension mode page (SSC-4, page 10h subpage 01h, sub_page format,
 * PAGE LENGTH 1Ch, 32 bytes in all). Its WRITE MODE field switches append-only mode on.
 *
 * Field layout (byte: bits):
 *   0: PS(7) SPF(6)=1 PAGE CODE(5-0)=10h    1: SUBPAGE CODE = 01h    2-3: PAGE LENGTH = 001Ch
 *   4: TARPF(3) TASER(2) TARPC(1) TAPLSD(0)
 *   5: WRITE MODE(7-4) SHORT ERASE MODE(3-0)
 *   6-7: PROGRAMMABLE EARLY WARNING SIZE (PEWS)
 *   8: ACWRE(3) WRE(2) ACVCELBRE(1) VCELBRE(0)
 *   9-31: reserved
 *
 * Drives accept WRITE MODE 0 → 1 through MODE SELECT but commonly refuse 1 → 0 (INVALID FIELD IN
 * PARAMETER LIST); append-only mode then ends when the medium is unloaded or the drive is reset.
 */
import { bit, byteAt, checkBool, checkInt, getUint, putU16 } from './bytes';
import { ResponseParseError } from './errors';

export const DEVICE_CONFIGURATION_PAGE = 0x10;
export const DEVICE_CONFIGURATION_EXTENSION_SUBPAGE = 0x01;
/** PAGE LENGTH of the page: 1Ch, so the page is 32 bytes long. */
export const DEVICE_CONFIGURATION_EXTENSION_PAGE_LENGTH = 0x1c;

/** WRITE MODE values. */
export const WriteMode = {
  OVERWRITE_ALLOWED: 0,
  APPEND_ONLY: 1,
} as const;

export interface DeviceConfigurationExtension {
  /** PS (MODE SENSE only): the page can be saved. */
  parametersSavable: boolean;
  /** TARPF: TapeAlert respect parameter fields. */
  tapeAlertRespectParameterFields: boolean;
  /** TASER: TapeAlert select exception reporting. */
  tapeAlertSelectExceptionReporting: boolean;
  /** TARPC: TapeAlert respect page control. */
  tapeAlertRespectPageControl: boolean;
  /** TAPLSD: TapeAlert prevent LOG SENSE deactivation. */
  tapeAlertPreventLogSenseDeactivation: boolean;
  /** WRITE MODE, 0..15: 0 = overwrite allowed, 1 = append-only, 0Eh/0Fh vendor specific. */
  writeMode: number;
  /** WRITE MODE = 1. */
  appendOnly: boolean;
  /** SHORT ERASE MODE, 0..15: 0 = as SSC-2, 1 = ERASE(LONG=0) has no effect, 2 = it records EOD. */
  shortEraseMode: number;
  /** PROGRAMMABLE EARLY WARNING SIZE, in the device's capacity unit (usually MB). */
  programmableEarlyWarningSize: number;
  /** ACWRE: automation configured writes require encryption. */
  automationWritesRequireEncryption: boolean;
  /** WRE: writes require encryption. */
  writesRequireEncryption: boolean;
  /** ACVCELBRE: automation configured, volume containing encrypted blocks requires encryption. */
  automationEncryptedVolumeRequiresEncryption: boolean;
  /** VCELBRE: a volume containing encrypted logical blocks requires encryption. */
  encryptedVolumeRequiresEncryption: boolean;
}

/** Parses the page (starting at its header byte 0), as found by `findModePage(params, 0x10, 0x01)`. */
export function parseDeviceConfigurationExtension(page: Uint8Array): DeviceConfigurationExtension {
  const response = 'Device Configuration Extension mode page';
  if (page.length < 9) {
    throw new ResponseParseError('RESPONSE_TOO_SHORT', `${page.length} bytes, need 9`, {
      response,
      length: page.length,
    });
  }
  const b0 = byteAt(page, 0);
  if (
    (b0 & 0x3f) !== DEVICE_CONFIGURATION_PAGE ||
    !bit(b0, 6) ||
    byteAt(page, 1) !== DEVICE_CONFIGURATION_EXTENSION_SUBPAGE
  ) {
    throw new ResponseParseError('RESPONSE_MALFORMED', 'not page 10h subpage 01h in sub_page format', {
      response,
      field: 'pageCode',
      length: page.length,
    });
  }
  const b4 = byteAt(page, 4);
  const b5 = byteAt(page, 5);
  const b8 = byteAt(page, 8);
  const writeMode = b5 >>> 4;
  return {
    parametersSavable: bit(b0, 7),
    tapeAlertRespectParameterFields: bit(b4, 3),
    tapeAlertSelectExceptionReporting: bit(b4, 2),
    tapeAlertRespectPageControl: bit(b4, 1),
    tapeAlertPreventLogSenseDeactivation: bit(b4, 0),
    writeMode,
    appendOnly: writeMode === WriteMode.APPEND_ONLY,
    shortEraseMode: b5 & 0x0f,
    programmableEarlyWarningSize: getUint(page, 6, 2),
    automationWritesRequireEncryption: bit(b8, 3),
    writesRequireEncryption: bit(b8, 2),
    automationEncryptedVolumeRequiresEncryption: bit(b8, 1),
    encryptedVolumeRequiresEncryption: bit(b8, 0),
  };
}

/** Fields for building the page; start from a parsed page to change only what you mean to. */
export type DeviceConfigurationExtensionOptions = Partial<
  Omit<DeviceConfigurationExtension, 'parametersSavable'>
>;

/**
 * Builds the full 32-byte page for MODE SELECT (PS=0). `appendOnly`, when given, wins over
 * `writeMode` and sets WRITE MODE to 1 (true) or 0 (false), so a parsed page can be spread in and
 * flipped with one field. Unspecified fields are 0.
 */
export function buildDeviceConfigurationExtension(
  options: DeviceConfigurationExtensionOptions = {},
): Uint8Array {
  let writeMode = checkInt('writeMode', options.writeMode ?? 0, 0, 0x0f);
  if (options.appendOnly !== undefined) {
    writeMode = checkBool('appendOnly', options.appendOnly)
      ? WriteMode.APPEND_ONLY
      : WriteMode.OVERWRITE_ALLOWED;
  }
  const page = new Uint8Array(4 + DEVICE_CONFIGURATION_EXTENSION_PAGE_LENGTH);
  page[0] = 0x40 | DEVICE_CONFIGURATION_PAGE;
  page[1] = DEVICE_CONFIGURATION_EXTENSION_SUBPAGE;
  putU16(page, 2, DEVICE_CONFIGURATION_EXTENSION_PAGE_LENGTH);
  page[4] =
    (checkBool('tapeAlertRespectParameterFields', options.tapeAlertRespectParameterFields) ? 0x08 : 0) |
    (checkBool('tapeAlertSelectExceptionReporting', options.tapeAlertSelectExceptionReporting) ? 0x04 : 0) |
    (checkBool('tapeAlertRespectPageControl', options.tapeAlertRespectPageControl) ? 0x02 : 0) |
    (checkBool('tapeAlertPreventLogSenseDeactivation', options.tapeAlertPreventLogSenseDeactivation)
      ? 0x01
      : 0);
  page[5] = (writeMode << 4) | checkInt('shortEraseMode', options.shortEraseMode ?? 0, 0, 0x0f);
  putU16(
    page,
    6,
    checkInt('programmableEarlyWarningSize', options.programmableEarlyWarningSize ?? 0, 0, 0xffff),
  );
  page[8] =
    (checkBool('automationWritesRequireEncryption', options.automationWritesRequireEncryption) ? 0x08 : 0) |
    (checkBool('writesRequireEncryption', options.writesRequireEncryption) ? 0x04 : 0) |
    (checkBool(
      'automationEncryptedVolumeRequiresEncryption',
      options.automationEncryptedVolumeRequiresEncryption,
    )
      ? 0x02
      : 0) |
    (checkBool('encryptedVolumeRequiresEncryption', options.encryptedVolumeRequiresEncryption) ? 0x01 : 0);
  return page;
}
