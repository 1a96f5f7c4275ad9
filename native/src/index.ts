export {
  ADDON_PATH,
  type IscsiCommandResult,
  type MtGet,
  type MtOps,
  NativeAddonUnavailableError,
  nativeAddonStatus,
  type SgIoResult,
} from './addon';
export {
  createDevice,
  DEFAULT_ISCSI_PORT,
  type DeviceSpec,
  DeviceSpecError,
  type DeviceSpecErrorCode,
  type OpenDeviceOptions,
  openDeviceSpec,
  parseDeviceSpec,
} from './device-spec';
export { IscsiTapeDevice, type IscsiTapeDeviceOptions } from './iscsi-device';
export {
  DEFAULT_INITIATOR_IQN,
  IscsiTransport,
  type IscsiTransportOptions,
  iscsiName,
} from './iscsi-transport';
export { type DeviceLogger, silentLogger } from './logger';
export { ScsiTapeDevice, type ScsiTapeDeviceOptions } from './scsi-tape-device';
export { SgTapeDevice, type SgTapeDeviceOptions } from './sg-device';
export { HostStatus, interpretSgIo, nativeSgSyscalls, type SgSyscalls, SgTransport } from './sg-transport';
export {
  Gmt,
  nativeStSyscalls,
  type StOperation,
  type StSyscalls,
  StTapeDevice,
  type StTapeDeviceOptions,
  stErrorFromErrno,
  sysfsIdentity,
} from './st-device';
export { type CdbCommand, type CdbResponse, ScsiStatus, type ScsiTransport } from './transport';
