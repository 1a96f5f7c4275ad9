/**
 * Typed errors of the simulator: a bad option or workload names the option, an impossible run says why.
 */

export type SimulatorErrorCode = 'INVALID_OPTION' | 'INVALID_WORKLOAD' | 'SIMULATION_STALLED' | 'MEDIUM_FULL';

export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';
  readonly code: SimulatorErrorCode;
  /** The option or workload field at fault, when there is one (e.g. `--seeds`, `images[3].sizeBytes`). */
  readonly field: string | undefined;
  readonly value: unknown;

  constructor(code: SimulatorErrorCode, message: string, field?: string, value?: unknown) {
    super(field === undefined ? message : `${field}: ${message}`);
    this.code = code;
    this.field = field;
    this.value = value;
  }

  toJSON(): { code: SimulatorErrorCode; message: string; field?: string } {
    return { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

export function invalidOption(field: string, message: string, value?: unknown): SimulatorError {
  return new SimulatorError('INVALID_OPTION', message, field, value);
}

export function invalidWorkload(field: string, message: string, value?: unknown): SimulatorError {
  return new SimulatorError('INVALID_WORKLOAD', message, field, value);
}
