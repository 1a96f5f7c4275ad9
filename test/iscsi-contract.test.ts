/**
 * The TapeDevice contract suite against a real iSCSI tape LUN served by tgtd (tgt's SSC emulation,
 * which nobody here wrote): every case gets a fresh cartridge on a fresh LUN. tgt's gaps (no usable
 * READ POSITION, no LOCATE, no ALLOW OVERWRITE, IMMED ignored) make the capability-dependent cases
 * take their "refuses / counts itself" branches.
 */

import { afterAll, beforeAll, describe, it } from 'vitest';
import { IscsiTapeDevice } from '../native/src/index';
import { describeTapeDeviceContract } from '../packages/scsi/src/testing/contract-suite';
import { startTgtTarget, type TgtTarget, tgtSkipReason } from './helpers/tgt';

const skip = tgtSkipReason();

if (skip !== undefined) {
  describe('TapeDevice contract: iSCSI LUN on tgtd', () => {
    it.skip(`skipped: ${skip}`, () => undefined);
  });
} else {
  let target: TgtTarget;
  beforeAll(async () => {
    target = await startTgtTarget({ luns: 0 });
  });
  afterAll(async () => {
    await target?.stop();
  });

  describeTapeDeviceContract('iSCSI LUN on tgtd', async () => {
    const lun = await target.addLun();
    const device = new IscsiTapeDevice({
      host: target.host,
      port: target.port,
      targetIqn: target.iqn,
      lun,
      timeoutsMs: { short: 10_000, io: 10_000, long: 20_000 },
    });
    await device.open();
    return {
      device,
      cleanup: async () => {
        await device.close();
        await target.deleteLun(lun);
      },
    };
  });
}
