/**
 * The policies a simulation compares. Each is the duplicator's own `SyncPolicy` built from validated
 * settings; the oracle is the `cta` rule with a byte threshold only (its file limit at the maximum),
 * so it runs through the same rule machinery, shared caps included, as every other policy.
 */
import {
  createSyncPolicy,
  POLICY_NAMES,
  resolveSyncSettings,
  type SyncPolicy,
  type SyncPolicyName,
  type SyncSettings,
} from './duplicator';
import { invalidOption } from './errors';

/** A policy under comparison: `label` names it in tables (`oracle` for the swept fixed-bytes line). */
export interface PolicyVariant {
  readonly label: string;
  readonly settings: SyncSettings;
  /** For the oracle: the batch size in bytes it flushes at. */
  readonly batchBytes?: number | undefined;
}

export type PolicyLabel = SyncPolicyName | 'oracle';

/** The policies of every policy benchmark, in table order. */
export const COMPARED_POLICIES: readonly PolicyLabel[] = ['sync-every', 'fixed', 'cta', 'adaptive', 'oracle'];

/** The duplicator's policy `name` with its default settings (fixed: 8 images; cta: 200 files / 32 GB). */
export function namedPolicy(name: SyncPolicyName): PolicyVariant {
  if (!POLICY_NAMES.includes(name)) throw invalidOption('--policy', `unknown policy ${name}`, name);
  return {
    label: name,
    settings: resolveSyncSettings([{ source: 'simulator', values: { policy: name } }]),
  };
}

/** The largest file count the settings accept: the oracle's batches end on bytes (or a shared cap). */
const UNLIMITED_FILES = 100_000;

/** A fixed batch size in bytes: flush on the image that brings the batch to `batchBytes`. */
export function fixedBytesPolicy(batchBytes: number): PolicyVariant {
  if (!Number.isSafeInteger(batchBytes) || batchBytes < 1) {
    throw invalidOption('batchBytes', 'must be a positive integer', batchBytes);
  }
  return {
    label: 'oracle',
    batchBytes,
    settings: resolveSyncSettings([
      {
        source: 'simulator oracle',
        values: { policy: 'cta', ctaMaxFiles: UNLIMITED_FILES, ctaMaxBytes: batchBytes },
      },
    ]),
  };
}

/** Batch sizes the oracle sweeps: 1/8 GB to 64 GB (the shared byte cap), `step` apart (factor). */
export function oracleSweep(step = 2, minBytes = 125_000_000, maxBytes = 64_000_000_000): number[] {
  if (!(step > 1)) throw invalidOption('step', 'must be above 1', step);
  const out: number[] = [];
  for (let b = minBytes; b <= maxBytes * 1.0001; b *= step) out.push(Math.round(b));
  return out;
}

export function buildPolicy(variant: PolicyVariant): SyncPolicy {
  return createSyncPolicy(variant.settings);
}

/** Parses `--policy`: one name, a comma-separated list, or `all` (the five compared lines). */
export function parsePolicyList(value: string): PolicyLabel[] {
  if (value === 'all') return [...COMPARED_POLICIES];
  const names = value.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(COMPARED_POLICIES as readonly string[]).includes(n)) {
      throw invalidOption('--policy', `must be all or a list of ${COMPARED_POLICIES.join(', ')}`, n);
    }
  }
  return [...new Set(names)] as PolicyLabel[];
}
