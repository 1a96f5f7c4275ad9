/**
 * Errors the command reports. Each carries a machine-readable `code`, the exit status it maps to,
 * and, when one option or field is at fault, its name in `field`.
 */

/** Exit statuses of the `tapedup` command. */
export const EXIT = Object.freeze({
  ok: 0,
  /** The work ran but something failed: abandoned images, verification mismatches. */
  failed: 1,
  /** Bad input: options, configuration, image lists, or a typed refusal from the duplicator. */
  usage: 2,
  /** The duplicator could not be reached or a process failed to start. */
  unavailable: 3,
});

export type CliErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_CONFIG'
  | 'INVALID_IMAGE_LIST'
  | 'PATH_OUTSIDE_DSU'
  | 'UNKNOWN_DSU'
  | 'SOURCE_NOT_FOUND'
  | 'REFUSED'
  | 'TIMEOUT'
  | 'PROCESS_FAILED'
  | 'NOT_FOUND'
  | 'VERIFY_FAILED'
  | 'CATALOG_UNAVAILABLE';

export interface CliErrorFields {
  /** The option, config key or message field at fault (dotted path). */
  field?: string | undefined;
  /** The duplicator's code when it refused a request (`rejected` / `error` replies). */
  remoteCode?: string | undefined;
  exitCode?: number | undefined;
  cause?: unknown;
}

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly field: string | undefined;
  readonly remoteCode: string | undefined;
  readonly exitCode: number;

  constructor(
    readonly code: CliErrorCode,
    message: string,
    fields: CliErrorFields = {},
  ) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.field = fields.field;
    this.remoteCode = fields.remoteCode;
    this.exitCode =
      fields.exitCode ?? (code === 'TIMEOUT' || code === 'PROCESS_FAILED' ? EXIT.unavailable : EXIT.usage);
  }

  /** A stable JSON shape for `--json` output. */
  toJSON(): { error: { code: string; message: string; field?: string; remoteCode?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
        ...(this.remoteCode === undefined ? {} : { remoteCode: this.remoteCode }),
      },
    };
  }
}

/** An option given on the command line is invalid; the message names it. */
export function invalidOption(option: string, message: string): CliError {
  return new CliError('INVALID_OPTION', `option ${option} ${message}`, { field: option });
}
