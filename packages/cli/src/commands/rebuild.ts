/**
 * `tapedup rebuild-catalog`: reads every written cartridge of the library with no catalog at hand and
 * prints the catalog records the tapes themselves describe (media, image copies, fragments).
 */
import { type RebuiltCatalog, rebuildCatalog } from '@tapedup/tape-format';
import type { TapedupConfig } from '../config/schema';
import { formatBytes, formatTable } from '../output/format';
import { type Io, printJson } from '../output/io';
import { type OpenCartridge, openCartridge, openLibrary, writtenBarcodes } from '../tape/cartridges';

export async function rebuildCommand(
  config: TapedupConfig,
  media?: readonly string[],
): Promise<RebuiltCatalog> {
  const library = await openLibrary(config.library.dir);
  const barcodes = media && media.length > 0 ? [...media] : (await writtenBarcodes(library)).sort();
  const opened: OpenCartridge[] = [];
  try {
    for (const barcode of barcodes) opened.push(await openCartridge(library, barcode));
    const rebuilt = await rebuildCatalog(opened.map((o) => o.device));
    // Name media by barcode rather than by the reading device.
    for (const [i, m] of rebuilt.media.entries()) m.device = opened[i]?.barcode ?? m.device;
    return rebuilt;
  } finally {
    for (const o of opened) await o.close();
  }
}

export function printRebuilt(io: Io, rebuilt: RebuiltCatalog, json: boolean): void {
  if (json) {
    printJson(io, rebuilt);
    return;
  }
  io.out(
    formatTable(
      ['medium', 'pool', 'tape files', 'end of data', 'problems'],
      rebuilt.media.map((m) => [m.barcode ?? m.device, m.pool, m.tapeFiles, m.endOfData, m.problems]),
    ),
  );
  io.out('');
  io.out(
    formatTable(
      ['backup id', 'copy', 'status', 'size', 'medium', 'file', 'block', 'sha256'],
      rebuilt.images.map((i) => [
        i.backupId,
        i.copy,
        i.status,
        formatBytes(i.size),
        i.fragments[0]?.barcode,
        i.fragments[0]?.tapeFile,
        i.fragments[0]?.blockNumber,
        i.sha256?.slice(0, 16),
      ]),
    ),
  );
}
