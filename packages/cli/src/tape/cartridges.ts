/**
 * Opening cartridges of the virtual library for reading: each becomes an untimed VirtualDrive over
 * the cartridge file opened write protected, so reading back never alters a tape and costs no model
 * time. The caller closes what it opened.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TapeDevice } from '@tapedup/scsi';
import { RealClock, TgtCartridgeFile, VirtualDrive, VirtualLibrary } from '@tapedup/virtual-drive';
import { CliError } from '../errors';

export interface OpenCartridge {
  barcode: string;
  device: TapeDevice;
  close(): Promise<void>;
}

/** Opens the library in `dir` without creating one. */
export async function openLibrary(dir: string): Promise<VirtualLibrary> {
  if (!existsSync(join(dir, 'library.json'))) {
    throw new CliError('NOT_FOUND', `no virtual library in ${dir}`, { field: 'library.dir' });
  }
  return VirtualLibrary.open(dir);
}

/** Opens `barcode` read-only in an untimed drive named `read:<barcode>`. */
export async function openCartridge(library: VirtualLibrary, barcode: string): Promise<OpenCartridge> {
  const medium = await TgtCartridgeFile.open(library.cartridgePath(barcode), { writeProtected: true });
  const device = new VirtualDrive({
    name: `read:${barcode}`,
    clock: new RealClock(),
    profile: 'untimed',
    medium,
  });
  await device.open();
  return {
    barcode,
    device,
    close: async () => {
      await device.close();
      await medium.close();
    },
  };
}

/**
 * Barcodes of the library's cartridges that hold data. The tapes are the truth here (rebuilding a
 * catalog must not trust any other record), so each cartridge file is opened and asked whether it
 * holds anything; the library's own scratch/active bookkeeping is not consulted.
 */
export async function writtenBarcodes(library: VirtualLibrary): Promise<string[]> {
  const written: string[] = [];
  for (const c of await library.list()) {
    const path = library.cartridgePath(c.barcode);
    if (!existsSync(path)) continue;
    const medium = await TgtCartridgeFile.open(path, { writeProtected: true });
    try {
      if (medium.objectCount() > 0) written.push(c.barcode);
    } finally {
      await medium.close();
    }
  }
  return written;
}
