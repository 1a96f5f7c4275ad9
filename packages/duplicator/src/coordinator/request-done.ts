/** The end of a request: `request-done` once the catalog says it reached a final state. */
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { eventOutput } from './messages';
import type { Output } from './outputs';
import { summarize } from './reports';
import type { CoordinatorState } from './state';

/** `request-done` for every request that reached a final state since the last look. */
export function finishedRequests(core: CoordinatorState): Output[] {
  const out: Output[] = [];
  for (const id of [...core.active]) {
    const request = core.catalog.getRequest(id);
    if (request.state === 'active') continue;
    core.active.delete(id);
    core.policies.delete(id);
    const summary = summarize(request, core.catalog.status(id));
    core.log.info({ requestId: id, ...summary }, 'request done');
    out.push(
      eventOutput({
        v: PROTOCOL_VERSION,
        type: 'request-done',
        id: core.ids.next('e'),
        at: core.clock(),
        requestId: id,
        ...summary,
      }),
    );
  }
  return out;
}
