/**
 * A writer engine on a virtual drive and a virtual clock, with scripted sources, for engine tests;
 * and the tape-side views those tests check (fragments, their filemarks from the drive's command
 * log).
 */
import { type AssignItem, type MessageOf, makeMessage, type WriterToDuplicator } from '@tapedup/protocol';
import type { MediumListing, TapeFileListing } from '@tapedup/tape-format';
import { type CommandLogEntry, MemoryMedium, VirtualClock, VirtualDrive } from '@tapedup/virtual-drive';
import pino from 'pino';
import { LoadedMediumChanger } from '../../media/loaded-medium-changer';
import type { SourceOpener } from '../../sources/types';
import { WriterEngine } from '../engine';
import type { Command, EngineLogger, WriterEngineOptions } from '../types';
import { ScriptedSourceOpener, type SourceScript } from './scripted-source';

export const RIG_PAYLOAD = 4096;

export interface EngineRig {
  clock: VirtualClock;
  drive: VirtualDrive;
  engine: WriterEngine;
  sources: ScriptedSourceOpener;
  /** Scripts by backup id, read when a source opens. */
  scripts: Map<string, SourceScript>;
  reports: WriterToDuplicator[];
  of<T extends WriterToDuplicator['type']>(type: T): MessageOf<T>[];
  /** Hands a command to the engine and waits until it is idle again. */
  send(command: Command): Promise<void>;
  /** Resolves after the drive finished `count` commands that `match` (counted from now). */
  afterCommands(match: (entry: CommandLogEntry) => boolean, count?: number): Promise<void>;
}

export interface RigOptions
  extends Partial<Omit<WriterEngineOptions, 'device' | 'clock' | 'sources' | 'changer' | 'report'>> {
  barcode?: string;
  capacityBytes?: number;
  logger?: EngineLogger;
  /** Replaces the scripted sources. */
  sourceOpener?: SourceOpener;
}

export async function engineRig(options: RigOptions = {}): Promise<EngineRig> {
  const { barcode = 'RIG001L9', capacityBytes, sourceOpener, logger, ...engineOptions } = options;
  const clock = new VirtualClock();
  const watchers = new Set<(entry: CommandLogEntry) => void>();
  const medium = new MemoryMedium({ barcode, capacityBytes: capacityBytes ?? 256 * 1024 * 1024 });
  const drive = new VirtualDrive({
    name: 'virtual:rig#drive0',
    clock,
    medium,
    profile: 'LTO-9',
    commandLogLimit: 500_000,
    onCommand: (entry) => {
      for (const w of [...watchers]) w(entry);
    },
  });
  await drive.open();
  const scripts = new Map<string, SourceScript>();
  const sources = new ScriptedSourceOpener({ clock, scriptOf: (item) => scripts.get(item.backupId) });
  const reports: WriterToDuplicator[] = [];
  let label = 0;
  const engine = new WriterEngine({
    driveId: 'd0',
    device: drive,
    clock,
    logger: logger ?? pino({ level: 'silent' }),
    sources: sourceOpener ?? sources,
    changer: new LoadedMediumChanger(drive, 'p1'),
    report: (m) => reports.push(m),
    blockPayloadSize: RIG_PAYLOAD,
    newLabelId: () => `00000000-0000-4000-8000-${String(++label).padStart(12, '0')}`,
    ...engineOptions,
  });
  void engine.start();
  return {
    clock,
    drive,
    engine,
    sources,
    scripts,
    reports,
    of: <T extends WriterToDuplicator['type']>(type: T) =>
      reports.filter((r): r is MessageOf<T> => r.type === type),
    send: async (command) => {
      engine.handle(command);
      await engine.whenIdle();
    },
    afterCommands: (match, count = 1) =>
      new Promise<void>((resolve) => {
        let seen = 0;
        const watcher = (entry: CommandLogEntry) => {
          if (!match(entry) || ++seen < count) return;
          watchers.delete(watcher);
          resolve();
        };
        watchers.add(watcher);
      }),
  };
}

let ids = 0;

export function rigItem(
  backupId: string,
  sizeBytes: number,
  options: { kind?: 'disk' | 'stream'; decision?: 'defer' | 'sync'; group?: string } = {},
): AssignItem {
  const kind = options.kind ?? 'disk';
  return {
    copyId: `c-${backupId}`,
    requestId: 'r1',
    backupId,
    copy: 1,
    sizeBytes,
    source: kind === 'disk' ? { kind: 'disk', dsu: 'main', path: backupId } : { kind: 'stream' },
    ...(kind === 'stream' ? { streamEndpoint: `inproc://${backupId}` } : {}),
    priority: 50,
    attempt: 1,
    // A stream image is never deferred.
    decision: kind === 'stream' ? 'sync' : (options.decision ?? 'defer'),
    reason: 'test',
    ...(options.group === undefined ? {} : { mpxGroup: options.group }),
  };
}

export function rigAssign(medium: string, items: AssignItem[]): MessageOf<'assign'> {
  ids += 1;
  return makeMessage('assign', { id: `a${ids}`, medium, items });
}

export function rigSyncNow(): MessageOf<'sync-now'> {
  ids += 1;
  return makeMessage('sync-now', { id: `s${ids}`, batchId: `B${ids}` });
}

export type FragmentListing = Extract<TapeFileListing, { kind: 'fragment' }>;

export function fragmentsOf(listing: MediumListing): FragmentListing[] {
  return listing.files.flatMap((f) => (f.kind === 'fragment' ? [f] : []));
}

/**
 * Fragments that are empty: their image table names images but none of them has a data block or
 * its trailer in it. (A fragment holding only an image's trailer is not empty: it ends the image.)
 */
export function emptyFragments(listing: MediumListing): FragmentListing[] {
  return fragmentsOf(listing).filter(
    (f) => !f.images.some((i) => i.dataBlocks > 0 || i.trailer !== undefined),
  );
}

/** For every good count-1 filemark after the label's, the kind it was written with, in tape order. */
export function fragmentFilemarks(drive: VirtualDrive): ('immediate' | 'synchronous')[] {
  return drive.commandLog
    .filter((e) => e.op === 'writeFilemarks' && e.error === undefined && e.args.count === 1)
    .slice(1)
    .map((e) => (e.args.immediate ? 'immediate' : 'synchronous'));
}
