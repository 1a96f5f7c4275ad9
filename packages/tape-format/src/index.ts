export type { FragmentEndReason, ImageKind, TrailerStatus } from './constants';
export {
  DATA_HEADER_LENGTH,
  DEFAULT_BLOCK_PAYLOAD_SIZE,
  FORMAT_VERSION,
  MAX_BACKUP_ID_BYTES,
  MAX_BARCODE_BYTES,
  MAX_BLOCK_PAYLOAD_SIZE,
  MAX_POOL_BYTES,
  Magic,
  MIN_BLOCK_PAYLOAD_SIZE,
  RECORD_OVERHEAD,
} from './constants';
export type { DataBlock, DataBlockHeader } from './data-block';
export { checkDataPayload, decodeDataBlock, decodeDataHeader, encodeDataBlock } from './data-block';
export type { BlockType, DecodedBlock } from './decode-block';
export { blockTypeOf, decodeBlock } from './decode-block';
export type { EmptyHeader } from './empty-header';
export { decodeEmptyHeader, encodeEmptyHeader } from './empty-header';
export type { TapeFormatErrorCode, TapeFormatErrorFields } from './errors';
export { isTapeFormatError, TapeFormatError } from './errors';
export type { FragmentEnd, FragmentEndEntry } from './fragment-end';
export { decodeFragmentEnd, encodeFragmentEnd } from './fragment-end';
export type { FragmentHeader, ImageStart } from './fragment-header';
export {
  checkBlockPayloadSize,
  decodeFragmentHeader,
  decodeImageStart,
  encodeFragmentHeader,
  encodeImageStart,
} from './fragment-header';
export type { ImageEntry } from './image-entry';
export type { ImageFramerOptions, ImageFramerState } from './image-framer';
export { ImageFramer } from './image-framer';
export type { ImageTrailer } from './image-trailer';
export { decodeImageTrailer, encodeImageTrailer } from './image-trailer';
export type { ListOptions, VerifyResult } from './reader/list-tape';
export { listTape, verifyTape } from './reader/list-tape';
export type {
  AnalyseOptions,
  Analysis,
  FragmentImageListing,
  FragmentLocation,
  ImageReport,
  ImageVerdict,
  MediumListing,
  TapeFileListing,
} from './reader/media-analyser';
export { analyseMedia } from './reader/media-analyser';
export type {
  CatalogFragmentRecord,
  CatalogImageRecord,
  CatalogMediumRecord,
  RebuiltCatalog,
} from './reader/rebuild-catalog';
export { rebuildCatalog } from './reader/rebuild-catalog';
export type { ImageSink, RestoreOptions, RestoreResult } from './reader/restore-image';
export { restoreImage } from './reader/restore-image';
export type { ScanEvent, ScanOptions, TapeLocation } from './reader/scanner';
export { scanMedium } from './reader/scanner';
export type { VolumeLabel } from './volume-label';
export { decodeVolumeLabel, encodeVolumeLabel } from './volume-label';
