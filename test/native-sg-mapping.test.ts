/**
 * SG_IO without hardware: the syscall layer is injected, so every outcome a real drive or HBA can
 * produce (GOOD, CHECK CONDITION with fixed or descriptor sense, deferred errors, host and driver
 * status failures, timeouts, errno) is fed to the real SgTransport + ScsiTapeDevice code.
 */
import { describe, expect, it } from 'vitest';
import type { SgIoResult } from '../native/src/addon';
import { type SgSyscalls, SgTapeDevice, SgTransport } from '../native/src/index';
import { ScsiError, ScsiTimeoutError, ScsiTransportError } from '../packages/scsi/src/index';

type Responder = (cdb: Uint8Array, dataOut: Uint8Array | null, dataInLength: number) => Partial<SgIoResult>;

function errnoError(code: string): Error {
  return Object.assign(new Error(`${code} from the kernel`), { code });
}

/** A fake sg node: a queue of scripted answers for the commands after open. */
function fakeSg(answer: Responder, openError?: string): SgSyscalls & { cdbs: number[] } {
  const cdbs: number[] = [];
  return {
    cdbs,
    async open() {
      if (openError !== undefined) throw errnoError(openError);
      return 7;
    },
    async execute(_fd, cdb, dataOut, dataInLength) {
      cdbs.push(cdb[0] ?? -1);
      const partial = answer(cdb, dataOut, dataInLength);
      return {
        status: 0,
        hostStatus: 0,
        driverStatus: 0,
        resid: 0,
        duration: 1,
        info: 0,
        sense: new Uint8Array(0),
        data: new Uint8Array(dataInLength),
        ...partial,
      };
    },
    async close() {},
  };
}

/** Fixed-format sense (70h current / 71h deferred). */
function fixedSense(
  key: number,
  asc: number,
  ascq: number,
  opts: { deferred?: boolean; eom?: boolean } = {},
) {
  const s = new Uint8Array(18);
  s[0] = opts.deferred ? 0x71 : 0x70;
  s[2] = key | (opts.eom ? 0x40 : 0);
  s[7] = 10;
  s[12] = asc;
  s[13] = ascq;
  return s;
}

/** Descriptor-format sense (72h / 73h) without descriptors. */
function descriptorSense(key: number, asc: number, ascq: number, deferred = false) {
  return new Uint8Array([deferred ? 0x73 : 0x72, key, asc, ascq, 0, 0, 0, 0]);
}

/** Answers the discovery commands of a well-behaved drive, then hands WRITE(6) to `onWrite`. */
function drive(onWrite: Responder): Responder {
  return (cdb, out, len) => {
    const op = cdb[0];
    const data = new Uint8Array(len);
    switch (op) {
      case 0x12:
        if ((cdb[1] ?? 0) & 1) {
          data.set([0x01, 0x80, 0, 4, 0x53, 0x4e, 0x31, 0x32]);
        } else {
          data[0] = 0x01;
          data.set(Buffer.from('ACME    LTO-9 DRIVE     A1B2'), 8);
        }
        return { data };
      case 0x05:
        data.set([0, 0x10, 0, 0, 0, 1]);
        return { data };
      case 0x1a:
        if (cdb[2] === 0x10) return { status: 2, sense: fixedSense(5, 0x24, 0) };
        data.set([11, 0, 0x10, 8, 0x60, 0, 0, 0, 0, 0, 0, 0]);
        return { data };
      case 0x34:
        data[0] = 0x80; // BOP, object 0, counts known
        return { data };
      case 0x0a:
        return onWrite(cdb, out, len);
      default:
        return {};
    }
  };
}

async function openWith(onWrite: Responder): Promise<SgTapeDevice> {
  const device = new SgTapeDevice({ path: '/dev/sg9', syscalls: fakeSg(drive(onWrite)) });
  await device.open();
  return device;
}

async function writeError(onWrite: Responder): Promise<ScsiError> {
  const device = await openWith(onWrite);
  try {
    await device.writeBlock(new Uint8Array(512));
  } catch (error) {
    expect(error).toBeInstanceOf(ScsiError);
    return error as ScsiError;
  }
  throw new Error('the write should have failed');
}

describe('SG_IO device with injected syscalls', () => {
  it('discovers a drive that honours READ POSITION, LOCATE and IMMED', async () => {
    const device = await openWith(() => ({}));
    const caps = device.capabilities();
    expect(caps.readPosition).toBe(true);
    expect(caps.bufferedCounts).toBe(true);
    expect(caps.locate).toBe(true);
    expect(caps.immediateFilemarks).toBe(true);
    expect(caps.appendOnly).toBe(false);
    expect(caps.maxBlockSize).toBe(0x100000);
    const id = await device.inquiry();
    expect(id.vendor).toBe('ACME');
    expect(id.serial).toBe('SN12');
  });

  it('GOOD: the write resolves without early warning', async () => {
    const device = await openWith(() => ({}));
    expect(await device.writeBlock(new Uint8Array(100))).toEqual({ earlyWarning: false });
  });

  it('CHECK CONDITION with EOM and NO SENSE is early warning, not an error', async () => {
    const device = await openWith(() => ({ status: 2, sense: fixedSense(0, 0, 2, { eom: true }) }));
    expect(await device.writeBlock(new Uint8Array(100))).toEqual({ earlyWarning: true });
  });

  it('fixed-format MEDIUM ERROR becomes a medium ScsiError with ASC/ASCQ', async () => {
    const error = await writeError(() => ({ status: 2, sense: fixedSense(3, 0x0c, 0x00) }));
    expect(error.category).toBe('medium');
    expect(error.senseKey).toBe(3);
    expect(error.asc).toBe(0x0c);
    expect(error.opcode).toBe(0x0a);
    expect(error.deferred).toBe(false);
  });

  it('descriptor-format sense is decoded the same way', async () => {
    const error = await writeError(() => ({ status: 2, sense: descriptorSense(7, 0x27, 0x00) }));
    expect(error.category).toBe('data-protect');
    expect(error.asc).toBe(0x27);
  });

  it('a deferred error (71h) is flagged deferred and not retryable', async () => {
    const error = await writeError(() => ({
      status: 2,
      sense: fixedSense(3, 0x0c, 0x00, { deferred: true }),
    }));
    expect(error.deferred).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.category).toBe('medium');
  });

  it('a deferred error in descriptor format (73h) is flagged deferred too', async () => {
    const error = await writeError(() => ({ status: 2, sense: descriptorSense(4, 0x44, 0x00, true) }));
    expect(error.deferred).toBe(true);
    expect(error.category).toBe('hardware');
  });

  it('VOLUME OVERFLOW is its own category', async () => {
    const error = await writeError(() => ({ status: 2, sense: fixedSense(0x0d, 0, 2, { eom: true }) }));
    expect(error.category).toBe('volume-overflow');
  });

  it('BUSY status is a retryable aborted error', async () => {
    const error = await writeError(() => ({ status: 8 }));
    expect(error.code).toBe('STATUS_BUSY');
    expect(error.retryable).toBe(true);
  });

  it('host status DID_TIME_OUT is a ScsiTimeoutError', async () => {
    const error = await writeError(() => ({ hostStatus: 0x03, duration: 900 }));
    expect(error).toBeInstanceOf(ScsiTimeoutError);
    expect(error.category).toBe('transport');
  });

  it('driver status DRIVER_TIMEOUT is a ScsiTimeoutError', async () => {
    const error = await writeError(() => ({ driverStatus: 0x06 }));
    expect(error).toBeInstanceOf(ScsiTimeoutError);
  });

  it('host status DID_NO_CONNECT is a transport error naming the status', async () => {
    const error = await writeError(() => ({ hostStatus: 0x01 }));
    expect(error).toBeInstanceOf(ScsiTransportError);
    expect((error as ScsiTransportError).errno).toBe('DID_NO_CONNECT');
    expect(error.retryable).toBe(true);
  });

  it('driver status other than SENSE is a transport error', async () => {
    const error = await writeError(() => ({ driverStatus: 0x04 }));
    expect(error).toBeInstanceOf(ScsiTransportError);
    expect(error.code).toBe('TRANSPORT_DRIVER_4');
  });

  it('DRIVER_SENSE alone just says sense is present', async () => {
    const error = await writeError(() => ({ driverStatus: 0x08, status: 2, sense: fixedSense(3, 0x11, 0) }));
    expect(error.category).toBe('medium');
  });

  it('an errno from ioctl(SG_IO) is a transport error carrying the errno', async () => {
    const device = new SgTapeDevice({
      path: '/dev/sg9',
      syscalls: {
        ...fakeSg(drive(() => ({}))),
        execute: async (_fd, cdb, out, len) => {
          if (cdb[0] === 0x0a) throw errnoError('EIO');
          return fakeSg(drive(() => ({}))).execute(7, cdb, out, len, 1000);
        },
      },
    });
    await device.open();
    const error = await device.writeBlock(new Uint8Array(10)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiTransportError);
    expect((error as ScsiTransportError).errno).toBe('EIO');
  });

  it('a nonexistent /dev/sg path is a typed transport error at open', async () => {
    const device = new SgTapeDevice({ path: '/dev/sg99', syscalls: fakeSg(() => ({}), 'ENOENT') });
    const error = await device.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiTransportError);
    expect((error as ScsiTransportError).errno).toBe('ENOENT');
    expect((error as ScsiTransportError).code).toBe('TRANSPORT_ENOENT');
  });

  it('reports the data an SG_IO read really transferred, and spacing residues from sense', async () => {
    const block = new Uint8Array(300).fill(9);
    const transport = new SgTransport({
      path: '/dev/sg9',
      syscalls: fakeSg((cdb, _out, len) => (cdb[0] === 0x08 ? { data: block, resid: len - 300 } : {})),
    });
    await transport.connect();
    const r = await transport.execute({
      cdb: new Uint8Array([8, 0, 0, 0x10, 0, 0]),
      dataInLength: 4096,
      timeoutMs: 1000,
    });
    expect(r.transferred).toBe(300);
    await transport.close();
  });

  it('spaces with the device and turns the sense residue into the count spaced', async () => {
    const infoSense = fixedSense(0, 0, 1);
    infoSense[0] = 0xf0; // VALID
    infoSense[2] = 0x80; // FILEMARK
    infoSense.set([0, 0, 0, 3], 3); // residue 3
    const device = await openWith(() => ({}));
    const sys = fakeSg((cdb) => (cdb[0] === 0x11 ? { status: 2, sense: infoSense } : {}));
    const spaced = new SgTapeDevice({
      path: '/dev/sg9',
      syscalls: {
        ...sys,
        execute: async (fd, cdb, out, len, t) =>
          cdb[0] === 0x11
            ? sys.execute(fd, cdb, out, len, t)
            : fakeSg(drive(() => ({}))).execute(fd, cdb, out, len, t),
      },
    });
    await spaced.open();
    expect(await spaced.space('blocks', 10)).toEqual({ spaced: 7, stoppedAt: 'filemark' });
    await device.close();
    await spaced.close();
  });
});
