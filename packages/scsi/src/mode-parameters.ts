/**
 * Mode parameter lists (SPC-4 "Mode parameters", SSC-4 device-specific parameter and block
 * descriptor): parsing what MODE SENSE(6/10) returns and building what MODE SELECT(6/10) sends.
 *
 * Layout: mode parameter header (4 bytes for the (6) commands, 8 bytes for the (10) commands),
 * then zero or more 8-byte block descriptors, then mode pages.
 */
import { bit, byteAt, checkInt, getUint, putU16, putU24 } from './bytes';
import { InvalidArgumentError, ResponseParseError } from './errors';

/** The device-specific parameter byte of the header as SSC-4 defines it for tape. */
export interface DeviceSpecificParameter {
  raw: number;
  /** WP: the medium is write protected (MODE SENSE only). */
  writeProtected: boolean;
  /** BUFFERED MODE: 0 = unbuffered, 1 = buffered, 2 = buffered with unit-ordering. */
  bufferedMode: number;
  /** SPEED: 0 = default speed. */
  speed: number;
}

/** A short-form block descriptor (SSC-4): density, number of blocks and block length. */
export interface BlockDescriptor {
  densityCode: number;
  /** NUMBER OF BLOCKS (24 bits); tape drives report 0. */
  numberOfBlocks: number;
  /** BLOCK LENGTH (24 bits); 0 = variable-block mode. */
  blockLength: number;
}

/** One mode page as found in the parameter list. */
export interface ModePage {
  pageCode: number;
  /** 0 for page_0 format pages. */
  subpageCode: number;
  /** SPF: the page uses the sub_page format (4-byte header). */
  subpageFormat: boolean;
  /** PS: the page can be saved. */
  parametersSavable: boolean;
  /** PAGE LENGTH as sent (bytes after the page header). */
  pageLength: number;
  /** The whole page, header included. */
  bytes: Uint8Array;
}

export interface ModeParameters {
  /** 4 for MODE SENSE(6) data, 8 for MODE SENSE(10) data. */
  headerLength: 4 | 8;
  /** MODE DATA LENGTH as sent (bytes that follow the length field). */
  modeDataLength: number;
  mediumType: number;
  deviceSpecific: DeviceSpecificParameter;
  blockDescriptorLength: number;
  blockDescriptors: BlockDescriptor[];
  pages: ModePage[];
  /** The buffer ended before MODE DATA LENGTH said (allocation length too small); pages may be missing. */
  truncated: boolean;
}

function decodeDeviceSpecific(raw: number): DeviceSpecificParameter {
  return { raw, writeProtected: bit(raw, 7), bufferedMode: (raw >>> 4) & 0x07, speed: raw & 0x0f };
}

function malformed(response: string, message: string, length: number, field?: string): ResponseParseError {
  return new ResponseParseError('RESPONSE_MALFORMED', message, {
    response,
    length,
    ...(field === undefined ? {} : { field }),
  });
}

/** Parses MODE SENSE(6) parameter data. */
export function parseModeParameters6(buf: Uint8Array): ModeParameters {
  const response = 'MODE SENSE(6) data';
  if (buf.length < 4) {
    throw new ResponseParseError('RESPONSE_TOO_SHORT', `${buf.length} bytes, need 4`, {
      response,
      length: buf.length,
    });
  }
  const modeDataLength = byteAt(buf, 0);
  return parseBody(
    buf,
    response,
    4,
    modeDataLength,
    modeDataLength + 1,
    byteAt(buf, 1),
    byteAt(buf, 2),
    byteAt(buf, 3),
  );
}

/** Parses MODE SENSE(10) parameter data. */
export function parseModeParameters10(buf: Uint8Array): ModeParameters {
  const response = 'MODE SENSE(10) data';
  if (buf.length < 8) {
    throw new ResponseParseError('RESPONSE_TOO_SHORT', `${buf.length} bytes, need 8`, {
      response,
      length: buf.length,
    });
  }
  if (bit(byteAt(buf, 4), 0)) {
    throw malformed(
      response,
      'LONGLBA block descriptors are not used by sequential-access devices',
      buf.length,
      'longLba',
    );
  }
  const modeDataLength = getUint(buf, 0, 2);
  return parseBody(
    buf,
    response,
    8,
    modeDataLength,
    modeDataLength + 2,
    byteAt(buf, 2),
    byteAt(buf, 3),
    getUint(buf, 6, 2),
  );
}

function parseBody(
  buf: Uint8Array,
  response: string,
  headerLength: 4 | 8,
  modeDataLength: number,
  announcedTotal: number,
  mediumType: number,
  deviceSpecific: number,
  blockDescriptorLength: number,
): ModeParameters {
  if (blockDescriptorLength % 8 !== 0) {
    throw malformed(
      response,
      `block descriptor length ${blockDescriptorLength} is not a multiple of 8`,
      buf.length,
      'blockDescriptorLength',
    );
  }
  const end = Math.min(buf.length, announcedTotal);
  let truncated = buf.length < announcedTotal;
  const blockDescriptors: BlockDescriptor[] = [];
  let offset: number = headerLength;
  const descriptorsEnd = headerLength + blockDescriptorLength;
  for (; offset + 8 <= Math.min(end, descriptorsEnd); offset += 8) {
    blockDescriptors.push({
      densityCode: byteAt(buf, offset),
      numberOfBlocks: getUint(buf, offset + 1, 3),
      blockLength: getUint(buf, offset + 5, 3),
    });
  }
  if (descriptorsEnd > end) truncated = true;
  const pages: ModePage[] = [];
  offset = descriptorsEnd;
  while (offset + 2 <= end) {
    const b0 = byteAt(buf, offset);
    const spf = bit(b0, 6);
    const pageHeader = spf ? 4 : 2;
    if (offset + pageHeader > end) {
      truncated = true;
      break;
    }
    const pageLength = spf ? getUint(buf, offset + 2, 2) : byteAt(buf, offset + 1);
    const total = pageHeader + pageLength;
    if (offset + total > end) {
      truncated = true;
      break;
    }
    pages.push({
      pageCode: b0 & 0x3f,
      subpageCode: spf ? byteAt(buf, offset + 1) : 0,
      subpageFormat: spf,
      parametersSavable: bit(b0, 7),
      pageLength,
      bytes: buf.slice(offset, offset + total),
    });
    offset += total;
  }
  if (offset < end && offset + 2 > end) truncated = true;
  return {
    headerLength,
    modeDataLength,
    mediumType,
    deviceSpecific: decodeDeviceSpecific(deviceSpecific),
    blockDescriptorLength,
    blockDescriptors,
    pages,
    truncated,
  };
}

/** The page with the given page and subpage code, if the parameter data holds it. */
export function findModePage(
  params: ModeParameters,
  pageCode: number,
  subpageCode = 0,
): ModePage | undefined {
  return params.pages.find((p) => p.pageCode === pageCode && p.subpageCode === subpageCode);
}

export interface ModeParameterListOptions {
  /** MEDIUM TYPE; 0 for tape. */
  mediumType?: number;
  /**
   * BUFFERED MODE, 0..7. Defaults to 1 (buffered): a MODE SELECT applies this field, and 0 would
   * turn the drive's write buffer off, which defeats immediate filemarks.
   */
  bufferedMode?: number;
  /** SPEED, 0..15; 0 = the drive's default. */
  speed?: number;
  /** One block descriptor (density, block length); omit to leave them unchanged. */
  blockDescriptor?: { densityCode: number; numberOfBlocks?: number; blockLength: number };
  /** Mode pages to send, each complete with its header (PS must be 0). */
  pages?: Uint8Array[];
}

function headerFields(options: ModeParameterListOptions): { mediumType: number; deviceSpecific: number } {
  const mediumType = checkInt('mediumType', options.mediumType ?? 0, 0, 0xff);
  const bufferedMode = checkInt('bufferedMode', options.bufferedMode ?? 1, 0, 7);
  const speed = checkInt('speed', options.speed ?? 0, 0, 0x0f);
  // WP is reserved on MODE SELECT: leave bit 7 clear.
  return { mediumType, deviceSpecific: (bufferedMode << 4) | speed };
}

function descriptorBytes(options: ModeParameterListOptions): Uint8Array {
  const bd = options.blockDescriptor;
  if (bd === undefined) return new Uint8Array(0);
  const out = new Uint8Array(8);
  out[0] = checkInt('blockDescriptor.densityCode', bd.densityCode, 0, 0xff);
  putU24(out, 1, checkInt('blockDescriptor.numberOfBlocks', bd.numberOfBlocks ?? 0, 0, 0xff_ffff));
  putU24(out, 5, checkInt('blockDescriptor.blockLength', bd.blockLength, 0, 0xff_ffff));
  return out;
}

function pagesBytes(pages: Uint8Array[] | undefined): Uint8Array[] {
  return (pages ?? []).map((p, i) => {
    if (!(p instanceof Uint8Array) || p.length < 2) {
      throw new InvalidArgumentError(
        `pages[${i}]`,
        p,
        'a complete mode page (Uint8Array of at least 2 bytes)',
      );
    }
    if (bit(p[0] ?? 0, 7))
      throw new InvalidArgumentError(
        `pages[${i}]`,
        'PS=1',
        'a page with PS=0 (PS is reserved in MODE SELECT)',
      );
    return p;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Builds a MODE SELECT(6) parameter list. MODE DATA LENGTH is reserved (0) on MODE SELECT. */
export function buildModeParameterList6(options: ModeParameterListOptions = {}): Uint8Array {
  const { mediumType, deviceSpecific } = headerFields(options);
  const bd = descriptorBytes(options);
  const header = new Uint8Array([0, mediumType, deviceSpecific, bd.length]);
  const list = concat([header, bd, ...pagesBytes(options.pages)]);
  if (list.length > 0xff)
    throw new InvalidArgumentError('pages', list.length, 'at most 255 bytes in total for MODE SELECT(6)');
  return list;
}

/** Builds a MODE SELECT(10) parameter list. */
export function buildModeParameterList10(options: ModeParameterListOptions = {}): Uint8Array {
  const { mediumType, deviceSpecific } = headerFields(options);
  const bd = descriptorBytes(options);
  const header = new Uint8Array(8);
  header[2] = mediumType;
  header[3] = deviceSpecific;
  putU16(header, 6, bd.length);
  const list = concat([header, bd, ...pagesBytes(options.pages)]);
  if (list.length > 0xffff)
    throw new InvalidArgumentError('pages', list.length, 'at most 65535 bytes in total');
  return list;
}
