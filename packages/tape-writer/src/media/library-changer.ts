import type { MediumStore, VirtualDrive, VirtualLibrary } from '@tapedup/virtual-drive';
import type { MediaChanger } from '../engine/medium';
import { readyAfterAttention } from './loaded-medium-changer';

/**
 * Mounts cartridges of a virtual library into this writer's virtual drive: the library records the
 * move (under its lock) and the drive gets the cartridge file. The writer owns the handle of the
 * cartridge in its drive and closes it when the cartridge leaves.
 */
export class VirtualLibraryChanger implements MediaChanger {
  #store: MediumStore | undefined;

  constructor(
    private readonly library: VirtualLibrary,
    private readonly driveName: string,
    private readonly drive: VirtualDrive,
  ) {}

  async mount(barcode: string): Promise<{ pool: string }> {
    const record = await this.library.cartridge(barcode);
    const inDrive = this.drive.medium?.info().barcode;
    if (inDrive !== barcode) {
      if (this.drive.medium !== undefined) {
        const old = await this.drive.unloadMedium();
        await old?.close();
        this.#store = undefined;
      }
      if ((await this.library.mountedIn(this.driveName)) !== undefined)
        await this.library.unmount(this.driveName);
      await this.library.mount(this.driveName, barcode);
      const store = await this.library.openMedium(barcode);
      await this.drive.loadMedium(store);
      this.#store = store;
    }
    await readyAfterAttention(this.drive);
    return { pool: record.pool };
  }

  /** Closes the handle of the cartridge this changer loaded (the library keeps it mounted). */
  async close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    if (store !== undefined && this.drive.medium === store) await this.drive.unloadMedium();
    await store?.close();
  }
}
