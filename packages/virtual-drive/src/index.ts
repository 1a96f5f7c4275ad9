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
export { VirtualDrive } from './virtual-drive';
