import { ScsiError, type TapeDevice } from '@tapedup/scsi';
import type { MediaChanger } from '../engine/medium';

/**
 * A standalone drive without a changer: the cartridge the operator loaded is the only one. Mounting
 * only waits for the drive to be ready; the engine then checks the volume label against the barcode
 * (a blank cartridge is labelled with it).
 */
export class LoadedMediumChanger implements MediaChanger {
  constructor(
    private readonly device: TapeDevice,
    private readonly pool = '',
  ) {}

  async mount(_barcode: string): Promise<{ pool: string }> {
    await readyAfterAttention(this.device);
    return { pool: this.pool };
  }
}

/** TEST UNIT READY, clearing one pending UNIT ATTENTION (a medium change reports one). */
export async function readyAfterAttention(device: TapeDevice): Promise<void> {
  try {
    await device.testUnitReady();
  } catch (error) {
    if (!(error instanceof ScsiError) || error.category !== 'unit-attention') throw error;
    await device.testUnitReady();
  }
}
