/**
 * CDB builders for the SPC-4 primary commands a tape writer uses: TEST UNIT READY, INQUIRY,
 * REQUEST SENSE, MODE SENSE(6/10) and MODE SELECT(6/10). Pure: each returns a fresh CDB and
 * throws `InvalidArgumentError` naming the option when a value does not fit its field.
 * The CONTROL byte (last byte) is always 0.
 */
import { checkBool, checkInt, putU16 } from './bytes';
import { InvalidArgumentError } from './errors';
import { Opcode } from './opcodes';

/** TEST UNIT READY (SPC-4): six bytes, all zero. */
export function testUnitReadyCdb(): Uint8Array {
  return new Uint8Array([Opcode.TEST_UNIT_READY, 0, 0, 0, 0, 0]);
}

export interface InquiryOptions {
  /** Bytes the host can accept, 0..65535. Default 96 (standard data needs at least 36). */
  allocationLength?: number;
}

/** INQUIRY for standard inquiry data (SPC-4): EVPD=0, PAGE CODE=0. */
export function inquiryCdb(options: InquiryOptions = {}): Uint8Array {
  const allocationLength = checkInt('allocationLength', options.allocationLength ?? 96, 0, 0xffff);
  const cdb = new Uint8Array(6);
  cdb[0] = Opcode.INQUIRY;
  putU16(cdb, 3, allocationLength);
  return cdb;
}

/** INQUIRY for a vital product data page (EVPD=1), e.g. 80h Unit Serial Number. */
export function inquiryVpdCdb(pageCode: number, options: InquiryOptions = {}): Uint8Array {
  checkInt('pageCode', pageCode, 0, 0xff);
  const allocationLength = checkInt('allocationLength', options.allocationLength ?? 255, 0, 0xffff);
  const cdb = new Uint8Array(6);
  cdb[0] = Opcode.INQUIRY;
  cdb[1] = 0x01;
  cdb[2] = pageCode;
  putU16(cdb, 3, allocationLength);
  return cdb;
}

/** VPD page 80h, Unit Serial Number. */
export const VPD_UNIT_SERIAL_NUMBER = 0x80;

/** INQUIRY for the Unit Serial Number VPD page (80h). */
export function unitSerialNumberCdb(options: InquiryOptions = {}): Uint8Array {
  return inquiryVpdCdb(VPD_UNIT_SERIAL_NUMBER, options);
}

export interface RequestSenseOptions {
  /** DESC=1 asks for descriptor-format (72h/73h) sense data. */
  descriptor?: boolean;
  /** 0..255; default 252, the largest sense SPC-4 allows. */
  allocationLength?: number;
}

/** REQUEST SENSE (SPC-4). */
export function requestSenseCdb(options: RequestSenseOptions = {}): Uint8Array {
  const desc = checkBool('descriptor', options.descriptor);
  const allocationLength = checkInt('allocationLength', options.allocationLength ?? 252, 0, 0xff);
  return new Uint8Array([Opcode.REQUEST_SENSE, desc ? 0x01 : 0x00, 0, 0, allocationLength, 0]);
}

/** MODE SENSE page control (PC field). */
export type PageControl = 'current' | 'changeable' | 'default' | 'saved';
const PAGE_CONTROL: Record<PageControl, number> = { current: 0, changeable: 1, default: 2, saved: 3 };

function pageControlBits(value: PageControl | undefined): number {
  const pc = PAGE_CONTROL[value ?? 'current'];
  if (pc === undefined)
    throw new InvalidArgumentError('pageControl', value, 'current | changeable | default | saved');
  return pc << 6;
}

/** All mode pages (page code 3Fh). */
export const ALL_MODE_PAGES = 0x3f;

export interface ModeSenseOptions {
  /** 0..3Fh; 3Fh returns all pages. */
  pageCode: number;
  /** 0..FFh; FFh with page 3Fh returns all subpages. */
  subpageCode?: number;
  pageControl?: PageControl;
  /** DBD=1: do not return block descriptors. */
  disableBlockDescriptors?: boolean;
  /** 0..255 for MODE SENSE(6), 0..65535 for MODE SENSE(10). */
  allocationLength?: number;
}

/** MODE SENSE(6) (SPC-4). */
export function modeSense6Cdb(options: ModeSenseOptions): Uint8Array {
  const pageCode = checkInt('pageCode', options.pageCode, 0, 0x3f);
  const subpageCode = checkInt('subpageCode', options.subpageCode ?? 0, 0, 0xff);
  const dbd = checkBool('disableBlockDescriptors', options.disableBlockDescriptors);
  const allocationLength = checkInt('allocationLength', options.allocationLength ?? 0xff, 0, 0xff);
  return new Uint8Array([
    Opcode.MODE_SENSE_6,
    dbd ? 0x08 : 0x00,
    pageControlBits(options.pageControl) | pageCode,
    subpageCode,
    allocationLength,
    0,
  ]);
}

export interface ModeSense10Options extends ModeSenseOptions {
  /** LLBAA=1: long LBA block descriptors accepted (not used by tape, kept for completeness). */
  longLbaAccepted?: boolean;
}

/** MODE SENSE(10) (SPC-4). */
export function modeSense10Cdb(options: ModeSense10Options): Uint8Array {
  const pageCode = checkInt('pageCode', options.pageCode, 0, 0x3f);
  const subpageCode = checkInt('subpageCode', options.subpageCode ?? 0, 0, 0xff);
  const dbd = checkBool('disableBlockDescriptors', options.disableBlockDescriptors);
  const llbaa = checkBool('longLbaAccepted', options.longLbaAccepted);
  const allocationLength = checkInt('allocationLength', options.allocationLength ?? 0x1000, 0, 0xffff);
  const cdb = new Uint8Array(10);
  cdb[0] = Opcode.MODE_SENSE_10;
  cdb[1] = (llbaa ? 0x10 : 0) | (dbd ? 0x08 : 0);
  cdb[2] = pageControlBits(options.pageControl) | pageCode;
  cdb[3] = subpageCode;
  putU16(cdb, 7, allocationLength);
  return cdb;
}

export interface ModeSelectOptions {
  /** Length of the parameter list that follows (header + descriptors + pages). */
  parameterListLength: number;
  /** PF=1: pages follow the SPC page format. Default true; SSC devices require it. */
  pageFormat?: boolean;
  /** SP=1: also save the pages. Default false. */
  savePages?: boolean;
}

function modeSelectByte1(options: ModeSelectOptions): number {
  const pf = options.pageFormat === undefined ? true : checkBool('pageFormat', options.pageFormat);
  const sp = checkBool('savePages', options.savePages);
  return (pf ? 0x10 : 0) | (sp ? 0x01 : 0);
}

/** MODE SELECT(6) (SPC-4). */
export function modeSelect6Cdb(options: ModeSelectOptions): Uint8Array {
  const length = checkInt('parameterListLength', options.parameterListLength, 0, 0xff);
  return new Uint8Array([Opcode.MODE_SELECT_6, modeSelectByte1(options), 0, 0, length, 0]);
}

/** MODE SELECT(10) (SPC-4). */
export function modeSelect10Cdb(options: ModeSelectOptions): Uint8Array {
  const length = checkInt('parameterListLength', options.parameterListLength, 0, 0xffff);
  const cdb = new Uint8Array(10);
  cdb[0] = Opcode.MODE_SELECT_10;
  cdb[1] = modeSelectByte1(options);
  putU16(cdb, 7, length);
  return cdb;
}
