/**
 * @tapedup/cli — the `tapedup` command. The entry point is src/main.ts; these exports are for tests
 * and for embedding the command's pieces (config validation, image sources, the scheduler client).
 */
export { ProgressTracker } from './client/progress';
export { refusalError, SchedulerClient } from './client/scheduler-client';
export { submitAndFollow, submitRequest } from './client/submission';
export { loadConfig, parseConfigText } from './config/load';
export { sampleConfigText } from './config/sample';
export { type TapedupConfig, validateConfig } from './config/schema';
export type { DemoSummary } from './demo/summary';
export { CliError, EXIT } from './errors';
export { parseFileList, parseImageJson } from './images/sources';
export { runCli } from './program';
