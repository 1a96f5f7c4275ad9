/**
 * Serving a given cartridge file from a running tgtd test target, and withdrawing it again without
 * deleting the file. `TgtTarget.addLun` always makes a fresh cartridge and `deleteLun` removes the file;
 * format interoperability tests need the file itself to move between tgtd and the virtual drive.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TgtTarget } from './tgt';

const run = promisify(execFile);

/** The management channel of the target (scripts/tgt-target.sh keeps it in `<workdir>/tgt.env`). */
async function controlPort(target: TgtTarget): Promise<string> {
  const env = await readFile(join(target.workdir, 'tgt.env'), 'utf8');
  const match = /^CONTROL_PORT=(\d+)$/m.exec(env);
  if (match?.[1] === undefined) throw new Error(`no CONTROL_PORT in ${join(target.workdir, 'tgt.env')}`);
  return match[1];
}

async function tgtadm(target: TgtTarget, args: string[]): Promise<void> {
  await run('tgtadm', ['-C', await controlPort(target), '--lld', 'iscsi', ...args]);
}

/**
 * Adds `file` (an existing tgt SSC cartridge) to target 1 as tape LUN `lun`. Resolves once tgtd has
 * opened it: tgtadm returns only after the LUN exists.
 */
export async function serveCartridge(target: TgtTarget, lun: number, file: string): Promise<void> {
  await tgtadm(target, [
    '--mode',
    'logicalunit',
    '--op',
    'new',
    '--tid',
    '1',
    '--lun',
    String(lun),
    '--device-type',
    'tape',
    '--bstype',
    'ssc',
    '-b',
    file,
  ]);
}

/**
 * Removes LUN `lun` from target 1, leaving its file in place. tgtd closes the backing file before
 * tgtadm returns, so the file can then be opened by another process. Close the initiator's device
 * first: tgtd refuses to delete a LUN with a command queued or in flight (TGTADM_LUN_ACTIVE).
 */
export async function withdrawLun(target: TgtTarget, lun: number): Promise<void> {
  await tgtadm(target, ['--mode', 'logicalunit', '--op', 'delete', '--tid', '1', '--lun', String(lun)]);
}
