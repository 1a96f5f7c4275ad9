/**
 * Validation of `tapedup submit`'s options. Pure: raw strings from the command line in, a checked
 * description of the request out; every message names the option.
 */
import type { PolicyOverrides, SyncPolicyName } from '@tapedup/protocol';
import { POLICY_NAMES } from '../config/schema';
import { invalidOption } from '../errors';

export interface RawSubmitOptions {
  list?: string | undefined;
  dir?: string | undefined;
  json?: string | undefined;
  copies?: string | undefined;
  priority?: string | undefined;
  pool?: string | undefined;
  policy?: string | undefined;
  deadline?: string | undefined;
  idPrefix?: string | undefined;
}

export type ImageSourceOption =
  | { kind: 'list'; file: string }
  | { kind: 'dir'; dsu: string; subdir: string }
  | { kind: 'json'; file: string };

export interface SubmitPlan {
  source: ImageSourceOption;
  copies: number;
  priority: number;
  pool: string;
  policy?: PolicyOverrides | undefined;
  deadline?: number | undefined;
  idPrefix?: string | undefined;
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** An integer option within [min, max]. */
export function intOption(option: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim()))
    throw invalidOption(option, `must be an integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw invalidOption(option, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

const DURATION = /^\+(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A deadline: an ISO 8601 date-time (`2030-01-01T06:00:00Z`), epoch milliseconds, or a duration from
 * `now` (`+30m`, `+2h`, `+1d`). Must lie in the future.
 */
export function parseDeadline(value: string, now: number): number {
  const trimmed = value.trim();
  let at: number;
  const duration = DURATION.exec(trimmed);
  if (duration !== null) at = now + Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  else if (/^\d+$/.test(trimmed)) at = Number(trimmed);
  else if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) at = Date.parse(trimmed);
  else at = Number.NaN;
  if (!Number.isFinite(at)) {
    throw invalidOption(
      '--deadline',
      `must be an ISO date-time, epoch ms or +<n>s|m|h|d, got ${JSON.stringify(value)}`,
    );
  }
  at = Math.round(at);
  if (at <= now)
    throw invalidOption('--deadline', `must be in the future, got ${new Date(at).toISOString()}`);
  return at;
}

/** Checks the options against the configuration's pools and DSUs. */
export function parseSubmitOptions(
  raw: RawSubmitOptions,
  context: { pools: readonly string[]; dsus: readonly string[]; now: number },
): SubmitPlan {
  const given = (['list', 'dir', 'json'] as const).filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    throw invalidOption(
      given.length === 0 ? '--list' : `--${given[1]}`,
      given.length === 0
        ? 'or --dir or --json is required: name the images to duplicate'
        : `cannot be combined with --${given[0]}: give one of --list, --dir, --json`,
    );
  }
  let source: ImageSourceOption;
  if (raw.dir !== undefined) {
    const colon = raw.dir.indexOf(':');
    const dsu = colon === -1 ? raw.dir : raw.dir.slice(0, colon);
    const subdir = colon === -1 ? '' : raw.dir.slice(colon + 1);
    if (!context.dsus.includes(dsu)) {
      throw invalidOption(
        '--dir',
        `names unknown disk storage unit ${JSON.stringify(dsu)} (configured: ${context.dsus.join(', ')})`,
      );
    }
    source = { kind: 'dir', dsu, subdir };
  } else if (raw.list !== undefined) {
    source = { kind: 'list', file: raw.list };
  } else {
    source = { kind: 'json', file: raw.json! };
  }
  const pool = raw.pool ?? context.pools[0] ?? 'default';
  if (!SAFE_ID.test(pool)) throw invalidOption('--pool', `must be 1..128 characters of A-Z a-z 0-9 . _ : -`);
  if (!context.pools.includes(pool)) {
    throw invalidOption(
      '--pool',
      `names unknown pool ${JSON.stringify(pool)} (configured: ${context.pools.join(', ')})`,
    );
  }
  let policy: PolicyOverrides | undefined;
  if (raw.policy !== undefined) {
    if (!(POLICY_NAMES as readonly string[]).includes(raw.policy)) {
      throw invalidOption(
        '--policy',
        `must be one of ${POLICY_NAMES.join(', ')}, got ${JSON.stringify(raw.policy)}`,
      );
    }
    policy = { policy: raw.policy as SyncPolicyName };
  }
  if (raw.idPrefix !== undefined && !/^[A-Za-z0-9._:-]{0,64}$/.test(raw.idPrefix)) {
    throw invalidOption('--id-prefix', 'must be at most 64 characters of A-Z a-z 0-9 . _ : -');
  }
  return {
    source,
    copies: raw.copies === undefined ? 1 : intOption('--copies', raw.copies, 1, 8),
    priority: raw.priority === undefined ? 50 : intOption('--priority', raw.priority, 0, 100),
    pool,
    policy,
    deadline: raw.deadline === undefined ? undefined : parseDeadline(raw.deadline, context.now),
    idPrefix: raw.idPrefix,
  };
}
