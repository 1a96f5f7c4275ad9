/**
 * @tapedup/tape-writer — the bptm-like writer: the engine (pure of I/O apart from its injected drive,
 * clock, logger and sources), its sources, media changers and the batch bookkeeping. The process
 * entry is `src/main.ts` (built to `dist/main.js`).
 */
export { Batch, BatchStateError, type MediumPosition, type SyncOutcome, type WrittenCopy } from './batch';
export {
  type DsuRoots,
  parseDsuRoots,
  type ResolvedSource,
  resolveSource,
  SourceError,
  type SourceErrorCode,
} from './dsu';
export * from './engine/index';
export { VirtualLibraryChanger } from './media/library-changer';
export { LoadedMediumChanger, readyAfterAttention } from './media/loaded-medium-changer';
export { DiskSourceOpener, type DiskSourceOptions, resolveDiskWorker } from './sources/disk';
export { SourceRouter, StreamSourceOpener } from './sources/stream';
export { SyntheticSourceOpener, type SyntheticSourceOptions, syntheticBytes } from './sources/synthetic';
export type { ImageSource, SourceEvent, SourceOpener, SourceOpenOptions } from './sources/types';
