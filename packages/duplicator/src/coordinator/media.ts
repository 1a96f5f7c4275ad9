/**
 * Media as the coordinator sees them: their catalog state and pool, which drive uses which, and
 * the choice of a medium for a pool.
 */
import { isCatalogError } from '../catalog';
import type { CoordinatorState } from './state';

/** The catalog state of a medium, or undefined when the catalog does not know it. */
export function mediumState(core: CoordinatorState, barcode: string): string | undefined {
  try {
    return core.catalog.getMedium(barcode).state;
  } catch {
    return undefined;
  }
}

/** The pool of a medium, or undefined when the catalog does not know it. */
export function mediumPool(core: CoordinatorState, barcode: string): string | undefined {
  try {
    return core.catalog.getMedium(barcode).pool;
  } catch {
    return undefined;
  }
}

/** Another drive writes on, holds, or is mounting the medium. */
export function mediumInUseElsewhere(core: CoordinatorState, barcode: string, driveId: string): boolean {
  for (const d of core.drives.values()) {
    if (
      d.id !== driveId &&
      (d.medium === barcode || d.loadedMedium === barcode || d.mounting?.barcode === barcode)
    )
      return true;
  }
  return false;
}

/**
 * A medium for the pool: an active one no other drive uses (resuming at its committed end), else
 * a fresh scratch one. Never a frozen or full one, never an excluded one.
 */
export function chooseMedium(
  core: CoordinatorState,
  pool: string,
  excluded: readonly string[],
  driveId: string,
): string | undefined {
  const skip = new Set(excluded);
  for (const d of core.drives.values()) {
    if (d.id === driveId) continue;
    for (const b of [d.medium, d.loadedMedium, d.mounting?.barcode]) if (b !== undefined) skip.add(b);
  }
  const active = core.catalog
    .listMedia({ pool, state: 'active', limit: 100_000 })
    .find((m) => !skip.has(m.barcode));
  if (active !== undefined) return active.barcode;
  try {
    const m = core.catalog.allocateScratch(pool, [...skip]);
    core.log.info({ pool, medium: m.barcode, driveId }, 'scratch medium allocated');
    return m.barcode;
  } catch (error) {
    if (isCatalogError(error, 'NO_SCRATCH')) return undefined;
    throw error;
  }
}
