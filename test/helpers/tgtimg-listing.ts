/**
 * `tgtimg --op show` of a cartridge, parsed into tape files: what tgtd itself says is on the medium,
 * independently of tapedup's reader. tgt numbers every object (data block or filemark) in one
 * sequence after its beginning-of-tape record (block 0), so object `n` is the logical block address
 * `n - 1` that tapedup counts and the catalog records.
 */
import { showCartridge } from './tgt';

/** tgt's object types in a listing line `(<type>): Blk No. …`. */
const DATA = 2;
const FILEMARK = 64;
const END_OF_DATA = 32;

/** One tape file: the data blocks between two filemarks. */
export interface ListedTapeFile {
  /** 0 is the volume label. */
  fileNumber: number;
  /** Logical address of its first data block. */
  firstBlock: number;
  /** Data blocks before its filemark. */
  blocks: number;
  /** Size of each data block, bytes. */
  sizes: number[];
  /** Logical address of the filemark that ends it; undefined when end of data comes first. */
  filemarkAt: number | undefined;
}

export interface CartridgeListing {
  barcode: string;
  files: ListedTapeFile[];
  filemarks: number;
  /** Logical address of end of data. */
  endOfData: number;
}

/** Parses `tgtimg --op show` output. Throws when a line is out of sequence. */
export function parseTgtimgShow(stdout: string): CartridgeListing {
  const barcode = /^Media\s+:\s*(\S+)/m.exec(stdout)?.[1] ?? '';
  const pattern = /\((\d+)\): Blk No\. (\d+), prev \d+, curr \d+,\s+next \d+, sz (\d+)$/;
  const files: ListedTapeFile[] = [];
  let current: ListedTapeFile | undefined;
  let filemarks = 0;
  let endOfData: number | undefined;
  let expected = 0;
  for (const line of stdout.split('\n')) {
    const m = pattern.exec(line);
    if (m === null) continue;
    const [type, address, size] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
    if (endOfData !== undefined) throw new Error(`tgtimg lists block ${address} after end of data`);
    if (address !== expected) throw new Error(`tgtimg lists block ${address} where ${expected} was due`);
    expected += 1;
    if (type === END_OF_DATA) {
      endOfData = address;
      continue;
    }
    current ??= {
      fileNumber: files.length,
      firstBlock: address,
      blocks: 0,
      sizes: [],
      filemarkAt: undefined,
    };
    if (type === DATA) {
      current.blocks += 1;
      current.sizes.push(size);
    } else if (type === FILEMARK) {
      current.filemarkAt = address;
      filemarks += 1;
      files.push(current);
      current = undefined;
    } else {
      throw new Error(`tgtimg lists block ${address} of unknown type ${type}`);
    }
  }
  if (current !== undefined) files.push(current);
  if (endOfData === undefined) throw new Error('tgtimg listed no end of data');
  return { barcode, files, filemarks, endOfData };
}

/** `tgtimg --op show` of a cartridge file, parsed. */
export async function listCartridge(file: string): Promise<CartridgeListing> {
  return parseTgtimgShow(await showCartridge(file));
}
