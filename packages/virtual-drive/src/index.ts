export type { Clock, RealClockOptions, VirtualClockOptions } from './clock';
export { RealClock, VirtualClock } from './clock';
export type { BufferedRun, DrainedPiece } from './drive-buffer';
export { DriveBuffer } from './drive-buffer';
export type {
  BufferSample,
  CommandLogEntry,
  DriveLogger,
  DriveStats,
  VirtualDriveOptions,
} from './drive-types';
export type {
  FaultContext,
  FaultKind,
  FaultOp,
  FaultPlan,
  FaultTrigger,
  RandomFault,
  ScriptedFault,
} from './faults';
export { FAULT_KINDS, FaultInjector, seededRandom, validateFaultPlan } from './faults';
export type { CartridgeRecord, DriveRecord, MediaState, VirtualLibraryOptions } from './library';
export { MEDIA_STATES, VirtualLibrary } from './library';
export {
  CartridgeMountedError,
  DriveEmptyError,
  DriveOccupiedError,
  InvalidBarcodeError,
  LibraryError,
  LibraryLockedError,
  LibraryOptionError,
  LibraryStateError,
  NoScratchMediaError,
  UnknownCartridgeError,
  UnknownDriveError,
  UnknownPoolError,
} from './library-errors';
export type { VirtualDriveSpec, VirtualDriveSpecProblem } from './library-spec';
export { parseVirtualDriveSpec, VirtualDriveSpecError } from './library-spec';
export type { AppendObject, MediumInfo, MediumObject, MediumStore } from './medium';
export type {
  FileNumberingMedium,
  InMemoryMediumOptions,
  PowerFailingMedium,
  RunAppendingMedium,
} from './medium-extensions';
export { canAppendRuns, canNumberFiles } from './medium-extensions';
export { MemoryMedium } from './memory-medium';
export type { DriveProfile, ProfileName } from './profile';
export { LTO7, LTO8, LTO9, makeProfile, PROFILES, UNTIMED, validateProfile } from './profile';
export { SyntheticMedium } from './synthetic-medium';
export type { CreateCartridgeOptions, OpenCartridgeOptions } from './tgt-cartridge';
export { TgtCartridgeFile } from './tgt-cartridge';
export type { CartridgeCorruptReason } from './tgt-errors';
export {
  CartridgeArgumentError,
  CartridgeClosedError,
  CartridgeCorruptError,
  CartridgeOptionError,
  CartridgeWriteProtectedError,
} from './tgt-errors';
export { VirtualDrive } from './virtual-drive';
