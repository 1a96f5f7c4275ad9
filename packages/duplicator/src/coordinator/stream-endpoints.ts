/**
 * The ipc:// PULL endpoints of `stream` copies. An endpoint depends only on the catalog's image id
 * and the copy number, so it is announced at submit, before any writer is chosen, and stays the
 * same whichever writer the copy lands on (the one it is assigned to binds it).
 */
import type { MessageOf } from '@tapedup/protocol';
import type { CoordinatorSettings } from './settings';
import type { CoordinatorState } from './state';

/** Longest path an ipc:// endpoint may have (sockaddr_un.sun_path is 108 bytes, NUL included). */
const MAX_IPC_PATH = 107;
/** The longest endpoint file name under `streamDir`: `/i<15 digits>c<copy>.sock`. */
const LONGEST_STREAM_FILE = '/i999999999999999c8.sock';

/** Refuses a `streamDir` under which some endpoint path would not fit a unix socket address. */
export function checkStreamDir(dir: string | undefined): void {
  if (dir !== undefined && Buffer.byteLength(dir + LONGEST_STREAM_FILE) > MAX_IPC_PATH) {
    throw new RangeError(
      `coordinator setting "streamDir" is too long for ipc endpoints (at most ${MAX_IPC_PATH - LONGEST_STREAM_FILE.length} bytes): ${dir}`,
    );
  }
}

/** The PULL endpoint of one copy of a `stream` image. */
export function streamEndpoint(settings: CoordinatorSettings, imageId: number, copy: number): string {
  if (settings.streamDir === undefined) throw new RangeError('no streamDir: stream images are refused');
  return `ipc://${settings.streamDir}/i${imageId}c${copy}.sock`;
}

/**
 * One endpoint per (stream image, copy) of an accepted request. The writers bind ipc or loopback
 * endpoints only, which need no CURVE key, so `serverKey` is never set.
 */
export function streamEndpoints(
  core: CoordinatorState,
  requestId: string,
  m: MessageOf<'submit'>,
): MessageOf<'accepted'>['streams'] {
  if (!m.images.some((i) => i.source.kind === 'stream')) return [];
  const streams: MessageOf<'accepted'>['streams'] = [];
  for (const image of core.catalog.listImages({ requestId, kind: 'stream', limit: 10_000 })) {
    for (let copy = 1; copy <= m.copies; copy++) {
      streams.push({
        backupId: image.backupId,
        copy,
        endpoint: streamEndpoint(core.settings, image.id, copy),
      });
    }
  }
  return streams;
}
