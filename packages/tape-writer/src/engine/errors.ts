import type { Sense } from '@tapedup/protocol';
import { ScsiError } from '@tapedup/scsi';

export type WriterErrorCode =
  | 'NO_MEDIUM'
  | 'LABEL_MISMATCH'
  | 'FOREIGN_MEDIUM'
  | 'MEDIUM_FULL'
  | 'POSITION_MISMATCH'
  | 'POSITION_UNKNOWN'
  | 'REPOSITIONED'
  | 'DRIVE_NOT_POSITIONED'
  | 'SOURCE_FAILED'
  | 'SHUTTING_DOWN';

/** A failure the writer itself detects (not one the drive reported). */
export class WriterError extends Error {
  override readonly name = 'WriterError';
  readonly code: WriterErrorCode;
  readonly retryable: boolean;
  constructor(
    code: WriterErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

function protocolCode(code: unknown, fallback: string): string {
  if (typeof code !== 'string') return fallback;
  const upper = code.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return CODE.test(upper) ? upper : fallback;
}

/** The protocol `sense` of any failure: the drive's sense fields for a `ScsiError`, a writer code otherwise. */
export function senseOf(error: unknown): Sense {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 1024);
  if (error instanceof ScsiError) {
    const sense: Sense = {
      deferred: error.deferred,
      category: error.category,
      code: protocolCode(error.code, 'SCSI_ERROR'),
      message,
    };
    if (error.senseKey !== undefined) sense.senseKey = error.senseKey;
    if (error.asc !== undefined) sense.asc = error.asc;
    if (error.ascq !== undefined) sense.ascq = error.ascq;
    if (error.sense !== undefined) sense.raw = error.sense.slice(0, 252);
    return sense;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  return { deferred: false, category: 'other', code: protocolCode(code, 'WRITER_ERROR'), message };
}
