/**
 * The seam between SSC logic and the wire. A `ScsiTransport` carries one CDB at a time to a
 * device and hands back the SCSI status, the sense bytes and the data-in buffer. It never
 * interprets sense data: a CHECK CONDITION is a normal response here. It rejects only when the
 * path failed: `ScsiTimeoutError` when the command's deadline passed, `ScsiTransportError`
 * (with an errno-like `errno`) when the connection or the OS call failed.
 */

export interface CdbCommand {
  cdb: Uint8Array;
  /** Data-out phase (WRITE, MODE SELECT). Mutually exclusive with `dataInLength`. */
  dataOut?: Uint8Array | undefined;
  /** Size of the data-in buffer (READ, INQUIRY, ...). */
  dataInLength?: number | undefined;
  /** Deadline for this command. */
  timeoutMs: number;
}

export interface CdbResponse {
  /** SCSI status byte: 0 GOOD, 2 CHECK CONDITION, 8 BUSY, 18h RESERVATION CONFLICT, ... */
  status: number;
  /** Sense bytes (empty unless CHECK CONDITION). */
  sense: Uint8Array;
  /** The data-in buffer (`dataInLength` bytes or fewer). */
  data: Uint8Array;
  /**
   * Bytes of data-in the transport knows were transferred, when it knows. iSCSI targets are not
   * consistent about residuals on a READ that ends in CHECK CONDITION; SG_IO's count is exact.
   */
  transferred?: number | undefined;
}

export interface ScsiTransport {
  /** e.g. `iscsi://127.0.0.1:3260/iqn.../1` or `sg:/dev/sg3`. */
  readonly name: string;
  /** Opens (or re-opens after a failure) the path to the device. */
  connect(): Promise<void>;
  execute(command: CdbCommand): Promise<CdbResponse>;
  /** Releases the path. Idempotent. */
  close(): Promise<void>;
}

export const ScsiStatus = {
  GOOD: 0x00,
  CHECK_CONDITION: 0x02,
  CONDITION_MET: 0x04,
  BUSY: 0x08,
  RESERVATION_CONFLICT: 0x18,
  TASK_SET_FULL: 0x28,
  ACA_ACTIVE: 0x30,
  TASK_ABORTED: 0x40,
} as const;
