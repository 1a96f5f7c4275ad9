/**
 * Field schemas shared by the messages. Each one is the single definition of a
 * wire field's type and range; docs/protocol.md describes the same rules.
 */
import { z } from 'zod';

/** The protocol version this codec writes and the only one it reads. */
export const PROTOCOL_VERSION = 1;

/** 2^50 bytes (1 PiB): the largest image size and byte count the protocol carries. */
export const MAX_BYTES = 2 ** 50;
/** Largest copy number: at most this many copies of one image per request. */
export const MAX_COPIES = 8;
/** Largest number of images in one `submit`. */
export const MAX_IMAGES_PER_REQUEST = 10_000;
/** Largest number of image copies in one `assign`. */
export const MAX_ITEMS_PER_ASSIGN = 1_000;
/** Largest list of copy ids in one writer report. */
export const MAX_COPY_IDS = 100_000;
/** Longest human-readable text (messages, reasons). */
export const MAX_TEXT = 1_024;

/** Identifiers of things the system stores: backups, requests, copies, batches, drives, pools, DSUs. */
export const safeId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected 1..128 characters of [A-Za-z0-9._:-]');

/** Message ids (`id`, `re`): 1..128 printable ASCII characters, no space. Chosen by the sender. */
export const messageId = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'expected 1..128 printable ASCII characters');

/** A cartridge barcode (volume label). */
export const barcode = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,32}$/, 'expected 1..32 characters of [A-Za-z0-9._-]');

/** Machine-readable error or reason code, e.g. `UNKNOWN_POOL`, `STREAM_CUT`. */
export const code = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an UPPER_SNAKE code of 1..64 characters');

/** Human-readable text; never parsed. */
export const text = z.string().max(MAX_TEXT);

/** A non-negative safe integer (0..2^53-1). */
export const uint = z.int().min(0);

/** Byte counts and image sizes: 0..2^50. */
export const byteCount = z.int().min(0).max(MAX_BYTES);

/** Milliseconds since the Unix epoch (UTC), 0..8.64e15 (the range of a JavaScript Date). */
export const epochMs = z.int().min(0).max(8_640_000_000_000_000);

/** Scheduling priority: 0 (lowest) .. 100 (highest). */
export const priority = z.int().min(0).max(100);

/** Copy number of an image: 1..8. */
export const copyNumber = z.int().min(1).max(MAX_COPIES);

/** A SHA-256 digest as 64 lowercase hexadecimal characters. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

/** A finite, non-negative number (rates, durations in seconds). */
export const nonNegativeNumber = z.number().min(0);

function hasControlOrBackslash(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/**
 * A path relative to a DSU root: '/'-separated segments, none empty, `.` or `..`; no leading '/',
 * no backslash, no control characters. The duplicator still resolves it against the root and
 * refuses anything that escapes it; this rule keeps obviously hostile paths off the wire.
 */
export const relativePath = z
  .string()
  .min(1)
  .max(4_096)
  .refine(
    (p) => !hasControlOrBackslash(p) && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'expected a relative path without empty, "." or ".." segments, backslashes or control characters',
  );

/** A ZeroMQ endpoint a client can connect to: `tcp://host:port`, `ipc://path` or `inproc://name`. */
export const endpoint = z
  .string()
  .max(1_024)
  .regex(/^(tcp|ipc|inproc):\/\/\S+$/, 'expected a tcp://, ipc:// or inproc:// endpoint');

/** A ZeroMQ CURVE public key in Z85 (40 characters). */
export const curveKey = z
  .string()
  .regex(/^[0-9a-zA-Z.:+=^!/*?&<>()[\]{}@%$#-]{40}$/, 'expected a 40-character Z85 CURVE key');

/** Raw bytes (msgpack bin). Decoded bytes are copied so a message never aliases its frame buffer. */
export function bytes(maxLength: number) {
  return z
    .instanceof(Uint8Array)
    .refine((b) => b.length <= maxLength, `expected at most ${maxLength} bytes`)
    .overwrite((b) => new Uint8Array(b));
}

/** Where an image's data comes from. `disk`: a file under a DSU root; `stream`: data frames pushed live. */
export const imageSource = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('disk'), dsu: safeId, path: relativePath }),
  z.strictObject({ kind: z.literal('stream') }),
]);
export type ImageSource = z.infer<typeof imageSource>;

/** Sync-deferral policy names (see DESIGN.md, "Sync-deferral policy"). */
export const syncPolicyName = z.enum(['sync-every', 'fixed', 'cta', 'adaptive']);
export type SyncPolicyName = z.infer<typeof syncPolicyName>;

/** Per-request overrides of the pool's sync-deferral settings. Every key is optional. */
export const policyOverrides = z.strictObject({
  policy: syncPolicyName.exactOptional(),
  maxDeferredImages: z.int().min(0).max(100_000).exactOptional(),
  maxDeferredBytes: byteCount.exactOptional(),
  maxSecondsWithoutSync: z.number().gt(0).max(86_400).exactOptional(),
  maxDeferrableImageBytes: byteCount.exactOptional(),
  mpxFactor: z.int().min(1).max(32).exactOptional(),
});
export type PolicyOverrides = z.infer<typeof policyOverrides>;

/** Mirrors `ScsiErrorCategory` of @tapedup/scsi (a type test keeps the two equal). */
export const scsiErrorCategory = z.enum([
  'medium',
  'hardware',
  'data-protect',
  'illegal-request',
  'unit-attention',
  'not-ready',
  'eom-warning',
  'end-of-data',
  'blank-check',
  'volume-overflow',
  'aborted',
  'transport',
  'other',
]);

/**
 * A drive failure as the writer saw it: the decoded sense data when there was any (a transport
 * failure or a timeout has none), the classified category and the error's stable code.
 */
export const sense = z.strictObject({
  senseKey: z.int().min(0).max(15).exactOptional(),
  asc: z.int().min(0).max(255).exactOptional(),
  ascq: z.int().min(0).max(255).exactOptional(),
  /** Sense response code 71h/73h: the error belongs to data buffered before the command that reported it. */
  deferred: z.boolean(),
  category: scsiErrorCategory,
  code,
  message: text,
  /** The raw sense buffer, when the device returned one (at most 252 bytes, SPC-4). */
  raw: bytes(252).exactOptional(),
});
export type Sense = z.infer<typeof sense>;

/** Mirrors `TapeDeviceCapabilities` of @tapedup/scsi (a type test keeps the two equal). */
export const capabilities = z.strictObject({
  immediateFilemarks: z.boolean(),
  readPosition: z.boolean(),
  bufferedCounts: z.boolean(),
  locate: z.boolean(),
  spaceToEndOfData: z.boolean(),
  appendOnly: z.boolean(),
  allowOverwrite: z.boolean(),
  earlyWarning: z.boolean(),
  maxBlockSize: z
    .int()
    .min(1)
    .max(2 ** 32 - 1),
  minBlockSize: z
    .int()
    .min(1)
    .max(2 ** 32 - 1),
});
export type Capabilities = z.infer<typeof capabilities>;

/** The drive a writer owns: its device name, how it is reached, and its INQUIRY identity. */
export const driveSpec = z.strictObject({
  name: z.string().min(1).max(256),
  transport: z.enum(['virtual', 'iscsi', 'sg', 'st']),
  vendor: z.string().max(64),
  product: z.string().max(64),
  revision: z.string().max(64),
  serial: z.string().max(64),
});
export type DriveSpec = z.infer<typeof driveSpec>;

/** A place on a medium: tape file number (filemarks from BOT) and logical block address. */
export const tapeLocation = z.strictObject({ fileNumber: uint, blockAddress: uint });
export type TapeLocation = z.infer<typeof tapeLocation>;

/** A place on a named medium. */
export const mediumPosition = z.strictObject({ medium: barcode, fileNumber: uint, blockAddress: uint });
export type MediumPosition = z.infer<typeof mediumPosition>;

/** Counts of image copies per state. Every key is present. */
export const copyStateCounts = z.strictObject({
  queued: uint,
  writing: uint,
  /** Written, waiting for a sync. */
  written: uint,
  committed: uint,
  retrying: uint,
  failed: uint,
  cancelled: uint,
});
export type CopyStateCounts = z.infer<typeof copyStateCounts>;

/** A list of distinct copy ids. */
export function copyIdList(min = 0) {
  return z.array(safeId).min(min).max(MAX_COPY_IDS);
}
