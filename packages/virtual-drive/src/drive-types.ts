import type { Clock } from './clock';
import type { FaultKind, FaultPlan } from './faults';
import type { MediumStore } from './medium';
import type { DriveProfile, ProfileName } from './profile';

/** The subset of a pino logger the drive uses; pass a pino instance or anything with these methods. */
export interface DriveLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface BufferSample {
  /** Model time of the sample. */
  time: number;
  /** Bytes and objects in the buffer that have not reached the medium. */
  bytes: number;
  objects: number;
}

export interface VirtualDriveOptions {
  /** Device name, e.g. `virtual:/srv/lib#drive0`. */
  name: string;
  clock: Clock;
  /** Timing profile (a name or a full profile); default LTO-9. */
  profile?: DriveProfile | ProfileName;
  /** A cartridge already in the drive and loaded. */
  medium?: MediumStore;
  faults?: FaultPlan;
  logger?: DriveLogger;
  /** The append-only WRITE MODE can be enabled (default true). */
  appendOnlySupported?: boolean;
  /** ALLOW OVERWRITE is implemented (default: same as `appendOnlySupported`). */
  allowOverwriteSupported?: boolean;
  /** Deadline of every command in model milliseconds (default 20 minutes). */
  commandTimeoutMs?: number;
  /** Unit serial number reported by INQUIRY (default derived from the name). */
  serial?: string;
  /** How many recent commands `commandLog` keeps (default 10,000); older ones are dropped. */
  commandLogLimit?: number;
  /** Called with the buffer level after every command that changes it. */
  onBufferSample?: (sample: BufferSample) => void;
  /** Called with every finished command (the log entry), for tests and traces that want all of them. */
  onCommand?: (entry: CommandLogEntry) => void;
}

export interface CommandLogEntry {
  seq: number;
  op: string;
  /** Command arguments (a block's length rather than its bytes), including `immediate` for filemarks. */
  args: Record<string, unknown>;
  /** Model times the command started executing (after the ones queued before it) and ended. */
  start: number;
  end: number;
  result?: unknown;
  error?: {
    code: string;
    category: string;
    deferred: boolean;
    senseKey: number | undefined;
    asc: number | undefined;
    ascq: number | undefined;
  };
}

export interface DriveStats {
  commands: number;
  bytesWritten: number;
  blocksWritten: number;
  bytesRead: number;
  blocksRead: number;
  /** Filemarks written with IMMED=1, and with IMMED=0. */
  immediateFilemarks: number;
  synchronousFilemarks: number;
  /** Synchronous WRITE FILEMARKS commands (count 0 included) and the model time they took. */
  syncs: number;
  totalSyncMs: number;
  maxSyncMs: number;
  /** Buffer flushes forced by reads, repositioning or unload. */
  flushes: number;
  backhitches: number;
  /** Bytes that reached the medium. */
  bytesOnMedium: number;
  deferredErrors: number;
  timeouts: number;
  /** Bytes and objects discarded from the buffer (power loss, failed sync, deferred error). */
  bytesLost: number;
  objectsLost: number;
  faults: Record<FaultKind, number>;
}
