/**
 * The logging surface the devices use: the subset of pino's API they call, so a pino logger (or a
 * child of one) can be passed as is and tests can pass a recorder.
 */
export interface DeviceLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Discards everything. */
export const silentLogger: DeviceLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};
