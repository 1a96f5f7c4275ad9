/**
 * The cartridge of a simulated drive: a `SyntheticMedium` whose `sync()` keeps no durable snapshot.
 * The simulator never cuts power, so the snapshot (a copy of every run, taken at every sync) would
 * only make a run with one sync per image quadratic in the number of images.
 */
import { SyntheticMedium } from '@tapedup/virtual-drive';

export class SimulationMedium extends SyntheticMedium {
  #syncs = 0;

  override async sync(): Promise<void> {
    this.#syncs++;
  }

  override get syncCount(): number {
    return this.#syncs;
  }

  /** Power loss is not simulated: there is no durable state to fall back to. */
  override loseUnsynced(): void {
    throw new Error('SimulationMedium does not model power loss');
  }
}
