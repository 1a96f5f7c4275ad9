/**
 * What the run cost on the drive model, and what the classic sync-every-image run would have cost
 * on the same model. Pure arithmetic on the drive profile's own figures:
 *
 *   deferred  ≈ bytes / rate + syncs × syncOverhead + immediateFilemarks × immediateFilemark
 *   syncEvery ≈ bytes / rate + images × syncOverhead
 *
 * Every synchronous filemark drains the buffer (the data time is paid either way) and then costs the
 * stop/write/verify/reposition overhead; an immediate filemark costs only its few milliseconds and
 * lets the drive keep streaming. Drives work in parallel, so a run costs its slowest drive.
 */

export interface DriveWork {
  id: string;
  images: number;
  bytes: number;
  /** Synchronous WRITE FILEMARKS issued (good or failed). */
  syncs: number;
  immediateFilemarks: number;
}

export interface DriveModel {
  mediaRateBytesPerSec: number;
  syncOverheadMs: number;
  immediateFilemarkMs: number;
}

export interface ModelEstimate {
  /** Tape time of this run, per the model (slowest drive). */
  deferredMs: number;
  /** The same images with a synchronous filemark after every image (slowest drive). */
  syncEveryMs: number;
  /** syncEvery / deferred. */
  speedup: number;
  perDrive: { id: string; deferredMs: number; syncEveryMs: number }[];
}

export function estimateModelTime(drives: readonly DriveWork[], model: DriveModel): ModelEstimate {
  const perDrive = drives.map((d) => {
    const dataMs = (d.bytes / model.mediaRateBytesPerSec) * 1000;
    return {
      id: d.id,
      deferredMs: dataMs + d.syncs * model.syncOverheadMs + d.immediateFilemarks * model.immediateFilemarkMs,
      syncEveryMs: dataMs + d.images * model.syncOverheadMs,
    };
  });
  const deferredMs = Math.max(0, ...perDrive.map((d) => d.deferredMs));
  const syncEveryMs = Math.max(0, ...perDrive.map((d) => d.syncEveryMs));
  return { deferredMs, syncEveryMs, speedup: deferredMs > 0 ? syncEveryMs / deferredMs : 1, perDrive };
}
