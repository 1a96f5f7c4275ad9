/**
 * Catalog failures as machine-readable values: callers branch on `code`, never on the message.
 */

export type CatalogErrorCode =
  /** A copy, request, medium or batch state change that its state machine does not allow. */
  | 'BAD_TRANSITION'
  /** The named request, image, copy, batch, medium or drive does not exist. */
  | 'NOT_FOUND'
  /** The record already exists (request id, backup id within a request, barcode, drive, open batch on a drive). */
  | 'DUPLICATE'
  /** An argument failed validation; `field` names it. */
  | 'INVALID_ARGUMENT'
  /** A constructor option failed validation; `field` names it. */
  | 'INVALID_OPTION'
  /** The batch is not open (already synced or failed). */
  | 'BATCH_NOT_OPEN'
  /** A copy named in a batch operation is not written-pending-sync in that batch. */
  | 'NOT_IN_BATCH'
  /** A sync commit left copies of the batch neither committed nor failed. */
  | 'INCOMPLETE_COMMIT'
  /** A reported tape position contradicts the committed position of the medium. */
  | 'BAD_POSITION'
  /** The fragments reported for a copy do not describe the image exactly once, in order. */
  | 'BAD_FRAGMENTS'
  /** A reported SHA-256 disagrees with one reported earlier for the same copy. */
  | 'CHECKSUM_MISMATCH'
  /** The medium is not in a state that accepts writes (scratch, full or frozen). */
  | 'MEDIUM_UNAVAILABLE'
  /** The copy is not on the drive or medium the operation names. */
  | 'DRIVE_MISMATCH'
  /** Another copy of the same image is already on (or being written to) this medium. */
  | 'SAME_MEDIUM'
  /** No scratch medium is left in the pool. */
  | 'NO_SCRATCH'
  /** The database was written by a newer schema than this code knows. */
  | 'SCHEMA_TOO_NEW';

export interface CatalogErrorFields {
  /** Kind of record concerned: `request`, `image`, `copy`, `batch`, `medium`, `drive`. */
  entity?: string;
  /** Identifier of the record concerned. */
  id?: string | number;
  /** The argument or option at fault. */
  field?: string;
  /** State transition that was refused. */
  from?: string;
  to?: string;
  /** Further machine-readable detail. */
  details?: Readonly<Record<string, unknown>>;
}

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  readonly code: CatalogErrorCode;
  readonly entity: string | undefined;
  readonly id: string | number | undefined;
  readonly field: string | undefined;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: CatalogErrorCode, message: string, fields: CatalogErrorFields = {}) {
    super(message);
    this.code = code;
    this.entity = fields.entity;
    this.id = fields.id;
    this.field = fields.field;
    this.from = fields.from;
    this.to = fields.to;
    this.details = fields.details;
  }
}

export function isCatalogError(error: unknown, code?: CatalogErrorCode): error is CatalogError {
  return error instanceof CatalogError && (code === undefined || error.code === code);
}
