export { WriterEngine } from './engine';
export { senseOf, WriterError, type WriterErrorCode } from './errors';
export {
  type FilemarkKind,
  type FragmentEndContext,
  filemarkFor,
  fragmentEndReasonFor,
  type ImageOutcome,
  type SyncDecision,
} from './filemark-policy';
export {
  DATA_START,
  type FilePosition,
  type MediaChanger,
  type PreparedMedium,
  positionAfterLastFilemark,
  positionAt,
  prepareMedium,
} from './medium';
export { type LatencySummary, WriterCounters, type WriterCountersSnapshot } from './stats';
export type { Command, EngineLogger, EngineState, SyntheticBlockWriter, WriterEngineOptions } from './types';
