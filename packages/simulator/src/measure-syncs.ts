/**
 * Observes every synchronous WRITE FILEMARKS on a virtual drive: how long it took and how many bytes
 * the drive buffer still held when it started (read with READ POSITION, which takes no model time).
 * The sync-cost estimator charges a sync `seconds − bytesFlushed / R`, so it needs both.
 */
import type { WriteFilemarksOptions, WriteResult } from '@tapedup/scsi';
import type { Clock, VirtualDrive } from '@tapedup/virtual-drive';

export interface SyncSample {
  readonly seconds: number;
  readonly bytesFlushed: number;
}

/** The same drive, with `writeFilemarks(…, { immediate: false })` measured into `onSync`. */
export function measureSyncs(
  drive: VirtualDrive,
  clock: Clock,
  onSync: (sample: SyncSample) => void,
): VirtualDrive {
  const writeFilemarks = async (count: number, options: WriteFilemarksOptions): Promise<WriteResult> => {
    if (options?.immediate !== false) return drive.writeFilemarks(count, options);
    // A deferred error raised here by READ POSITION would have been raised by the sync itself: the
    // caller sees it as the sync's failure either way.
    const before = await drive.readPosition();
    const started = clock.now();
    const result = await drive.writeFilemarks(count, options);
    onSync({ seconds: (clock.now() - started) / 1000, bytesFlushed: before.bytesInBuffer ?? 0 });
    return result;
  };
  return new Proxy(drive, {
    get(target, property) {
      if (property === 'writeFilemarks') return writeFilemarks;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
