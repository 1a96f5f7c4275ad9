/**
 * Device specifications as operators write them:
 * - `iscsi://host[:port]/<target-iqn>/<lun>` (port 3260 by default; IPv6 hosts in brackets)
 * - `sg:/dev/sgN`
 * - `st:/dev/nstN`
 * Parsing is pure and reports malformed specs with `DeviceSpecError`, whose `code` says what is wrong.
 */
import type { TapeDevice } from '@tapedup/scsi';
import { IscsiTapeDevice } from './iscsi-device';
import type { DeviceLogger } from './logger';
import type { ScsiTapeDeviceOptions } from './scsi-tape-device';
import { SgTapeDevice } from './sg-device';
import { StTapeDevice } from './st-device';

export type DeviceSpec =
  | { kind: 'iscsi'; host: string; port: number; targetIqn: string; lun: number }
  | { kind: 'sg'; path: string }
  | { kind: 'st'; path: string };

export type DeviceSpecErrorCode =
  | 'SPEC_EMPTY'
  | 'SPEC_UNKNOWN_SCHEME'
  | 'SPEC_BAD_HOST'
  | 'SPEC_BAD_PORT'
  | 'SPEC_BAD_IQN'
  | 'SPEC_BAD_LUN'
  | 'SPEC_BAD_PATH';

export class DeviceSpecError extends Error {
  override readonly name = 'DeviceSpecError';
  readonly code: DeviceSpecErrorCode;
  readonly spec: string;
  constructor(code: DeviceSpecErrorCode, spec: string, detail: string) {
    super(`invalid device spec ${JSON.stringify(spec)}: ${detail}`);
    this.code = code;
    this.spec = spec;
  }
}

export const DEFAULT_ISCSI_PORT = 3260;
// RFC 3720 names: iqn.YYYY-MM.reversed.domain[:anything] or eui.<16 hex digits>.
const IQN = /^iqn\.\d{4}-\d{2}\.[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[^\s/]+)?$/i;
const EUI = /^eui\.[0-9a-f]{16}$/i;

export function parseDeviceSpec(spec: string): DeviceSpec {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw new DeviceSpecError('SPEC_EMPTY', String(spec), 'empty');
  if (spec.startsWith('iscsi://')) return parseIscsi(spec);
  if (spec.startsWith('sg:'))
    return { kind: 'sg', path: devicePath(spec, spec.slice(3), /^\/dev\/sg\d+$/, '/dev/sgN') };
  if (spec.startsWith('st:')) {
    return { kind: 'st', path: devicePath(spec, spec.slice(3), /^\/dev\/n?st\d+[lma]?$/, '/dev/nstN') };
  }
  throw new DeviceSpecError('SPEC_UNKNOWN_SCHEME', spec, 'expected iscsi://, sg: or st:');
}

function devicePath(spec: string, path: string, pattern: RegExp, example: string): string {
  // Anything under /dev is accepted; the usual names are only checked for a helpful message.
  if (!path.startsWith('/dev/') || path.includes('..')) {
    throw new DeviceSpecError('SPEC_BAD_PATH', spec, `expected a device path like ${example}`);
  }
  void pattern;
  return path;
}

function parseIscsi(spec: string): DeviceSpec {
  const rest = spec.slice('iscsi://'.length);
  let host: string;
  let afterHost: string;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw new DeviceSpecError('SPEC_BAD_HOST', spec, 'unterminated [IPv6] host');
    host = rest.slice(1, end);
    afterHost = rest.slice(end + 1);
  } else {
    const m = /^[^:/]*/.exec(rest);
    host = m?.[0] ?? '';
    afterHost = rest.slice(host.length);
  }
  if (host === '' || /\s/.test(host)) throw new DeviceSpecError('SPEC_BAD_HOST', spec, 'missing host');
  let port = DEFAULT_ISCSI_PORT;
  if (afterHost.startsWith(':')) {
    const m = /^:(\d*)/.exec(afterHost);
    const digits = m?.[1] ?? '';
    port = Number(digits);
    if (digits === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new DeviceSpecError('SPEC_BAD_PORT', spec, 'port must be 1..65535');
    }
    afterHost = afterHost.slice(1 + digits.length);
  }
  const parts = afterHost.split('/');
  // ['', iqn, lun]
  if (parts.length !== 3 || parts[0] !== '') {
    throw new DeviceSpecError('SPEC_BAD_IQN', spec, 'expected iscsi://host[:port]/<target-iqn>/<lun>');
  }
  const targetIqn = parts[1] ?? '';
  const lunText = parts[2] ?? '';
  if (!IQN.test(targetIqn) && !EUI.test(targetIqn)) {
    throw new DeviceSpecError(
      'SPEC_BAD_IQN',
      spec,
      `${JSON.stringify(targetIqn)} is not an iqn. or eui. name`,
    );
  }
  const lun = Number(lunText);
  if (!/^\d+$/.test(lunText) || lun > 16383)
    throw new DeviceSpecError('SPEC_BAD_LUN', spec, 'lun must be 0..16383');
  return { kind: 'iscsi', host, port, targetIqn, lun };
}

export interface OpenDeviceOptions {
  logger?: DeviceLogger | undefined;
  /** Per-command deadlines for iscsi: and sg: devices. */
  timeoutsMs?: ScsiTapeDeviceOptions['timeoutsMs'];
  /** Connect + login deadline for iscsi:. */
  connectTimeoutMs?: number | undefined;
  /** Largest block for st: (st cannot ask the drive). */
  maxBlockSize?: number | undefined;
}

/** Builds the device a spec names and opens it (capability discovery happens here). */
export async function openDeviceSpec(spec: string, options: OpenDeviceOptions = {}): Promise<TapeDevice> {
  const parsed = parseDeviceSpec(spec);
  const device = createDevice(parsed, options);
  await device.open();
  return device;
}

/** Builds, without opening, the device for a parsed spec. */
export function createDevice(parsed: DeviceSpec, options: OpenDeviceOptions = {}): TapeDevice {
  switch (parsed.kind) {
    case 'iscsi':
      return new IscsiTapeDevice({
        host: parsed.host,
        port: parsed.port,
        targetIqn: parsed.targetIqn,
        lun: parsed.lun,
        logger: options.logger,
        timeoutsMs: options.timeoutsMs,
        connectTimeoutMs: options.connectTimeoutMs,
      });
    case 'sg':
      return new SgTapeDevice({ path: parsed.path, logger: options.logger, timeoutsMs: options.timeoutsMs });
    case 'st':
      return new StTapeDevice({
        path: parsed.path,
        logger: options.logger,
        maxBlockSize: options.maxBlockSize,
      });
  }
}
