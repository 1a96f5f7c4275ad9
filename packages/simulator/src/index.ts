export {
  type CompareOptions,
  type Comparison,
  comparePolicies,
  type PolicySummary,
  summarise,
} from './compare';
export { type EngineWriterOptions, engineWriter, engineWriterFactory } from './engine-writer';
export { SimulatorError, type SimulatorErrorCode } from './errors';
export { type DriveHistory, driveHistory, parseHistory, type RestoredHistory } from './history';
export { measureSyncs, type SyncSample } from './measure-syncs';
export { limitRatioPlot, sweepPlot, type TimelinePoint, type TimelineSync, timelinePlot } from './plots';
export {
  buildPolicy,
  COMPARED_POLICIES,
  fixedBytesPolicy,
  namedPolicy,
  oracleSweep,
  type PolicyLabel,
  type PolicyVariant,
  parsePolicyList,
} from './policies';
export {
  type BatchEvent,
  HISTORY_MODES,
  type HistoryMode,
  percentile,
  type SimulationOptions,
  type SimulationResult,
  simulate,
} from './simulation';
export { SimulationMedium } from './simulation-medium';
export { markdownTable, policyCell, SUMMARY_COLUMNS, summaryRows, textTable } from './table';
export {
  type ExplicitImage,
  generateImages,
  isPresetName,
  PRESETS,
  type PresetName,
  parseWorkload,
  type SimImage,
  type SizeDistribution,
  scaleWorkload,
  type Workload,
} from './workload';
export type { WriteJob, WriterContext, WriterFactory, WriterReport, WriterUnderTest } from './writer-seam';
