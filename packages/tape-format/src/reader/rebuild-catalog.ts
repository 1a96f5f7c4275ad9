import type { TapeDevice } from '@tapedup/scsi';
import type { ImageKind } from '../constants';
import { type AnalyseOptions, analyseMedia, type ImageVerdict } from './media-analyser';

/** A medium as its label and contents describe it. */
export interface CatalogMediumRecord {
  device: string;
  barcode: string | undefined;
  labelId: string | undefined;
  pool: string | undefined;
  labelledAt: number | undefined;
  /** Tape files found, the label included. */
  tapeFiles: number;
  /** Logical object number of end of data (where the next write would go, or the EH to overwrite). */
  endOfData: number | undefined;
  /** Logical object number of the trailing empty header, when the medium ends with one. */
  emptyHeaderAt: number | undefined;
  problems: number;
}

/** One fragment of one image copy: what a catalog keeps to position a restore. */
export interface CatalogFragmentRecord {
  backupId: string;
  copy: number;
  barcode: string | undefined;
  labelId: string | undefined;
  tapeFile: number;
  /** Block address of the fragment header. */
  blockNumber: number;
  fragmentIndex: number;
  offset: number;
  bytes: number;
  blocks: number;
}

/** One image copy occurrence. Only `complete` ones (verdict `ok`) are restorable. */
export interface CatalogImageRecord {
  backupId: string;
  copy: number;
  kind: ImageKind;
  status: ImageVerdict;
  /** Image size from its trailer, or the bytes found when there is no trailer. */
  size: number;
  blocks: number;
  /** SHA-256 (hex) from the trailer, when there is one. */
  sha256: string | undefined;
  fragments: CatalogFragmentRecord[];
}

export interface RebuiltCatalog {
  media: CatalogMediumRecord[];
  images: CatalogImageRecord[];
}

/**
 * Rebuilds catalog records from the media alone (pass all media, spanning ones in order): every
 * medium with its label and end of data, every image copy with its fragments (medium, tape file,
 * block address, offsets, sizes) and SHA-256. Each image is verified on the way (`status`).
 */
export async function rebuildCatalog(
  devices: readonly TapeDevice[],
  options: AnalyseOptions = {},
): Promise<RebuiltCatalog> {
  const analysis = await analyseMedia(devices, { hash: true, ...options });
  const media = analysis.media.map((m): CatalogMediumRecord => {
    const last = m.files.at(-1);
    return {
      device: m.device,
      barcode: m.label?.barcode,
      labelId: m.label?.labelId,
      pool: m.label?.pool,
      labelledAt: m.label?.createdAt,
      tapeFiles: m.files.length,
      endOfData: m.endOfData?.blockNumber,
      emptyHeaderAt: m.endsWithEmptyHeader ? last?.blockNumber : undefined,
      problems: m.problems.length,
    };
  });
  const images = analysis.images.map(
    (image): CatalogImageRecord => ({
      backupId: image.backupId,
      copy: image.copy,
      kind: image.kind,
      status: image.verdict,
      size: image.trailer?.totalBytes ?? image.endOffset,
      blocks: image.trailer?.blockCount ?? image.blocks,
      sha256: image.trailer ? Buffer.from(image.trailer.sha256).toString('hex') : undefined,
      fragments: image.fragments.map((f) => ({
        backupId: image.backupId,
        copy: image.copy,
        barcode: f.barcode,
        labelId: f.labelId,
        tapeFile: f.tapeFile,
        blockNumber: f.blockNumber,
        fragmentIndex: f.fragmentIndex,
        offset: f.offset,
        bytes: f.bytes,
        blocks: f.blocks,
      })),
    }),
  );
  return { media, images };
}
