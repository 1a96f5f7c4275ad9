export * as catalog from './catalog';
export {
  ConfigError,
  type ConfigInput,
  configSchema,
  DEFAULT_EVENTS_PORT,
  DEFAULT_SCHEDULER_PORT,
  type DuplicatorConfig,
  isLoopbackTcp,
  LOG_LEVELS,
  type LogLevel,
  validateConfig,
  type WriterSettings,
} from './config';
export {
  Coordinator,
  type CoordinatorDeps,
  type CoordinatorSettings,
  checkSubmit,
  type Output,
  parseWireCopyId,
  resolveUnderRoot,
  type SourceInspector,
  wireCopyId,
} from './coordinator';
export * as planner from './planner';
export * as policy from './policy';
export { DuplicatorServer, type ServerOptions, writerArgs } from './server';
export { type BackoffSettings, restartDelay, Supervisor, writerMainPath } from './supervisor';
