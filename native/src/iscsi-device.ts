/**
 * A tape LUN behind an iSCSI target (`iscsi://host[:port]/<target-iqn>/<lun>`), through libiscsi.
 * A dropped connection fails the command in flight with `ScsiTransportError`; the next command
 * reconnects (and, where positions are counted, reports the position as unknown until the caller
 * rewinds), so a target that comes back is used again without reopening.
 */
import { IscsiTransport, type IscsiTransportOptions } from './iscsi-transport';
import { ScsiTapeDevice, type ScsiTapeDeviceOptions } from './scsi-tape-device';

export interface IscsiTapeDeviceOptions
  extends IscsiTransportOptions,
    Omit<ScsiTapeDeviceOptions, 'transport'> {}

export class IscsiTapeDevice extends ScsiTapeDevice {
  constructor(options: IscsiTapeDeviceOptions) {
    super({ ...options, transport: new IscsiTransport(options) });
  }
}
