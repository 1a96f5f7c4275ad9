export {
  type CompareOptions,
  type Comparison,
  comparePolicies,
  type PolicySummary,
  summarise,
} from './compare';
export { SimulatorError, type SimulatorErrorCode } from './errors';
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
  percentile,
  type SimulationOptions,
  type SimulationResult,
  simulate,
} from './simulation';
export { SimulationMedium } from './simulation-medium';
export { STAND_IN_BLOCK_BYTES, standInWriterFactory } from './stand-in-writer';
export { markdownTable, SUMMARY_COLUMNS, summaryRows, textTable } from './table';
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
