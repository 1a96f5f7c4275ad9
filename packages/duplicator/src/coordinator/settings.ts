/**
 * What a coordinator is built from: the installation's settings (from the duplicator config) and
 * the injected catalog, clock, logger and source check.
 */
import type { Logger } from 'pino';
import type { Catalog } from '../catalog';
import type { SourceInspector } from './submit-check';

export interface CoordinatorSettings {
  readonly drives: readonly { readonly id: string; readonly spec: string }[];
  readonly pools: readonly string[];
  readonly dsu: Readonly<Record<string, string>>;
  /** Installation-wide sync settings (the `policy` config section). */
  readonly policy: Readonly<Record<string, unknown>>;
  readonly poolPolicy: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly maxAttempts: number;
  readonly retryBackoffMs: number;
  readonly retryMaxBackoffMs: number;
  readonly windowImages: number;
  readonly windowBytes: number;
  readonly freezeAfterMediumErrors: number;
  readonly defaultRateBytesPerSec: number;
  /**
   * After start, planning waits until every configured writer said hello or this long has passed,
   * so the first writer up does not take a whole window of work the others could share.
   */
  readonly startupSettleMs?: number;
  /**
   * Directory of the ipc:// PULL endpoints of `stream` copies (`i<imageId>c<copy>.sock`); the
   * writer a copy is assigned to binds it. Undefined: `stream` images are refused.
   */
  readonly streamDir?: string | undefined;
}

export interface CoordinatorDeps {
  readonly catalog: Catalog;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly settings: CoordinatorSettings;
  /** Checks disk sources at submit; omitted = not checked (the writer refuses what it cannot read). */
  readonly inspectSource?: SourceInspector | undefined;
}
