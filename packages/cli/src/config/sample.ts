/**
 * The sample configuration `tapedup init` writes, and the configuration the demo runs on: two
 * virtual LTO-9 drives over a file-backed library, a SQLite catalog, the adaptive sync policy.
 */
import { stringify } from 'yaml';
import type { TapedupConfig } from './schema';

export interface SampleOptions {
  /** Directory for the catalog, sockets and library, relative to the config file. */
  stateDir?: string;
  /** DSU name → root directory. */
  dsu?: Record<string, string>;
  drives?: number;
  clockScale?: number;
}

/** A commented YAML configuration with the embedded defaults. Valid as written. */
export function sampleConfigText(options: SampleOptions = {}): string {
  const stateDir = options.stateDir ?? './.tapedup';
  const dsu = options.dsu ?? { dsu1: './dsu1' };
  const driveCount = options.drives ?? 2;
  const drives = Array.from({ length: driveCount }, (_, i) =>
    [`  - id: drive${i}`, `    spec: virtual:${stateDir}/library#drive${i}`, '    profile: LTO-9'].join('\n'),
  ).join('\n');
  const dsuLines = Object.entries(dsu)
    .map(([name, root]) => `  ${name}: ${JSON.stringify(root)}`)
    .join('\n');
  return `# tapedup configuration. Relative paths are relative to this file.

# Catalog, sockets, library and logs live here.
stateDir: ${stateDir}
# SQLite catalog (default: <stateDir>/catalog.sqlite).
catalog: ${stateDir}/catalog.sqlite
# fatal | error | warn | info | debug | trace | silent
logLevel: info
# Model time runs this many times faster than wall time (virtual drives only); 1 = real time.
clockScale: ${options.clockScale ?? 1}

# Sockets. ipc sockets in stateDir here; left out, scheduler and events default to
# tcp://127.0.0.1:7300 and tcp://127.0.0.1:7301. TCP beyond loopback needs endpoints.curve keys.
endpoints:
  scheduler: ipc://${stateDir}/scheduler.ipc   # ROUTER: submit / cancel / status
  events: ipc://${stateDir}/events.ipc         # PUB: image-written, image-committed, request-done, ...
  writers: ipc://${stateDir}/writers.ipc       # ROUTER for the tape-writer processes

# One tape-writer process per drive. virtual:<library-dir>#<drive> is a file-backed drive;
# iscsi://host[:port]/<iqn>/<lun>, sg:/dev/sgN and st:/dev/nstN are real ones.
drives:
${drives}
# Per-drive tape-writer options, e.g. four images multiplexed per fragment on an append-only tape:
#   - id: drive9
#     spec: virtual:${stateDir}/library#drive9
#     writer:
#       mpx: 4              # images per fragment (default policy.mpxFactor, else 1)
#       appendOnly: true    # SSC-4 append-only mode where the drive supports it

# Directory of the ipc endpoints of stream images (default <stateDir>/streams when that path is
# short enough for a socket; false refuses stream images).
# streamDir: ${stateDir}/streams

# The virtual tape library: cartridges per pool, created on first use.
library:
  dir: ${stateDir}/library
  pools:
    default:
      cartridges: 4
      capacityBytes: 18000000000000

# Disk storage units: name -> root directory. Nothing outside these roots is ever read.
dsu:
${dsuLines}

# Sync-deferral policy (per request overridable with submit --policy).
policy:
  policy: adaptive          # sync-every | fixed | cta | adaptive
  maxDeferredImages: 20000  # 0 turns deferral off
  maxDeferredBytes: 64000000000
  maxSecondsWithoutSync: 300
  maxDeferrableImageBytes: 16000000000

retry:
  maxAttempts: 3
  backoffMs: 0              # first retry at once, then doubling up to maxBackoffMs
  maxBackoffMs: 30000

heartbeat:
  intervalMs: 1000
  timeoutMs: 5000
  startupTimeoutMs: 120000  # a new writer may be silent this long while it loads its drive
`;
}

/**
 * A resolved configuration as a document the duplicator's schema reads back to the same
 * configuration: every path is already absolute, and stream images that were refused stay refused
 * (an absent `streamDir` would mean the default directory).
 */
export function duplicatorDocument(config: TapedupConfig): Record<string, unknown> {
  const { streamDir, ...rest } = config;
  return { ...rest, streamDir: streamDir ?? false };
}

/** Writes a resolved configuration as YAML (what the duplicator process is started with). */
export function renderConfig(config: TapedupConfig): string {
  return `# Resolved by tapedup: absolute paths, defaults filled in.\n${stringify(duplicatorDocument(config))}`;
}
