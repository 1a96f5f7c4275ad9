/** `tapedup status [requestId]`: asks the duplicator over its scheduler socket. */
import type { RequestStatus } from '@tapedup/protocol';
import { refusalError, SchedulerClient } from '../client/scheduler-client';
import type { TapedupConfig } from '../config/schema';
import { CliError } from '../errors';
import { formatBytes, formatTable } from '../output/format';
import { type Io, printJson } from '../output/io';

export async function fetchStatus(
  config: TapedupConfig,
  requestId: string | undefined,
  timeoutMs: number,
): Promise<RequestStatus[]> {
  const client = new SchedulerClient({ scheduler: config.endpoints.scheduler, timeoutMs });
  try {
    await client.ready();
    const id = client.nextId();
    const reply = await client.request(
      requestId === undefined ? { v: 1, type: 'status', id } : { v: 1, type: 'status', id, requestId },
    );
    const refusal = refusalError(reply);
    if (refusal !== undefined) throw refusal;
    if (reply.type !== 'status-reply')
      throw new CliError('REFUSED', `unexpected ${reply.type} reply to status`);
    return reply.requests;
  } finally {
    client.close();
  }
}

export function printStatus(io: Io, requests: readonly RequestStatus[], json: boolean): void {
  if (json) {
    printJson(io, { requests });
    return;
  }
  io.out(
    formatTable(
      [
        'request',
        'state',
        'pool',
        'images',
        'committed',
        'queued',
        'writing',
        'pending sync',
        'failed',
        'bytes',
      ],
      requests.map((r) => [
        r.requestId,
        r.state,
        r.pool,
        r.images,
        r.copies.committed,
        r.copies.queued + r.copies.retrying,
        r.copies.writing,
        r.copies.written,
        r.copies.failed,
        `${formatBytes(r.bytesCommitted)}/${formatBytes(r.bytesTotal)}`,
      ]),
    ),
  );
}
