export { Catalog, type PragmaReport } from './catalog';
export {
  assertTransition,
  COPY_STATES,
  type CopyState,
  canTransition,
  IN_FLIGHT_COPY_STATES,
  isCopyState,
  isTerminal,
  TERMINAL_COPY_STATES,
  WAITING_COPY_STATES,
} from './copy-state';
export { CatalogError, type CatalogErrorCode, type CatalogErrorFields, isCatalogError } from './errors';
export type { FailOptions } from './failures';
export { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION } from './migrations';
export type { CatalogOptions, ResolvedCatalogOptions } from './options';
export * from './types';
