/**
 * The installation's configuration (tapedup.yaml) as the command validates it. It mirrors the
 * configuration the duplicator process reads (docs/architecture.md): where state lives, the catalog,
 * the sockets, the drives, the virtual library, the disk storage units, the sync-deferral policy,
 * retry, heartbeat, clock scale and log level. Every path is resolved against the file's directory.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseVirtualDriveSpec } from '@tapedup/virtual-drive';
import { z } from 'zod';
import { CliError } from '../errors';

const NAME = /^[A-Za-z0-9._:-]{1,128}$/;
const LIBRARY_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const LOOPBACK_TCP = /^tcp:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/;

const name = z.string().regex(NAME, 'must be 1..128 characters of A-Z a-z 0-9 . _ : -');
const path = z.string().min(1, 'must be a non-empty path');
const endpoint = z
  .string()
  .max(1024)
  .refine((e) => e.startsWith('ipc://') || LOOPBACK_TCP.test(e), {
    message: 'must be ipc://<path> or tcp://127.0.0.1:<port> (TCP beyond loopback needs CURVE keys)',
  });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const POLICY_NAMES = ['sync-every', 'fixed', 'cta', 'adaptive'] as const;
export const DRIVE_PROFILES = ['LTO-7', 'LTO-8', 'LTO-9', 'untimed'] as const;

const policySettings = z.strictObject({
  policy: z.enum(POLICY_NAMES).optional(),
  maxDeferredImages: z.int().min(0).max(100_000).optional(),
  maxDeferredBytes: z.int().min(0).optional(),
  maxSecondsWithoutSync: z.number().gt(0).max(86_400).optional(),
  maxDeferrableImageBytes: z.int().min(0).optional(),
  fixedBatchImages: z.int().min(1).max(100_000).optional(),
  mpxFactor: z.int().min(1).max(32).optional(),
});

const pool = z.strictObject({
  cartridges: z.int().min(1).max(10_000),
  capacityBytes: z
    .int()
    .min(1_000_000)
    .max(2 ** 50),
});

export const configSchema = z.strictObject({
  stateDir: path.default('./.tapedup'),
  catalog: path.optional(),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  clockScale: z.number().gt(0).max(1_000_000).default(1),
  endpoints: z
    .strictObject({
      scheduler: endpoint.optional(),
      events: endpoint.optional(),
      writers: endpoint.optional(),
    })
    .default({}),
  drives: z
    .array(
      z.strictObject({
        id: z.string().regex(LIBRARY_NAME, 'must be 1..64 characters of A-Z a-z 0-9 _ -'),
        spec: z.string().min(1),
        profile: z.enum(DRIVE_PROFILES).optional(),
      }),
    )
    .min(1, 'must list at least one drive')
    .max(64),
  library: z.strictObject({
    dir: path.optional(),
    pools: z
      .record(z.string().regex(LIBRARY_NAME, 'pool names are 1..64 characters of A-Z a-z 0-9 _ -'), pool)
      .refine((p) => Object.keys(p).length > 0, { message: 'must name at least one pool' }),
  }),
  dsu: z
    .record(name, path)
    .refine((d) => Object.keys(d).length > 0, { message: 'must name at least one disk storage unit' }),
  policy: policySettings.default({}),
  retry: z
    .strictObject({
      maxAttempts: z.int().min(1).max(1000).default(3),
      backoffMs: z.int().min(0).max(3_600_000).default(1000),
      maxBackoffMs: z.int().min(0).max(3_600_000).default(30_000),
    })
    .default({ maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 30_000 }),
  heartbeat: z
    .strictObject({
      intervalMs: z.int().min(10).max(600_000).default(1000),
      timeoutMs: z.int().min(50).max(3_600_000).default(5000),
    })
    .default({ intervalMs: 1000, timeoutMs: 5000 }),
});

export type ConfigInput = z.input<typeof configSchema>;

/** A validated configuration with every path absolute and every default filled in. */
export interface TapedupConfig {
  stateDir: string;
  catalog: string;
  logLevel: (typeof LOG_LEVELS)[number];
  clockScale: number;
  endpoints: { scheduler: string; events: string; writers: string };
  drives: { id: string; spec: string; profile?: (typeof DRIVE_PROFILES)[number] }[];
  library: { dir: string; pools: Record<string, { cartridges: number; capacityBytes: number }> };
  dsu: Record<string, string>;
  policy: z.infer<typeof policySettings>;
  retry: { maxAttempts: number; backoffMs: number; maxBackoffMs: number };
  heartbeat: { intervalMs: number; timeoutMs: number };
}

function dotted(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function configError(field: string, message: string, source: string): CliError {
  const where = field === '' ? '' : `key ${field} `;
  return new CliError('INVALID_CONFIG', `${source}: config ${where}${message}`, {
    field: field || undefined,
  });
}

function absolute(p: string, baseDir: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** Longest path an ipc:// endpoint may have (sockaddr_un.sun_path is 108 bytes, NUL included). */
const MAX_IPC_PATH = 107;

function ipcEndpoint(file: string, field: string, source: string): string {
  if (Buffer.byteLength(file) > MAX_IPC_PATH) {
    throw configError(
      field,
      `defaults to an ipc socket path longer than ${MAX_IPC_PATH} bytes (${file}); set it`,
      source,
    );
  }
  return `ipc://${file}`;
}

function resolveEndpoint(
  value: string | undefined,
  fallback: string,
  field: string,
  baseDir: string,
  source: string,
): string {
  if (value === undefined) return ipcEndpoint(fallback, field, source);
  if (value.startsWith('ipc://'))
    return ipcEndpoint(absolute(value.slice('ipc://'.length), baseDir), field, source);
  return value;
}

/**
 * Validates a parsed configuration document. Relative paths (and the library directory of
 * `virtual:` drive specs) are resolved against `baseDir`. Throws `CliError` `INVALID_CONFIG`
 * whose `field` is the dotted key at fault and whose message names it.
 */
export function validateConfig(document: unknown, baseDir: string, source = 'config'): TapedupConfig {
  const parsed = configSchema.safeParse(document ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    let field = dotted(issue.path);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      field = field === '' ? key : `${field}.${key}`;
      message = 'is not a known setting';
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      message = 'is required';
    }
    throw configError(field, message, source);
  }
  const c = parsed.data;
  const stateDir = absolute(c.stateDir, baseDir);
  const ids = new Set<string>();
  const drives = c.drives.map((d, i) => {
    if (ids.has(d.id))
      throw configError(`drives.${i}.id`, `repeats drive id ${JSON.stringify(d.id)}`, source);
    ids.add(d.id);
    let spec = d.spec;
    if (spec.startsWith('virtual:')) {
      try {
        const v = parseVirtualDriveSpec(spec);
        spec = `virtual:${absolute(v.libraryDir, baseDir)}#${v.drive}`;
      } catch (error) {
        throw configError(`drives.${i}.spec`, (error as Error).message, source);
      }
    } else if (!/^(iscsi:\/\/|sg:|st:)/.test(spec)) {
      throw configError(
        `drives.${i}.spec`,
        'must be virtual:<dir>#<drive>, iscsi://…, sg:/dev/sgN or st:/dev/nstN',
        source,
      );
    }
    return d.profile === undefined ? { id: d.id, spec } : { id: d.id, spec, profile: d.profile };
  });
  const dsu: Record<string, string> = {};
  for (const [key, root] of Object.entries(c.dsu)) dsu[key] = absolute(root, baseDir);
  if (c.heartbeat.timeoutMs <= c.heartbeat.intervalMs) {
    throw configError('heartbeat.timeoutMs', 'must be longer than heartbeat.intervalMs', source);
  }
  return {
    stateDir,
    catalog: absolute(c.catalog ?? `${stateDir}/catalog.sqlite`, baseDir),
    logLevel: c.logLevel,
    clockScale: c.clockScale,
    endpoints: {
      scheduler: resolveEndpoint(
        c.endpoints.scheduler,
        `${stateDir}/scheduler.ipc`,
        'endpoints.scheduler',
        baseDir,
        source,
      ),
      events: resolveEndpoint(
        c.endpoints.events,
        `${stateDir}/events.ipc`,
        'endpoints.events',
        baseDir,
        source,
      ),
      writers: resolveEndpoint(
        c.endpoints.writers,
        `${stateDir}/writers.ipc`,
        'endpoints.writers',
        baseDir,
        source,
      ),
    },
    drives,
    library: { dir: absolute(c.library.dir ?? `${stateDir}/library`, baseDir), pools: c.library.pools },
    dsu,
    policy: c.policy,
    retry: c.retry,
    heartbeat: c.heartbeat,
  };
}
