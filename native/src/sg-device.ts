/**
 * A locally attached drive through the SCSI generic driver (`sg:/dev/sgN`): every CDB goes through
 * ioctl(SG_IO), so sense data, READ POSITION and append-only mode are all available. The process
 * needs read-write access to the sg node (see docs/devices.md).
 */
import { ScsiTapeDevice, type ScsiTapeDeviceOptions } from './scsi-tape-device';
import { type SgSyscalls, SgTransport } from './sg-transport';

export interface SgTapeDeviceOptions extends Omit<ScsiTapeDeviceOptions, 'transport'> {
  /** `/dev/sgN`. */
  path: string;
  /** Injected syscalls (tests); default: the addon. */
  syscalls?: SgSyscalls | undefined;
}

export class SgTapeDevice extends ScsiTapeDevice {
  constructor(options: SgTapeDeviceOptions) {
    super({ ...options, transport: new SgTransport({ path: options.path, syscalls: options.syscalls }) });
  }
}
