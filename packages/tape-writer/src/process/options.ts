/** Command-line options of the tape-writer process, validated with messages that name the option. */
import { parseArgs } from 'node:util';
import { type FaultPlan, PROFILES, type ProfileName, validateFaultPlan } from '@tapedup/virtual-drive';
import { parseDsuRoots } from '../dsu';

export class WriterOptionError extends Error {
  override readonly name = 'WriterOptionError';
  readonly code = 'INVALID_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`option --${option}: ${message}`);
  }
}

export interface WriterOptions {
  driveId: string;
  drive: string;
  connect: string;
  dsu: Map<string, string>;
  clockScale: number;
  /** Timing profile of a virtual drive (`--profile`; default LTO-9); `untimed` turns the rate model off. */
  profile: ProfileName | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logFile: string | undefined;
  heartbeatMs: number;
  appendOnly: boolean;
  blockPayloadSize: number | undefined;
  readAhead: number;
  threads: number;
  /** Faults the virtual drive injects (`--faults '<FaultPlan JSON>'`; virtual drives only). */
  faults: FaultPlan | undefined;
  /** MPX factor: images interleaved in one fragment (1 = one image per fragment). */
  mpx: number;
  minFragmentMs: number;
  maxFragmentBytes: number | undefined;
  maxFragmentImages: number | undefined;
  /** At MPX factor 1, small deferred disk images join the open fragment (`--pack-images`). */
  packImages: boolean;
  /** A fragment open this long while an image runs ends at a checkpoint (`--checkpoint-ms`; off when undefined). */
  checkpointMs: number | undefined;
  /** A stream silent this long mid-image fails. */
  streamIdleMs: number;
}

export const USAGE = `usage: tape-writer --drive-id <id> --drive <spec> --connect <endpoint> --dsu name=/abs/root [--dsu ...]
  [--clock-scale <x>] [--profile LTO-7|LTO-8|LTO-9|untimed] [--log-level <level>] [--log-file <path>] [--heartbeat-ms <ms>] [--append-only]
  [--block-payload-size <bytes>] [--read-ahead <chunks>] [--threads <n>] [--faults '<fault plan JSON>']
  [--mpx <n>] [--min-fragment-ms <ms>] [--max-fragment-size <bytes>] [--max-fragment-images <n>]
  [--pack-images] [--checkpoint-ms <ms>] [--stream-idle-ms <ms>]
  <spec>: virtual:<library-dir>#<drive> | iscsi://host[:port]/<iqn>/<lun> | sg:/dev/sgN | st:/dev/nstN`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function integer(
  option: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new WriterOptionError(option, `expected an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

export function parseWriterOptions(argv: readonly string[]): WriterOptions {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        'drive-id': { type: 'string' },
        drive: { type: 'string' },
        connect: { type: 'string' },
        dsu: { type: 'string', multiple: true },
        'clock-scale': { type: 'string' },
        profile: { type: 'string' },
        'log-level': { type: 'string' },
        'log-file': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'append-only': { type: 'boolean' },
        'block-payload-size': { type: 'string' },
        'read-ahead': { type: 'string' },
        threads: { type: 'string' },
        mpx: { type: 'string' },
        'min-fragment-ms': { type: 'string' },
        'max-fragment-size': { type: 'string' },
        'max-fragment-images': { type: 'string' },
        'pack-images': { type: 'boolean' },
        'checkpoint-ms': { type: 'string' },
        'stream-idle-ms': { type: 'string' },
        faults: { type: 'string' },
      },
    }));
  } catch (error) {
    const match = /'(--[a-z-]+)'/.exec((error as Error).message);
    throw new WriterOptionError(match?.[1]?.slice(2) ?? 'unknown', (error as Error).message);
  }
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const required = (name: string): string => {
    const v = str(name);
    if (v === undefined || v.length === 0) throw new WriterOptionError(name, 'is required');
    return v;
  };
  const driveId = required('drive-id');
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(driveId)) {
    throw new WriterOptionError('drive-id', 'expected 1..128 characters of [A-Za-z0-9._:-]');
  }
  const drive = required('drive');
  if (!/^(virtual:|iscsi:\/\/|sg:|st:)/.test(drive)) {
    throw new WriterOptionError(
      'drive',
      `unknown device spec ${JSON.stringify(drive)}; ${USAGE.split('\n').at(-1)?.trim()}`,
    );
  }
  const connect = required('connect');
  if (!/^(tcp|ipc):\/\/\S+$/.test(connect)) {
    throw new WriterOptionError(
      'connect',
      `expected a tcp:// or ipc:// endpoint, got ${JSON.stringify(connect)}`,
    );
  }
  let dsu: Map<string, string>;
  try {
    dsu = parseDsuRoots((values.dsu as string[] | undefined) ?? []);
  } catch (error) {
    throw new WriterOptionError('dsu', (error as Error).message);
  }
  const scaleText = str('clock-scale');
  const clockScale = scaleText === undefined ? 1 : Number(scaleText);
  if (!Number.isFinite(clockScale) || clockScale <= 0 || clockScale > 1e6) {
    throw new WriterOptionError(
      'clock-scale',
      `expected a positive number, got ${JSON.stringify(scaleText)}`,
    );
  }
  const profileText = str('profile');
  if (profileText !== undefined && !Object.hasOwn(PROFILES, profileText)) {
    throw new WriterOptionError(
      'profile',
      `expected one of ${Object.keys(PROFILES).join(', ')}, got ${JSON.stringify(profileText)}`,
    );
  }
  if (profileText !== undefined && !drive.startsWith('virtual:')) {
    throw new WriterOptionError('profile', 'only a virtual: drive has a timing profile');
  }
  const level = str('log-level') ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new WriterOptionError(
      'log-level',
      `expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
    );
  }
  const payloadText = str('block-payload-size');
  const blockPayloadSize =
    payloadText === undefined
      ? undefined
      : integer('block-payload-size', payloadText, 0, 512, 16 * 1024 * 1024);
  if (blockPayloadSize !== undefined && (blockPayloadSize & (blockPayloadSize - 1)) !== 0) {
    throw new WriterOptionError('block-payload-size', 'must be a power of two');
  }
  const faultsText = str('faults');
  const faults = faultsText === undefined ? undefined : parseFaultPlan(faultsText);
  if (faults !== undefined && !drive.startsWith('virtual:')) {
    throw new WriterOptionError('faults', 'only a virtual: drive can inject faults');
  }
  const mpx = integer('mpx', str('mpx'), 1, 1, 32);
  const maxImagesText = str('max-fragment-images');
  const maxSizeText = str('max-fragment-size');
  return {
    mpx,
    minFragmentMs: integer('min-fragment-ms', str('min-fragment-ms'), 4000, 0, 86_400_000),
    maxFragmentBytes:
      maxSizeText === undefined ? undefined : integer('max-fragment-size', maxSizeText, 0, 1, 2 ** 50),
    maxFragmentImages:
      maxImagesText === undefined ? undefined : integer('max-fragment-images', maxImagesText, 0, mpx, 65_535),
    packImages: values['pack-images'] === true,
    checkpointMs:
      str('checkpoint-ms') === undefined
        ? undefined
        : integer('checkpoint-ms', str('checkpoint-ms'), 0, 1, 86_400_000),
    streamIdleMs: integer('stream-idle-ms', str('stream-idle-ms'), 30_000, 10, 86_400_000),
    driveId,
    drive,
    connect,
    dsu,
    clockScale,
    profile: profileText as ProfileName | undefined,
    logLevel: level as WriterOptions['logLevel'],
    logFile: str('log-file'),
    heartbeatMs: integer('heartbeat-ms', str('heartbeat-ms'), 1000, 20, 3_600_000),
    appendOnly: values['append-only'] === true,
    blockPayloadSize,
    readAhead: integer('read-ahead', str('read-ahead'), 4, 1, 64),
    threads: integer('threads', str('threads'), 2, 1, 64),
    faults,
  };
}

/** Parses and validates `--faults`: a JSON `FaultPlan` object. */
function parseFaultPlan(text: string): FaultPlan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WriterOptionError('faults', `expected fault plan JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WriterOptionError('faults', 'expected a JSON object { scripted?: [...], random?: {...} }');
  }
  const plan = value as Record<string, unknown>;
  for (const key of Object.keys(plan)) {
    if (key !== 'scripted' && key !== 'random') {
      throw new WriterOptionError('faults', `unknown key ${JSON.stringify(key)}`);
    }
  }
  const scripted = plan.scripted;
  if (
    scripted !== undefined &&
    !(Array.isArray(scripted) && scripted.every((f) => typeof f === 'object' && f !== null))
  ) {
    throw new WriterOptionError('faults', 'scripted must be an array of fault objects');
  }
  const random = plan.random as Record<string, unknown> | undefined;
  if (
    random !== undefined &&
    (typeof random !== 'object' || random === null || !Array.isArray(random.faults))
  ) {
    throw new WriterOptionError('faults', 'random must be { seed, faults: [...] }');
  }
  try {
    validateFaultPlan(plan as FaultPlan);
  } catch (error) {
    throw new WriterOptionError('faults', (error as Error).message);
  }
  return plan as FaultPlan;
}
