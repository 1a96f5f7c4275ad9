/**
 * Checks for duplications onto tgtd cartridges: what the catalog says each medium holds, set against
 * `tgtimg --op show` of the cartridge file and against tapedup's reader over iSCSI.
 */
import { createHash } from 'node:crypto';
import { openDeviceSpec } from '../../native/src/index';
import { Catalog } from '../../packages/duplicator/src/catalog';
import type { TapeDevice } from '../../packages/scsi/src/index';
import {
  DEFAULT_BLOCK_PAYLOAD_SIZE,
  restoreImage,
  type VerifyResult,
  verifyTape,
} from '../../packages/tape-format/src/index';
import type { CartridgeListing } from './tgtimg-listing';

/** One committed copy as the catalog records it, with its single fragment. */
export interface CatalogedCopy {
  copyId: number;
  backupId: string;
  size: number;
  sha256: string;
  fileNumber: number;
  blockAddress: number;
  fragments: { sequence: number; fileNumber: number; blockAddress: number; offset: number; length: number }[];
}

export interface CatalogedMedium {
  barcode: string;
  state: string;
  lastCommitted: { fileNumber: number; blockAddress: number };
  copies: CatalogedCopy[];
}

/** The committed copies per medium, read from the catalog file (the duplicator must be stopped). */
export function readCatalog(path: string): Map<string, CatalogedMedium> {
  const catalog = new Catalog({ path });
  try {
    const out = new Map<string, CatalogedMedium>();
    for (const medium of catalog.listMedia({ limit: 1000 })) {
      const byCopy = new Map<number, CatalogedCopy>();
      for (const f of catalog.listFragments({ medium: medium.barcode })) {
        let copy = byCopy.get(f.copyId);
        if (copy === undefined) {
          const record = catalog.getCopy(f.copyId);
          if (record.state !== 'committed') continue;
          const image = catalog.getImage(record.imageId);
          copy = {
            copyId: record.id,
            backupId: image.backupId,
            size: record.size,
            sha256: record.sha256 ?? '',
            fileNumber: record.fileNumber ?? -1,
            blockAddress: record.blockAddress ?? -1,
            fragments: [],
          };
          byCopy.set(f.copyId, copy);
        }
        copy.fragments.push({
          sequence: f.sequence,
          fileNumber: f.fileNumber,
          blockAddress: f.blockAddress,
          offset: f.offset,
          length: f.length,
        });
      }
      out.set(medium.barcode, {
        barcode: medium.barcode,
        state: medium.state,
        lastCommitted: { ...medium.lastCommitted },
        copies: [...byCopy.values()].sort((a, b) => a.blockAddress - b.blockAddress),
      });
    }
    return out;
  } finally {
    catalog.close();
  }
}

/**
 * Blocks of a fragment holding one whole image: the fragment header, the data blocks, the image
 * trailer and the fragment end record.
 */
export function singleImageFragmentBlocks(bytes: number, payload = DEFAULT_BLOCK_PAYLOAD_SIZE): number {
  return 2 + Math.max(1, Math.ceil(bytes / payload)) + 1;
}

/**
 * Differences between a cartridge as tgtimg lists it and the catalog's record of that medium, as
 * readable lines (empty when they agree). Every tape file after the label must be exactly one
 * committed fragment, starting where the catalog says, holding the blocks its size implies and
 * ending in a filemark; end of data must be the medium's last committed position.
 */
export function compareWithCatalog(listing: CartridgeListing, medium: CatalogedMedium): string[] {
  const problems: string[] = [];
  const fragments = medium.copies.flatMap((c) =>
    c.fragments.map((f) => ({ ...f, backupId: c.backupId, size: c.size })),
  );
  const byFile = new Map(fragments.map((f) => [f.fileNumber, f]));
  if (byFile.size !== fragments.length) problems.push('two fragments share a tape file');
  const label = listing.files[0];
  if (label === undefined || label.blocks !== 1 || label.filemarkAt !== 1) {
    problems.push(`tape file 0 is not one label block and a filemark: ${JSON.stringify(label)}`);
  }
  for (const file of listing.files.slice(1)) {
    const f = byFile.get(file.fileNumber);
    if (f === undefined) {
      problems.push(`tape file ${file.fileNumber} (block ${file.firstBlock}) is in no committed fragment`);
      continue;
    }
    if (f.blockAddress !== file.firstBlock) {
      problems.push(`${f.backupId}: catalog block ${f.blockAddress}, tape file starts at ${file.firstBlock}`);
    }
    const blocks = singleImageFragmentBlocks(f.length);
    if (file.blocks !== blocks) {
      problems.push(`${f.backupId}: ${file.blocks} blocks in tape file ${file.fileNumber}, ${blocks} due`);
    }
    if (file.filemarkAt !== file.firstBlock + file.blocks) {
      problems.push(`${f.backupId}: tape file ${file.fileNumber} does not end in a filemark`);
    }
    byFile.delete(file.fileNumber);
  }
  for (const f of byFile.values())
    problems.push(`${f.backupId}: tape file ${f.fileNumber} is not on the tape`);
  if (listing.filemarks !== medium.lastCommitted.fileNumber) {
    problems.push(
      `${listing.filemarks} filemarks, catalog ends at tape file ${medium.lastCommitted.fileNumber}`,
    );
  }
  if (listing.endOfData !== medium.lastCommitted.blockAddress) {
    problems.push(
      `end of data at ${listing.endOfData}, catalog ends at block ${medium.lastCommitted.blockAddress}`,
    );
  }
  return problems;
}

/** Opens an iSCSI LUN, runs `use`, closes it whatever happens. */
export async function withIscsiDevice<T>(spec: string, use: (device: TapeDevice) => Promise<T>): Promise<T> {
  const device = await openDeviceSpec(spec);
  try {
    return await use(device);
  } finally {
    await device.close();
  }
}

/** Reads the medium end to end with tapedup's reader (CRC32C per block, SHA-256 per image). */
export function verifyOverIscsi(device: TapeDevice): Promise<VerifyResult> {
  return verifyTape(device);
}

/** Restores one copy positioned from its catalog entry; resolves to the SHA-256 of the bytes restored. */
export async function restoreOverIscsi(device: TapeDevice, copy: CatalogedCopy): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  await restoreImage(
    device,
    { backupId: copy.backupId, copy: 1 },
    {
      write: (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      },
    },
    { startAt: { tapeFile: copy.fileNumber, blockNumber: copy.blockAddress } },
  );
  if (bytes !== copy.size) throw new Error(`${copy.backupId}: restored ${bytes} bytes of ${copy.size}`);
  return hash.digest('hex');
}
