/**
 * A `TapeDevice` that speaks SSC through any `ScsiTransport` (iSCSI, SG_IO). All SSC semantics
 * live here, transport-independent: capability discovery at open, sense interpretation, position
 * tracking where the device cannot report positions, and reconnection after a transport failure.
 *
 * Two positioning modes, chosen at open:
 * - **Device positions** (READ POSITION works): SPACE and LOCATE go to the device and READ POSITION
 *   answers `readPosition()`.
 * - **Counted positions** (READ POSITION answers zeros or is refused, as on tgt): the device keeps
 *   the logical object number itself, counted from the last absolute positioning (open, REWIND,
 *   LOAD). Every relative movement is then done one object at a time with commands whose effect on
 *   the position is unambiguous in SSC: READ(6) of one byte moves forward over exactly one block or
 *   filemark (or reports end of data), SPACE(6) of -1 block moves back over exactly one object, and
 *   the READ that follows tells which kind of object it was. That costs a round trip per object but
 *   never loses count, and it does not depend on the device reporting SPACE residues (tgt does not).
 *   After anything that leaves the position in doubt (a transport failure and reconnect, a unit
 *   attention, a medium error) the count is dropped and `readPosition()` rejects with
 *   `POSITION_UNKNOWN` until the caller rewinds or loads.
 */
import {
  ALL_MODE_PAGES,
  AllowOverwriteMode,
  allowOverwriteCdb,
  buildDeviceConfigurationExtension,
  buildModeParameterList6,
  DEVICE_CONFIGURATION_EXTENSION_SUBPAGE,
  DEVICE_CONFIGURATION_PAGE,
  type DecodedSense,
  type DriveIdentity,
  decodeSense,
  findModePage,
  InvalidArgumentError,
  inquiryCdb,
  loadUnloadCdb,
  locate10Cdb,
  modeSelect6Cdb,
  modeSense6Cdb,
  parseDeviceConfigurationExtension,
  parseModeParameters6,
  parseReadBlockLimits,
  parseReadPositionShort,
  parseStandardInquiry,
  parseUnitSerialNumber,
  ReadPositionForm,
  type ReadResult,
  read6Cdb,
  readBlockLimitsCdb,
  readPositionCdb,
  rewindCdb,
  ScsiError,
  ScsiTransportError,
  SenseKey,
  SpaceCode,
  type SpaceResult,
  type SpaceUnit,
  SUGGESTED_TIMEOUT_MS,
  senseToError,
  space6Cdb,
  type TapeDevice,
  type TapeDeviceCapabilities,
  type TapePosition,
  type TimeoutClass,
  testUnitReadyCdb,
  timeoutClassOf,
  toDriveIdentity,
  toTapePosition,
  UnsupportedOperationError,
  unitSerialNumberCdb,
  type WriteFilemarksOptions,
  type WriteResult,
  write6Cdb,
  writeFilemarks6Cdb,
} from '@tapedup/scsi';
import { quirksFor } from './known-devices';
import { type DeviceLogger, silentLogger } from './logger';
import { SerialQueue } from './serial-queue';
import { type CdbResponse, ScsiStatus, type ScsiTransport } from './transport';

export interface ScsiTapeDeviceOptions {
  transport: ScsiTransport;
  /** pino-compatible; receives what the device had to give up and why. */
  logger?: DeviceLogger | undefined;
  /** Per-command deadlines by timeout class; defaults to `SUGGESTED_TIMEOUT_MS`. */
  timeoutsMs?: Partial<Record<TimeoutClass, number>> | undefined;
  /**
   * Rewind at open (default true). Counted positions need an absolute starting point; without
   * it they stay unknown until the first REWIND or LOAD.
   */
  rewindOnOpen?: boolean | undefined;
  /** After a transport failure, reconnect before the next command (default true). */
  reconnect?: boolean | undefined;
}

const MAX_TRANSFER = 0xff_ffff;
/** Largest data-in buffer we allocate for one READ (the addon's limit). */
const MAX_READ_BUFFER = 16 * 1024 * 1024;
const UNIT_ATTENTION_RETRIES = 8;

type ObjectKind = 'data' | 'filemark' | 'end-of-data';

function validateTimeouts(timeouts: Partial<Record<TimeoutClass, number>> | undefined): void {
  for (const [key, value] of Object.entries(timeouts ?? {})) {
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new InvalidArgumentError(`timeoutsMs.${key}`, value, 'a positive integer number of milliseconds');
    }
  }
}

export class ScsiTapeDevice implements TapeDevice {
  readonly name: string;
  readonly #transport: ScsiTransport;
  readonly #log: DeviceLogger;
  readonly #timeouts: Record<TimeoutClass, number>;
  readonly #rewindOnOpen: boolean;
  readonly #reconnect: boolean;
  readonly #queue = new SerialQueue();

  #open = false;
  #everOpened = false;
  #needsReconnect = false;
  #caps: TapeDeviceCapabilities | undefined;
  #identity: DriveIdentity | undefined;
  /** Counted logical object number; undefined when unknown. Authoritative only in counted mode. */
  #pos: number | undefined;
  #eop = false;

  constructor(options: ScsiTapeDeviceOptions) {
    validateTimeouts(options.timeoutsMs);
    this.#transport = options.transport;
    this.name = options.transport.name;
    this.#log = options.logger ?? silentLogger;
    this.#timeouts = { ...SUGGESTED_TIMEOUT_MS, ...options.timeoutsMs };
    this.#rewindOnOpen = options.rewindOnOpen ?? true;
    this.#reconnect = options.reconnect ?? true;
  }

  // ---------------------------------------------------------------- lifecycle

  open(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#open) return;
      await this.#transport.connect();
      this.#needsReconnect = false;
      try {
        await this.#discover();
      } catch (error) {
        await this.#transport.close().catch(() => undefined);
        throw error;
      }
      this.#open = true;
      this.#everOpened = true;
    });
  }

  close(): Promise<void> {
    return this.#queue.run(async () => {
      if (!this.#open) return;
      this.#open = false;
      this.#pos = undefined;
      await this.#transport.close();
    });
  }

  capabilities(): TapeDeviceCapabilities {
    if (this.#caps === undefined || !this.#open) throw this.#notOpen();
    return { ...this.#caps };
  }

  inquiry(): Promise<DriveIdentity> {
    return this.#command(async () => {
      if (this.#identity === undefined) throw this.#notOpen();
      return { ...this.#identity };
    });
  }

  testUnitReady(): Promise<void> {
    return this.#command(async () => {
      const r = await this.#exec(testUnitReadyCdb());
      this.#expectGood(r, testUnitReadyCdb());
    });
  }

  // ---------------------------------------------------------------- data

  writeBlock(data: Uint8Array): Promise<WriteResult> {
    return this.#command(async () => {
      const caps = this.#capsOrThrow();
      if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data', data, 'a Uint8Array');
      // Only the upper bound is enforced here (it is the width of the CDB field); the device itself
      // judges short blocks: tgt reports a minimum of 4 bytes yet stores 1-byte blocks.
      const max = Math.min(caps.maxBlockSize, MAX_TRANSFER);
      if (data.length < 1 || data.length > max) {
        throw new InvalidArgumentError('data.length', data.length, `1..${max}`);
      }
      const cdb = write6Cdb({ transferLength: data.length });
      const r = await this.#exec(cdb, { dataOut: data });
      return this.#writeOutcome(r, cdb, 1);
    });
  }

  writeFilemarks(count: number, options: WriteFilemarksOptions): Promise<WriteResult> {
    return this.#command(async () => {
      if (!Number.isInteger(count) || count < 0 || count > MAX_TRANSFER) {
        throw new InvalidArgumentError('count', count, `an integer in 0..${MAX_TRANSFER}`);
      }
      if (typeof options?.immediate !== 'boolean') {
        throw new InvalidArgumentError('options.immediate', options?.immediate, 'a boolean');
      }
      const cdb = writeFilemarks6Cdb({ count, immediate: options.immediate });
      const r = await this.#exec(cdb);
      return this.#writeOutcome(r, cdb, count);
    });
  }

  readBlock(maxLength: number): Promise<ReadResult> {
    return this.#command(async () => {
      if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_TRANSFER) {
        throw new InvalidArgumentError('maxLength', maxLength, `an integer in 1..${MAX_TRANSFER}`);
      }
      return this.#read(maxLength);
    });
  }

  // ---------------------------------------------------------------- positioning

  space(unit: SpaceUnit, count: number): Promise<SpaceResult> {
    return this.#command(async () => {
      if (unit !== 'blocks' && unit !== 'filemarks' && unit !== 'end-of-data') {
        throw new InvalidArgumentError('unit', unit, "'blocks' | 'filemarks' | 'end-of-data'");
      }
      if (!Number.isInteger(count) || Math.abs(count) > 0x7f_ffff) {
        throw new InvalidArgumentError('count', count, 'an integer in -8388608..8388607');
      }
      const caps = this.#capsOrThrow();
      if (unit !== 'end-of-data' && count === 0) return { spaced: 0 };
      if (caps.readPosition) return this.#deviceSpace(unit, count);
      return this.#countedSpace(unit, count);
    });
  }

  locate(blockNumber: number, partition?: number): Promise<void> {
    return this.#command(async () => {
      const caps = this.#capsOrThrow();
      if (!caps.locate) throw new UnsupportedOperationError('LOCATE', this.name);
      const cdb = locate10Cdb({
        blockAddress: blockNumber,
        ...(partition === undefined ? {} : { partition }),
      });
      const r = await this.#exec(cdb);
      this.#expectGood(r, cdb);
      this.#pos = blockNumber;
      this.#eop = false;
    });
  }

  readPosition(): Promise<TapePosition> {
    return this.#command(async () => {
      const caps = this.#capsOrThrow();
      if (caps.readPosition) {
        const cdb = readPositionCdb({ form: ReadPositionForm.SHORT });
        const r = await this.#exec(cdb, { dataInLength: 20 });
        this.#expectGood(r, cdb);
        const position = toTapePosition(parseReadPositionShort(r.data));
        this.#pos = position.blockNumber;
        this.#eop = position.eop;
        return caps.bufferedCounts
          ? position
          : { ...position, blocksInBuffer: undefined, bytesInBuffer: undefined };
      }
      const pos = this.#countedPosition('READ POSITION');
      return {
        partition: 0,
        blockNumber: pos,
        fileNumber: undefined,
        bop: pos === 0,
        eop: this.#eop,
        blocksInBuffer: undefined,
        bytesInBuffer: undefined,
      };
    });
  }

  rewind(): Promise<void> {
    return this.#command(async () => {
      await this.#rewind();
    });
  }

  load(): Promise<void> {
    return this.#command(async () => {
      const cdb = loadUnloadCdb({ load: true });
      this.#pos = undefined;
      this.#expectGood(await this.#exec(cdb), cdb);
      if (this.#capsOrThrow().readPosition) {
        this.#pos = 0;
        this.#eop = false;
      } else {
        // Counted positions need a certain anchor, and not every target moves on LOAD (tgt takes
        // opcode 1Bh for START STOP UNIT and leaves the tape where it is): rewind as well.
        await this.#rewind();
      }
    });
  }

  unload(): Promise<void> {
    return this.#command(async () => {
      const cdb = loadUnloadCdb({ load: false });
      this.#pos = undefined;
      this.#expectGood(await this.#exec(cdb), cdb);
    });
  }

  setAppendOnly(enabled: boolean): Promise<void> {
    return this.#command(async () => {
      if (typeof enabled !== 'boolean') throw new InvalidArgumentError('enabled', enabled, 'a boolean');
      if (!this.#capsOrThrow().appendOnly) throw new UnsupportedOperationError('append-only mode', this.name);
      const sense = modeSense6Cdb({
        pageCode: DEVICE_CONFIGURATION_PAGE,
        subpageCode: DEVICE_CONFIGURATION_EXTENSION_SUBPAGE,
        disableBlockDescriptors: true,
      });
      const current = await this.#exec(sense, { dataInLength: 255 });
      this.#expectGood(current, sense);
      const page = findModePage(
        parseModeParameters6(current.data),
        DEVICE_CONFIGURATION_PAGE,
        DEVICE_CONFIGURATION_EXTENSION_SUBPAGE,
      );
      if (page === undefined) throw new UnsupportedOperationError('append-only mode', this.name);
      const { parametersSavable: _ps, ...fields } = parseDeviceConfigurationExtension(page.bytes);
      const list = buildModeParameterList6({
        pages: [buildDeviceConfigurationExtension({ ...fields, appendOnly: enabled })],
      });
      const select = modeSelect6Cdb({ parameterListLength: list.length });
      this.#expectGood(await this.#exec(select, { dataOut: list }), select);
    });
  }

  allowOverwrite(blockNumber: number, partition = 0): Promise<void> {
    return this.#command(async () => {
      if (!this.#capsOrThrow().allowOverwrite)
        throw new UnsupportedOperationError('ALLOW OVERWRITE', this.name);
      const cdb = allowOverwriteCdb({
        mode: AllowOverwriteMode.CURRENT_POSITION,
        partition,
        logicalObjectIdentifier: blockNumber,
      });
      this.#expectGood(await this.#exec(cdb), cdb);
    });
  }

  // ---------------------------------------------------------------- discovery

  async #discover(): Promise<void> {
    await this.#clearUnitAttentions();

    const inq = await this.#exec(inquiryCdb({ allocationLength: 96 }), { dataInLength: 96 });
    this.#expectGood(inq, inquiryCdb());
    const standard = parseStandardInquiry(inq.data);
    let serial = '';
    const vpd = await this.#exec(unitSerialNumberCdb({ allocationLength: 96 }), { dataInLength: 96 });
    if (vpd.status === ScsiStatus.GOOD) serial = parseUnitSerialNumber(vpd.data);
    else this.#log.info({ device: this.name }, 'no unit serial number VPD page; serial left empty');
    this.#identity = toDriveIdentity(standard, serial);
    const quirks = quirksFor(standard.vendor, standard.product);
    if (standard.peripheralDeviceType !== 1) {
      throw new ScsiError(
        `${this.name} is not a tape drive (peripheral device type ${standard.peripheralDeviceType})`,
        {
          code: 'NOT_A_TAPE_DEVICE',
          category: 'illegal-request',
          retryable: false,
        },
      );
    }

    const rblCdb = readBlockLimitsCdb();
    const rbl = await this.#exec(rblCdb, { dataInLength: 6 });
    this.#expectGood(rbl, rblCdb);
    const limits = parseReadBlockLimits(rbl.data);
    const maxBlockSize = Math.min(
      limits.maxBlockLength === 0 ? MAX_TRANSFER : limits.maxBlockLength,
      MAX_TRANSFER,
    );
    const minBlockSize = Math.max(1, limits.minBlockLength);

    const modeCdb = modeSense6Cdb({ pageCode: ALL_MODE_PAGES, allocationLength: 255 });
    const mode = await this.#exec(modeCdb, { dataInLength: 255 });
    this.#expectGood(mode, modeCdb);
    const params = parseModeParameters6(mode.data);
    if (params.deviceSpecific.writeProtected) {
      this.#log.warn({ device: this.name }, 'the loaded medium is write protected');
    }
    const blockLength = params.blockDescriptors[0]?.blockLength ?? 0;
    if (blockLength !== 0) await this.#selectVariableBlocks(params.blockDescriptors[0]?.densityCode ?? 0);

    const dceCdb = modeSense6Cdb({
      pageCode: DEVICE_CONFIGURATION_PAGE,
      subpageCode: DEVICE_CONFIGURATION_EXTENSION_SUBPAGE,
      disableBlockDescriptors: true,
    });
    const dce = await this.#exec(dceCdb, { dataInLength: 255 });
    const appendOnly =
      dce.status === ScsiStatus.GOOD &&
      findModePage(
        parseModeParameters6(dce.data),
        DEVICE_CONFIGURATION_PAGE,
        DEVICE_CONFIGURATION_EXTENSION_SUBPAGE,
      ) !== undefined;
    if (!appendOnly) {
      this.#log.warn(
        { device: this.name, capability: 'appendOnly' },
        'no Device Configuration Extension mode page (10h/01h): append-only mode unavailable',
      );
    }

    if (this.#rewindOnOpen) await this.#rewind();
    else this.#pos = undefined;

    const { readPosition, bufferedCounts } = await this.#probeReadPosition();
    const locate = readPosition && this.#pos === 0 ? await this.#probeLocate() : false;
    if (!locate) {
      this.#log.warn(
        { device: this.name, capability: 'locate' },
        readPosition
          ? 'LOCATE(10) refused: positioning uses REWIND + SPACE'
          : 'no LOCATE without READ POSITION',
      );
    }
    const allowOverwriteCommand = await this.#probeAllowOverwrite();
    if (allowOverwriteCommand && !appendOnly) {
      this.#log.info(
        { device: this.name, capability: 'allowOverwrite' },
        'ALLOW OVERWRITE accepted but append-only mode is unavailable; reported as unsupported',
      );
    }

    const immediateFilemarks = quirks?.ignoresImmediate === undefined;
    if (!immediateFilemarks) {
      this.#log.warn(
        { device: this.name, capability: 'immediateFilemarks', implementation: quirks?.implementation },
        `immediate filemarks are not immediate: ${quirks?.ignoresImmediate ?? ''}; every filemark costs a sync`,
      );
    }

    this.#caps = {
      immediateFilemarks,
      readPosition,
      bufferedCounts,
      locate,
      // With counted positions, SPACE to end of data is done by counting objects with reads.
      spaceToEndOfData: true,
      appendOnly,
      allowOverwrite: allowOverwriteCommand && appendOnly,
      earlyWarning: true,
      maxBlockSize,
      minBlockSize,
    };
    this.#log.info(
      { device: this.name, identity: this.#identity, capabilities: this.#caps },
      'device opened; capabilities discovered',
    );
  }

  async #clearUnitAttentions(): Promise<void> {
    const cdb = testUnitReadyCdb();
    for (let i = 0; ; i++) {
      const r = await this.#exec(cdb);
      if (r.status === ScsiStatus.GOOD) return;
      const error = this.#statusError(r, cdb);
      if (error.category !== 'unit-attention' || i >= UNIT_ATTENTION_RETRIES) throw error;
      this.#log.debug({ device: this.name, code: error.code }, 'unit attention cleared at open');
    }
  }

  async #selectVariableBlocks(densityCode: number): Promise<void> {
    const list = buildModeParameterList6({ blockDescriptor: { densityCode, blockLength: 0 } });
    const cdb = modeSelect6Cdb({ parameterListLength: list.length });
    this.#expectGood(await this.#exec(cdb, { dataOut: list }), cdb);
    this.#log.info({ device: this.name }, 'switched the drive from fixed to variable block mode');
  }

  /**
   * READ POSITION is trusted only if it tells the truth at a known place: right after REWIND it must
   * say BOP and object 0 (tgt answers all zeros, BOP clear). Without a rewind, an answer that is all
   * zeros with BOP clear is taken for the same emptiness.
   */
  async #probeReadPosition(): Promise<{ readPosition: boolean; bufferedCounts: boolean }> {
    const cdb = readPositionCdb({ form: ReadPositionForm.SHORT });
    const r = await this.#exec(cdb, { dataInLength: 20 });
    if (r.status !== ScsiStatus.GOOD) {
      this.#giveUpReadPosition(`READ POSITION refused: ${this.#statusError(r, cdb).code}`);
      return { readPosition: false, bufferedCounts: false };
    }
    let parsed: ReturnType<typeof parseReadPositionShort>;
    try {
      parsed = parseReadPositionShort(r.data);
    } catch (error) {
      this.#giveUpReadPosition(`READ POSITION answer unusable: ${(error as Error).message}`);
      return { readPosition: false, bufferedCounts: false };
    }
    const truthful =
      this.#pos === 0
        ? parsed.bop && parsed.firstLogicalObjectLocation === 0 && !parsed.bpu
        : !parsed.bpu && (parsed.bop || parsed.firstLogicalObjectLocation !== 0);
    if (!truthful) {
      this.#giveUpReadPosition(
        'READ POSITION answers zeros (BOP clear at BOT): it does not track the position',
      );
      return { readPosition: false, bufferedCounts: false };
    }
    return { readPosition: true, bufferedCounts: !parsed.bcu && !parsed.bycu };
  }

  #giveUpReadPosition(reason: string): void {
    this.#log.warn(
      { device: this.name, capability: 'readPosition', reason },
      'positions are counted by tapedup from the last REWIND/LOAD; relative moves go one object at a time',
    );
  }

  async #probeLocate(): Promise<boolean> {
    const cdb = locate10Cdb({ blockAddress: 0 });
    const r = await this.#exec(cdb);
    return r.status === ScsiStatus.GOOD;
  }

  /** ALLOW OVERWRITE with mode DISABLED changes nothing; ILLEGAL REQUEST means the command is missing. */
  async #probeAllowOverwrite(): Promise<boolean> {
    const cdb = allowOverwriteCdb({
      mode: AllowOverwriteMode.DISABLED,
      partition: 0,
      logicalObjectIdentifier: 0,
    });
    const r = await this.#exec(cdb);
    if (r.status === ScsiStatus.GOOD) return true;
    this.#log.warn(
      { device: this.name, capability: 'allowOverwrite', code: this.#statusError(r, cdb).code },
      'ALLOW OVERWRITE unsupported',
    );
    return false;
  }

  // ---------------------------------------------------------------- reads and spacing

  async #read(maxLength: number): Promise<ReadResult> {
    const cdb = read6Cdb({ transferLength: maxLength });
    const r = await this.#exec(cdb, { dataInLength: maxLength });
    if (r.status === ScsiStatus.GOOD) {
      this.#moveBy(1);
      return { kind: 'data', data: r.data.slice(0, maxLength), overlength: false, blockLength: maxLength };
    }
    const sense = this.#senseOf(r, cdb);
    if (this.#isEndOfData(sense)) return { kind: 'end-of-data' };
    if (sense.filemark) {
      this.#moveBy(1);
      return { kind: 'filemark' };
    }
    if (
      sense.ili &&
      sense.information !== undefined &&
      (sense.senseKey === SenseKey.NO_SENSE || sense.senseKey === SenseKey.RECOVERED_ERROR)
    ) {
      this.#moveBy(1);
      const blockLength = maxLength - sense.information;
      if (sense.information >= 0) {
        // A short block. Targets must deliver it whole, but some (tgt before 1.0.94) send only
        // `requested - block` bytes; the untransferred tail would read as zeros. Re-read the block at
        // its exact length whenever fewer bytes arrived than the block holds.
        const got = r.transferred ?? blockLength;
        const data =
          got >= blockLength ? r.data.slice(0, blockLength) : await this.#reread(blockLength, blockLength);
        return { kind: 'data', data, overlength: false, blockLength };
      }
      const delivered = r.transferred ?? maxLength;
      const data =
        delivered >= maxLength ? r.data.slice(0, maxLength) : await this.#reread(blockLength, maxLength);
      return { kind: 'data', data, overlength: true, blockLength };
    }
    if (
      !sense.deferred &&
      (sense.senseKey === SenseKey.NO_SENSE || sense.senseKey === SenseKey.RECOVERED_ERROR) &&
      !sense.ili
    ) {
      // Early warning while reading, or a recovered error: the block was read in full.
      this.#moveBy(1);
      if (sense.eom) this.#eop = true;
      return { kind: 'data', data: r.data.slice(0, maxLength), overlength: false, blockLength: maxLength };
    }
    throw this.#failed(senseToError(r.sense, cdb[0]));
  }

  /**
   * Some targets (tgt among them) send no data, or too little, for a READ whose length differs from
   * the block's. The block is then fetched again: back over it, read it whole, keep `maxLength` bytes.
   */
  async #reread(blockLength: number, maxLength: number): Promise<Uint8Array> {
    if (blockLength > MAX_READ_BUFFER) {
      throw new ScsiError(`${this.name}: a ${blockLength}-byte block is too long to re-read`, {
        code: 'OVERLENGTH_BLOCK_TOO_LONG',
        category: 'other',
        retryable: false,
      });
    }
    this.#log.debug(
      { device: this.name, blockLength },
      'read returned too little data; re-reading the block at its length',
    );
    const back = space6Cdb({ code: SpaceCode.BLOCKS, count: -1 });
    const b = await this.#exec(back);
    if (b.status !== ScsiStatus.GOOD) throw this.#failed(this.#statusError(b, back));
    const cdb = read6Cdb({ transferLength: blockLength });
    const r = await this.#exec(cdb, { dataInLength: blockLength });
    if (r.status !== ScsiStatus.GOOD) throw this.#failed(this.#statusError(r, cdb));
    return r.data.slice(0, maxLength);
  }

  async #deviceSpace(unit: SpaceUnit, count: number): Promise<SpaceResult> {
    const code =
      unit === 'blocks'
        ? SpaceCode.BLOCKS
        : unit === 'filemarks'
          ? SpaceCode.FILEMARKS
          : SpaceCode.END_OF_DATA;
    const cdb = space6Cdb({ code, count: unit === 'end-of-data' ? 0 : count });
    const r = await this.#exec(cdb);
    this.#pos = undefined;
    if (r.status === ScsiStatus.GOOD) return { spaced: Math.abs(count) };
    const sense = this.#senseOf(r, cdb);
    const residue = Math.abs(sense.information ?? 0);
    const spaced = unit === 'end-of-data' ? 0 : Math.max(0, Math.abs(count) - residue);
    if (sense.filemark && unit === 'blocks') return { spaced, stoppedAt: 'filemark' };
    if (this.#isEndOfData(sense)) return { spaced, stoppedAt: 'end-of-data' };
    if (sense.asc === 0x00 && sense.ascq === 0x04 && count < 0) return { spaced, stoppedAt: 'bot' };
    throw this.#failed(senseToError(r.sense, cdb[0]));
  }

  async #countedSpace(unit: SpaceUnit, count: number): Promise<SpaceResult> {
    this.#countedPosition('SPACE');
    let spaced = 0;
    if (unit === 'end-of-data') {
      for (;;) {
        const kind = await this.#stepForward();
        if (kind === 'end-of-data') return { spaced };
        spaced++;
      }
    }
    if (count > 0) {
      while (spaced < count) {
        const kind = await this.#stepForward();
        if (kind === 'end-of-data') return { spaced, stoppedAt: 'end-of-data' };
        if (unit === 'blocks') {
          if (kind === 'filemark') return { spaced, stoppedAt: 'filemark' };
          spaced++;
        } else if (kind === 'filemark') {
          spaced++;
        }
      }
      return { spaced };
    }
    while (spaced < -count) {
      const kind = await this.#stepBackward();
      if (kind === 'bot') return { spaced, stoppedAt: 'bot' };
      if (unit === 'blocks') {
        if (kind === 'filemark') return { spaced, stoppedAt: 'filemark' };
        spaced++;
      } else if (kind === 'filemark') {
        spaced++;
      }
    }
    return { spaced };
  }

  /** Moves forward over one object with a one-byte READ and says what it was. */
  async #stepForward(): Promise<ObjectKind> {
    const cdb = read6Cdb({ transferLength: 1 });
    const r = await this.#exec(cdb, { dataInLength: 1 });
    if (r.status === ScsiStatus.GOOD) {
      this.#moveBy(1);
      return 'data';
    }
    const sense = this.#senseOf(r, cdb);
    if (this.#isEndOfData(sense)) return 'end-of-data';
    if (sense.filemark) {
      this.#moveBy(1);
      return 'filemark';
    }
    if (sense.ili && (sense.senseKey === SenseKey.NO_SENSE || sense.senseKey === SenseKey.RECOVERED_ERROR)) {
      this.#moveBy(1);
      return 'data';
    }
    throw this.#failed(senseToError(r.sense, cdb[0]));
  }

  /**
   * Moves back over one object: SPACE -1 block crosses exactly one object (a device that stops at a
   * filemark stops on its BOT side, which is the same place), then a one-byte READ identifies it
   * and a second SPACE -1 returns in front of it.
   */
  async #stepBackward(): Promise<Exclude<ObjectKind, 'end-of-data'> | 'bot'> {
    if (this.#pos === 0) return 'bot';
    await this.#spaceBackOne();
    const kind = await this.#stepForward();
    if (kind === 'end-of-data') {
      throw this.#failed(
        new ScsiError(`${this.name}: end of data met while stepping back; the counted position is wrong`, {
          code: 'POSITION_MISMATCH',
          category: 'other',
          retryable: false,
        }),
      );
    }
    await this.#spaceBackOne();
    return kind;
  }

  async #spaceBackOne(): Promise<void> {
    const cdb = space6Cdb({ code: SpaceCode.BLOCKS, count: -1 });
    const r = await this.#exec(cdb);
    if (r.status !== ScsiStatus.GOOD) {
      const sense = this.#senseOf(r, cdb);
      // Stopping at a filemark going backwards leaves us on its BOT side: one object back, as asked.
      if (!sense.filemark) throw this.#failed(senseToError(r.sense, cdb[0]));
    }
    this.#moveBy(-1);
  }

  async #rewind(): Promise<void> {
    const cdb = rewindCdb();
    this.#pos = undefined;
    this.#expectGood(await this.#exec(cdb), cdb);
    this.#pos = 0;
    this.#eop = false;
  }

  // ---------------------------------------------------------------- plumbing

  #writeOutcome(r: CdbResponse, cdb: Uint8Array, objects: number): WriteResult {
    if (r.status === ScsiStatus.GOOD) {
      this.#moveBy(objects);
      return { earlyWarning: false };
    }
    const sense = this.#senseOf(r, cdb);
    if (
      !sense.deferred &&
      (sense.senseKey === SenseKey.NO_SENSE || sense.senseKey === SenseKey.RECOVERED_ERROR)
    ) {
      this.#moveBy(objects);
      if (sense.eom) this.#eop = true;
      return { earlyWarning: sense.eom };
    }
    throw this.#failed(senseToError(r.sense, cdb[0]));
  }

  #isEndOfData(sense: DecodedSense): boolean {
    // tgt reports end of data as BLANK CHECK with EOM and no additional sense; SSC says 00h/05h.
    return sense.senseKey === SenseKey.BLANK_CHECK || (sense.asc === 0x00 && sense.ascq === 0x05);
  }

  /** Decodes CHECK CONDITION sense; any other non-GOOD status or undecodable sense is thrown. */
  #senseOf(r: CdbResponse, cdb: Uint8Array): DecodedSense {
    if (r.status === ScsiStatus.CHECK_CONDITION) {
      const decoded = decodeSense(r.sense);
      if (decoded.ok) return decoded.sense;
    }
    throw this.#failed(this.#statusError(r, cdb));
  }

  #expectGood(r: CdbResponse, cdb: Uint8Array): void {
    if (r.status !== ScsiStatus.GOOD) throw this.#failed(this.#statusError(r, cdb));
  }

  #statusError(r: CdbResponse, cdb: Uint8Array): ScsiError {
    const opcode = cdb[0];
    if (r.status === ScsiStatus.CHECK_CONDITION) {
      if (r.sense.length > 0) return senseToError(r.sense, opcode);
      return new ScsiError(`${this.name}: CHECK CONDITION without sense data`, {
        code: 'CHECK_CONDITION_NO_SENSE',
        category: 'other',
        retryable: false,
        ...(opcode === undefined ? {} : { opcode }),
      });
    }
    const busy = r.status === ScsiStatus.BUSY || r.status === ScsiStatus.TASK_SET_FULL;
    const aborted = r.status === ScsiStatus.TASK_ABORTED;
    return new ScsiError(`${this.name}: SCSI status ${r.status.toString(16).padStart(2, '0')}h`, {
      code:
        r.status === ScsiStatus.RESERVATION_CONFLICT
          ? 'RESERVATION_CONFLICT'
          : busy
            ? 'STATUS_BUSY'
            : aborted
              ? 'TASK_ABORTED'
              : `SCSI_STATUS_${r.status.toString(16).toUpperCase()}`,
      category: busy || aborted ? 'aborted' : 'other',
      retryable: busy || aborted,
      ...(opcode === undefined ? {} : { opcode }),
    });
  }

  /** Records what an error does to the counted position, and returns it for throwing. */
  #failed(error: ScsiError): ScsiError {
    const harmless =
      !error.deferred &&
      (error.category === 'illegal-request' ||
        error.category === 'data-protect' ||
        error.category === 'not-ready');
    if (!harmless && this.#pos !== undefined) {
      this.#log.warn(
        { device: this.name, code: error.code },
        'position unknown after this error until REWIND/LOAD',
      );
      this.#pos = undefined;
    }
    return error;
  }

  #moveBy(objects: number): void {
    if (this.#pos !== undefined) this.#pos += objects;
  }

  #countedPosition(operation: string): number {
    if (this.#pos === undefined) {
      throw new ScsiError(
        `${this.name}: ${operation} needs the position, which is unknown since a reconnect, reset or error; rewind or load first`,
        { code: 'POSITION_UNKNOWN', category: 'unit-attention', retryable: false },
      );
    }
    return this.#pos;
  }

  #capsOrThrow(): TapeDeviceCapabilities {
    if (this.#caps === undefined) throw this.#notOpen();
    return this.#caps;
  }

  #notOpen(): ScsiError {
    return new ScsiError(`${this.name} is ${this.#everOpened ? 'closed' : 'not open'}`, {
      code: this.#everOpened ? 'DEVICE_CLOSED' : 'DEVICE_NOT_OPEN',
      category: 'not-ready',
      retryable: false,
    });
  }

  /** Queues a command; refuses it when the device is not open. */
  #command<T>(job: () => Promise<T>): Promise<T> {
    return this.#queue.run(async () => {
      if (!this.#open) throw this.#notOpen();
      return job();
    });
  }

  /** Sends one CDB with its deadline, reconnecting first when the previous command lost the path. */
  async #exec(
    cdb: Uint8Array,
    data: { dataOut?: Uint8Array; dataInLength?: number } = {},
  ): Promise<CdbResponse> {
    if (this.#needsReconnect) {
      await this.#transport.connect();
      this.#needsReconnect = false;
      this.#pos = undefined;
      this.#log.warn({ device: this.name }, 'reconnected; the position is unknown until REWIND/LOAD');
    }
    try {
      return await this.#transport.execute({ cdb, ...data, timeoutMs: this.#timeouts[timeoutClassOf(cdb)] });
    } catch (error) {
      if (error instanceof ScsiError && error.category === 'transport') {
        this.#pos = undefined;
        if (this.#reconnect) this.#needsReconnect = true;
        this.#log.warn(
          { device: this.name, code: error.code },
          'transport failed; will reconnect on the next command',
        );
        throw error;
      }
      throw error instanceof ScsiError
        ? error
        : new ScsiTransportError(`${this.name}: ${String(error)}`, { cause: error });
    }
  }
}
