/**
 * The duplicator's configuration: one zod schema, validated at the process boundary, with messages
 * that name the option at fault. The `tapedup` CLI writes the same shape (as YAML) and starts the
 * process with it; every extra key here has a default, so a CLI-resolved config is always accepted.
 */
import { isAbsolute, resolve } from 'node:path';
import { type FaultPlan, validateFaultPlan } from '@tapedup/virtual-drive';
import { z } from 'zod';
import { POLICY_NAMES, resolveSyncSettings, SettingsError } from './policy';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Default loopback ports of the scheduler ROUTER and the events PUB. */
export const DEFAULT_SCHEDULER_PORT = 7300;
export const DEFAULT_EVENTS_PORT = 7301;

/** Longest path an ipc:// endpoint may have (sockaddr_un.sun_path is 108 bytes, NUL included). */
const MAX_IPC_PATH = 107;
const NAME = /^[A-Za-z0-9._:-]{1,128}$/;
const DRIVE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const Z85_KEY = /^[0-9A-Za-z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;
const BARCODE = /^[A-Za-z0-9._-]{1,32}$/;
const LOOPBACK_TCP = /^tcp:\/\/(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$/;

const name = z.string().regex(NAME, 'must be 1..128 characters of A-Z a-z 0-9 . _ : -');
const nonEmptyPath = z.string().min(1, 'must be a non-empty path');
const endpoint = z
  .string()
  .max(1024)
  .regex(/^(tcp|ipc|inproc):\/\/\S+$/, 'must be tcp://host:port, ipc://path or inproc://name');
const curveKey = z.string().regex(Z85_KEY, 'must be a 40-character Z85 CURVE key');

const policySettings = z.strictObject({
  policy: z.enum(POLICY_NAMES as unknown as ['sync-every', 'fixed', 'cta', 'adaptive']).optional(),
  maxDeferredImages: z.int().min(0).max(100_000).optional(),
  maxDeferredBytes: z.int().min(0).optional(),
  maxSecondsWithoutSync: z.number().gt(0).max(86_400).optional(),
  maxDeferrableImageBytes: z.int().min(0).optional(),
  fixedBatchImages: z.int().min(1).max(100_000).optional(),
  ctaMaxFiles: z.int().min(1).max(100_000).optional(),
  ctaMaxBytes: z.int().min(1).optional(),
  mpxFactor: z.int().min(1).max(32).optional(),
});
export type PolicySettingsInput = z.infer<typeof policySettings>;

/**
 * A virtual drive's fault plan (the shape of `FaultPlan`); its rules between fields are checked by
 * the virtual drive's own `validateFaultPlan` after this shape check.
 */
const faultTrigger = z.union([
  z.strictObject({ op: z.string(), nth: z.number() }),
  z.strictObject({ atByte: z.number() }),
  z.strictObject({ always: z.literal(true) }),
]);
const faultPlan = z.strictObject({
  scripted: z
    .array(
      z.strictObject({
        kind: z.string(),
        trigger: faultTrigger.optional(),
        barcode: z.string().optional(),
        repeat: z.boolean().optional(),
      }),
    )
    .max(1000)
    .optional(),
  random: z
    .strictObject({
      seed: z.number(),
      faults: z
        .array(
          z.strictObject({
            kind: z.string(),
            perCommand: z.number().optional(),
            perByte: z.number().optional(),
          }),
        )
        .max(1000),
    })
    .optional(),
});

/** Tape-writer settings of one drive; each maps to the writer flag named beside it. */
const writerSettings = z.strictObject({
  /** `--append-only`: turn on SSC-4 append-only mode on drives that support it. */
  appendOnly: z.boolean().optional(),
  /** `--mpx`: images multiplexed per fragment (default `policy.mpxFactor`, else 1). */
  mpx: z.int().min(1).max(32).optional(),
  /** `--min-fragment-ms`: how long a next-image split is held while data flows. */
  minFragmentMs: z.int().min(0).max(86_400_000).optional(),
  /** `--max-fragment-size`: bytes of image data per fragment before it ends. */
  maxFragmentBytes: z
    .int()
    .min(1)
    .max(2 ** 50)
    .optional(),
  /** `--max-fragment-images`: images one fragment's table may name (mpx..65535, default max(16, mpx)). */
  maxFragmentImages: z.int().min(1).max(65_535).optional(),
  /** `--pack-images`: at MPX factor 1, small deferred disk images share a fragment (default false). */
  packImages: z.boolean().optional(),
  /** `--checkpoint-ms`: a fragment open this long while an image runs ends at a checkpoint (default off). */
  checkpointMs: z.int().min(1).max(86_400_000).optional(),
  /** `--stream-idle-ms`: a stream silent this long mid-image fails. */
  streamIdleMs: z.int().min(10).max(86_400_000).optional(),
  /** `--log-file`: the writer's log (default: the duplicator's stderr). Relative to the config file. */
  logFile: z.string().min(1).optional(),
  /** `--log-level` of the writer (default `logLevel`). */
  logLevel: z.enum(LOG_LEVELS).optional(),
});
export type WriterSettings = z.infer<typeof writerSettings>;

const pool = z.strictObject({
  cartridges: z.int().min(1).max(10_000),
  capacityBytes: z
    .int()
    .min(1_000_000)
    .max(2 ** 50),
});

export const configSchema = z.strictObject({
  stateDir: nonEmptyPath,
  catalog: nonEmptyPath.optional(),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  clockScale: z.number().gt(0).max(1_000_000).default(1),
  endpoints: z
    .strictObject({
      scheduler: endpoint.optional(),
      events: endpoint.optional(),
      writers: endpoint.optional(),
      /** Server key pair of the scheduler and events sockets; required for TCP beyond loopback. */
      curve: z.strictObject({ publicKey: curveKey, secretKey: curveKey }).optional(),
    })
    .default({}),
  drives: z
    .array(
      z.strictObject({
        id: z.string().regex(DRIVE_ID, 'must be 1..64 characters of A-Z a-z 0-9 _ -'),
        spec: z
          .string()
          .regex(
            /^(virtual:|iscsi:\/\/|sg:\/|st:\/)\S/,
            'must be a drive spec: virtual:<dir>#<drive>, iscsi://host[:port]/<iqn>/<lun>, sg:/dev/sgN or st:/dev/nstN',
          ),
        /** Timing profile of a virtual drive (its writer's `--profile`); `untimed` turns the rate model off. */
        profile: z.enum(['LTO-7', 'LTO-8', 'LTO-9', 'untimed']).optional(),
        /** Faults the writer's virtual drive injects (tests and drills); virtual drives only. */
        faults: faultPlan.optional(),
        /** Options of this drive's tape writer (passed as its command-line flags). */
        writer: writerSettings.optional(),
        /** The cartridge loaded in a standalone drive (iscsi://, sg:, st:); a library moves its own. */
        medium: z
          .strictObject({
            barcode: z.string().regex(BARCODE, 'must be 1..32 characters of A-Z a-z 0-9 . _ -'),
            pool: z.string().min(1, 'must name a pool of library.pools'),
          })
          .optional(),
      }),
    )
    .min(1, 'must list at least one drive')
    .max(64),
  library: z.strictObject({
    dir: nonEmptyPath.optional(),
    pools: z
      .record(z.string().regex(DRIVE_ID, 'pool names are 1..64 characters of A-Z a-z 0-9 _ -'), pool)
      .refine((p) => Object.keys(p).length > 0, { message: 'must name at least one pool' }),
  }),
  dsu: z
    .record(name, nonEmptyPath)
    .refine((d) => Object.keys(d).length > 0, { message: 'must name at least one disk storage unit' }),
  policy: policySettings.default({}),
  /** Per-pool overrides of `policy`, applied before a request's own overrides. */
  poolPolicy: z.record(z.string(), policySettings).default({}),
  retry: z
    .strictObject({
      maxAttempts: z.int().min(1).max(1000).default(3),
      backoffMs: z.int().min(0).max(3_600_000).default(0),
      maxBackoffMs: z.int().min(0).max(3_600_000).default(30_000),
    })
    .default({ maxAttempts: 3, backoffMs: 0, maxBackoffMs: 30_000 }),
  heartbeat: z
    .strictObject({
      intervalMs: z.int().min(10).max(600_000).default(1000),
      timeoutMs: z.int().min(50).max(3_600_000).default(5000),
      /** Silence allowed before a new writer's first message (it is opening and loading its drive). */
      startupTimeoutMs: z.int().min(50).max(3_600_000).default(120_000),
    })
    .default({ intervalMs: 1000, timeoutMs: 5000, startupTimeoutMs: 120_000 }),
  restart: z
    .strictObject({
      initialMs: z.int().min(0).max(3_600_000).default(500),
      maxMs: z.int().min(0).max(3_600_000).default(30_000),
      factor: z.number().min(1).max(100).default(2),
      /** A writer up this long without failing gets its backoff reset. */
      healthyMs: z.int().min(0).max(86_400_000).default(60_000),
    })
    .default({ initialMs: 500, maxMs: 30_000, factor: 2, healthyMs: 60_000 }),
  /** Planning waits this long after start for every writer to say hello (0: plan at once). */
  startupSettleMs: z.int().min(0).max(3_600_000).default(15_000),
  writerWindow: z
    .strictObject({
      images: z.int().min(1).max(1000).default(64),
      bytes: z
        .int()
        .min(1)
        .max(2 ** 53 - 1)
        .default(64_000_000_000),
    })
    .default({ images: 64, bytes: 64_000_000_000 }),
  /** Sync failures with medium sense on one medium before it is frozen. */
  freezeAfterMediumErrors: z.int().min(1).max(1000).default(2),
  /** Native write rate assumed for a drive until its heartbeats report one, bytes/s. */
  defaultDriveRateBytesPerSec: z.number().gt(0).default(400_000_000),
  /** The tape-writer entry point; default packages/tape-writer/dist/main.js of this workspace. */
  writerMain: nonEmptyPath.optional(),
  /**
   * Directory of the ipc:// PULL endpoints of `stream` copies (default `<stateDir>/streams` when
   * that path is short enough for ipc endpoints); `false` refuses `stream` images.
   */
  streamDir: z.union([nonEmptyPath, z.literal(false)]).optional(),
  /** How long a graceful stop waits for the writers' `shutdown-ack` and exit, ms. */
  shutdownTimeoutMs: z.int().min(0).max(600_000).default(10_000),
  /** Period of the planning/heartbeat tick, ms. */
  tickMs: z.int().min(5).max(60_000).default(200),
  /** Largest control frame accepted on any socket, bytes. */
  maxFrameBytes: z
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
});

export type ConfigInput = z.input<typeof configSchema>;

/** One configured drive. */
export interface DriveConfig {
  readonly id: string;
  readonly spec: string;
  readonly profile?: string;
  /** A validated fault plan for the writer's virtual drive. */
  readonly faults?: FaultPlan;
  /** Tape-writer settings (`logFile` absolute). */
  readonly writer?: WriterSettings;
  /** The cartridge loaded in a standalone drive: registered in the catalog, reported as loaded. */
  readonly medium?: { readonly barcode: string; readonly pool: string };
}

/** A validated configuration: every path absolute, every default filled in. */
export interface DuplicatorConfig {
  readonly stateDir: string;
  readonly catalog: string;
  readonly logLevel: LogLevel;
  readonly clockScale: number;
  readonly endpoints: {
    readonly scheduler: string;
    readonly events: string;
    readonly writers: string;
    readonly curve?: { readonly publicKey: string; readonly secretKey: string } | undefined;
  };
  readonly drives: readonly DriveConfig[];
  readonly library: {
    readonly dir: string;
    readonly pools: Readonly<Record<string, { readonly cartridges: number; readonly capacityBytes: number }>>;
  };
  readonly dsu: Readonly<Record<string, string>>;
  readonly policy: PolicySettingsInput;
  readonly poolPolicy: Readonly<Record<string, PolicySettingsInput>>;
  readonly retry: { readonly maxAttempts: number; readonly backoffMs: number; readonly maxBackoffMs: number };
  readonly heartbeat: {
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly startupTimeoutMs: number;
  };
  readonly restart: {
    readonly initialMs: number;
    readonly maxMs: number;
    readonly factor: number;
    readonly healthyMs: number;
  };
  readonly writerWindow: { readonly images: number; readonly bytes: number };
  readonly startupSettleMs: number;
  readonly freezeAfterMediumErrors: number;
  readonly defaultDriveRateBytesPerSec: number;
  readonly writerMain?: string | undefined;
  /** Where stream copies' PULL endpoints live; undefined = `stream` images are refused. */
  readonly streamDir: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly tickMs: number;
  readonly maxFrameBytes: number;
}

/** A configuration refused at the boundary; `option` is the dotted key at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(option === '' ? `config: ${message}` : `config option ${option}: ${message}`);
  }
}

function absolute(p: string, baseDir: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function ipcEndpoint(file: string, option: string): string {
  if (Buffer.byteLength(file) > MAX_IPC_PATH) {
    throw new ConfigError(option, `ipc socket path longer than ${MAX_IPC_PATH} bytes (${file}); set it`);
  }
  return `ipc://${file}`;
}

/** The longest stream endpoint file under the stream directory: `/i<15 digits>c<copy>.sock`. */
const LONGEST_STREAM_FILE = '/i999999999999999c8.sock';

function resolveStreamDir(value: string | false | undefined, stateDir: string, baseDir: string) {
  if (value === false) return undefined;
  const dir = value === undefined ? `${stateDir}/streams` : absolute(value, baseDir);
  const fits = Buffer.byteLength(dir + LONGEST_STREAM_FILE) <= MAX_IPC_PATH;
  // A default that does not fit only means stream images are refused until a short one is set.
  if (value === undefined) return fits ? dir : undefined;
  if (!fits) {
    throw new ConfigError(
      'streamDir',
      `${dir} is too long for ipc:// stream endpoints (at most ${MAX_IPC_PATH - LONGEST_STREAM_FILE.length} bytes); set a shorter one or false`,
    );
  }
  return dir;
}

/** True for tcp:// endpoints on a loopback address; false for ipc/inproc and any other host. */
export function isLoopbackTcp(value: string): boolean {
  return LOOPBACK_TCP.test(value);
}

function resolveEndpoint(value: string | undefined, fallback: string, option: string, baseDir: string) {
  const e = value ?? fallback;
  if (e.startsWith('ipc://')) return ipcEndpoint(absolute(e.slice('ipc://'.length), baseDir), option);
  return e;
}

/**
 * Validates a parsed configuration document (from JSON or YAML). Relative paths resolve against
 * `baseDir`. Throws {@link ConfigError} naming the first option at fault.
 */
export function validateConfig(document: unknown, baseDir: string): DuplicatorConfig {
  const parsed = configSchema.safeParse(document ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue === undefined) throw new ConfigError('', 'is invalid');
    let option = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      option = option === '' ? key : `${option}.${key}`;
      message = 'is not a known option';
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      message = 'is required';
    }
    throw new ConfigError(option, message);
  }
  const c = parsed.data;
  const stateDir = absolute(c.stateDir, baseDir);
  const ids = new Set<string>();
  const specs = new Set<string>();
  const barcodes = new Set<string>();
  for (const [i, d] of c.drives.entries()) {
    if (ids.has(d.id)) throw new ConfigError(`drives.${i}.id`, `repeats drive id ${JSON.stringify(d.id)}`);
    if (specs.has(d.spec)) throw new ConfigError(`drives.${i}.spec`, 'names a drive listed twice');
    ids.add(d.id);
    specs.add(d.spec);
    if (d.medium !== undefined) {
      if (d.spec.startsWith('virtual:')) {
        throw new ConfigError(`drives.${i}.medium`, 'a virtual: drive gets its cartridges from its library');
      }
      if (c.library.pools[d.medium.pool] === undefined) {
        throw new ConfigError(`drives.${i}.medium.pool`, 'names a pool not in library.pools');
      }
      if (barcodes.has(d.medium.barcode)) {
        throw new ConfigError(`drives.${i}.medium.barcode`, 'names a cartridge loaded in another drive');
      }
      barcodes.add(d.medium.barcode);
    }
    if (d.profile !== undefined && !d.spec.startsWith('virtual:')) {
      throw new ConfigError(`drives.${i}.profile`, 'only a virtual: drive has a timing profile');
    }
    if (d.faults !== undefined) {
      if (!d.spec.startsWith('virtual:')) {
        throw new ConfigError(`drives.${i}.faults`, 'only a virtual: drive can inject faults');
      }
      try {
        validateFaultPlan(d.faults as FaultPlan);
      } catch (error) {
        throw new ConfigError(`drives.${i}.faults`, (error as Error).message);
      }
    }
  }
  const dsu: Record<string, string> = {};
  for (const [key, root] of Object.entries(c.dsu)) dsu[key] = absolute(root, baseDir);
  if (c.heartbeat.timeoutMs <= c.heartbeat.intervalMs) {
    throw new ConfigError('heartbeat.timeoutMs', 'must be longer than heartbeat.intervalMs');
  }
  if (c.restart.maxMs < c.restart.initialMs) {
    throw new ConfigError('restart.maxMs', 'must not be below restart.initialMs');
  }
  if (c.retry.maxBackoffMs < c.retry.backoffMs) {
    throw new ConfigError('retry.maxBackoffMs', 'must not be below retry.backoffMs');
  }
  for (const poolName of Object.keys(c.poolPolicy)) {
    if (c.library.pools[poolName] === undefined) {
      throw new ConfigError(`poolPolicy.${poolName}`, 'names a pool not in library.pools');
    }
  }
  // The sync-deferral module owns the rules between settings; run them once here so a bad
  // combination stops the start, not the first request.
  try {
    resolveSyncSettings([{ source: 'policy', values: c.policy }]);
    for (const [poolName, values] of Object.entries(c.poolPolicy)) {
      resolveSyncSettings([
        { source: 'policy', values: c.policy },
        { source: `poolPolicy.${poolName}`, values },
      ]);
    }
  } catch (error) {
    if (error instanceof SettingsError)
      throw new ConfigError(`${error.source}.${error.setting}`, error.message);
    throw error;
  }
  const endpoints = {
    scheduler: resolveEndpoint(
      c.endpoints.scheduler,
      `tcp://127.0.0.1:${DEFAULT_SCHEDULER_PORT}`,
      'endpoints.scheduler',
      baseDir,
    ),
    events: resolveEndpoint(
      c.endpoints.events,
      `tcp://127.0.0.1:${DEFAULT_EVENTS_PORT}`,
      'endpoints.events',
      baseDir,
    ),
    writers: resolveEndpoint(
      c.endpoints.writers,
      `ipc://${stateDir}/writers.sock`,
      'endpoints.writers',
      baseDir,
    ),
    curve: c.endpoints.curve,
  };
  for (const option of ['scheduler', 'events'] as const) {
    const e = endpoints[option];
    if (e.startsWith('tcp://') && !isLoopbackTcp(e) && endpoints.curve === undefined) {
      throw new ConfigError(
        `endpoints.${option}`,
        `${e} is TCP beyond loopback: set endpoints.curve (publicKey, secretKey) to require CURVE`,
      );
    }
  }
  // The writers run on this host and are given no keys: their socket stays local.
  if (endpoints.writers.startsWith('tcp://') && !isLoopbackTcp(endpoints.writers)) {
    throw new ConfigError(
      'endpoints.writers',
      'must be ipc:// or loopback tcp (the writers run on this host)',
    );
  }
  return {
    stateDir,
    catalog: absolute(c.catalog ?? `${stateDir}/catalog.sqlite`, baseDir),
    logLevel: c.logLevel,
    clockScale: c.clockScale,
    endpoints,
    drives: c.drives.map((d) => ({
      id: d.id,
      spec: d.spec,
      ...(d.profile === undefined ? {} : { profile: d.profile }),
      ...(d.faults === undefined ? {} : { faults: d.faults as FaultPlan }),
      ...(d.writer === undefined
        ? {}
        : {
            writer: {
              ...d.writer,
              ...(d.writer.logFile === undefined ? {} : { logFile: absolute(d.writer.logFile, baseDir) }),
            },
          }),
      ...(d.medium === undefined ? {} : { medium: { ...d.medium } }),
    })),
    library: { dir: absolute(c.library.dir ?? `${stateDir}/library`, baseDir), pools: c.library.pools },
    dsu,
    policy: c.policy,
    poolPolicy: c.poolPolicy,
    retry: c.retry,
    heartbeat: c.heartbeat,
    restart: c.restart,
    writerWindow: c.writerWindow,
    startupSettleMs: c.startupSettleMs,
    freezeAfterMediumErrors: c.freezeAfterMediumErrors,
    defaultDriveRateBytesPerSec: c.defaultDriveRateBytesPerSec,
    writerMain: c.writerMain === undefined ? undefined : absolute(c.writerMain, baseDir),
    streamDir: resolveStreamDir(c.streamDir, stateDir, baseDir),
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    tickMs: c.tickMs,
    maxFrameBytes: c.maxFrameBytes,
  };
}
