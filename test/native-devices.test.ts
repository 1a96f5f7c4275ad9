/**
 * Device specs, the addon's presence, nonexistent device paths through the real addon, and the
 * real-drive suites gated on TAPEDUP_TEST_SG / TAPEDUP_TEST_ST (they overwrite the loaded medium).
 */
import { describe, expect, it } from 'vitest';
import {
  DeviceSpecError,
  nativeAddonStatus,
  openDeviceSpec,
  parseDeviceSpec,
  SgTapeDevice,
  StTapeDevice,
} from '../native/src/index';
import { ScsiTransportError } from '../packages/scsi/src/index';
import { describeTapeDeviceContract } from '../packages/scsi/src/testing/contract-suite';

describe('device specs', () => {
  it('parses iscsi, sg and st specs', () => {
    expect(parseDeviceSpec('iscsi://10.0.0.5:3261/iqn.2004-11.com.example:vtl.drive1/2')).toEqual({
      kind: 'iscsi',
      host: '10.0.0.5',
      port: 3261,
      targetIqn: 'iqn.2004-11.com.example:vtl.drive1',
      lun: 2,
    });
    expect(parseDeviceSpec('iscsi://tape.example/iqn.2004-11.com.example:t/0')).toMatchObject({ port: 3260 });
    expect(parseDeviceSpec('iscsi://[fd00::5]:3260/eui.0123456789abcdef/1')).toMatchObject({
      host: 'fd00::5',
    });
    expect(parseDeviceSpec('sg:/dev/sg3')).toEqual({ kind: 'sg', path: '/dev/sg3' });
    expect(parseDeviceSpec('st:/dev/nst0')).toEqual({ kind: 'st', path: '/dev/nst0' });
  });

  it.each([
    ['', 'SPEC_EMPTY'],
    ['tape0', 'SPEC_UNKNOWN_SCHEME'],
    ['iscsi:///iqn.2004-11.com.example:t/1', 'SPEC_BAD_HOST'],
    ['iscsi://h:0/iqn.2004-11.com.example:t/1', 'SPEC_BAD_PORT'],
    ['iscsi://h:99999/iqn.2004-11.com.example:t/1', 'SPEC_BAD_PORT'],
    ['iscsi://h/not-an-iqn/1', 'SPEC_BAD_IQN'],
    ['iscsi://h/iqn.2004-11.com.example:t', 'SPEC_BAD_IQN'],
    ['iscsi://h/iqn.2004-11.com.example:t/x', 'SPEC_BAD_LUN'],
    ['iscsi://h/iqn.2004-11.com.example:t/20000', 'SPEC_BAD_LUN'],
    ['sg:sg3', 'SPEC_BAD_PATH'],
    ['st:/dev/../etc/passwd', 'SPEC_BAD_PATH'],
  ])('rejects %j with %s', (spec, code) => {
    let caught: unknown;
    try {
      parseDeviceSpec(spec);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DeviceSpecError);
    expect((caught as DeviceSpecError).code).toBe(code);
  });
});

const addon = nativeAddonStatus();

describe.skipIf(!addon.available)('nonexistent device paths through the real addon', () => {
  it.each(['sg:/dev/sg987', 'st:/dev/nst987'])('%s rejects with ENOENT', async (spec) => {
    const error = await openDeviceSpec(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiTransportError);
    expect((error as ScsiTransportError).errno).toBe('ENOENT');
  });

  it('an sg open of something that is not an sg node is ENOTTY', async () => {
    const error = await openDeviceSpec('sg:/dev/null').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiTransportError);
    expect((error as ScsiTransportError).errno).toBe('ENOTTY');
  });
});

const sgPath = process.env.TAPEDUP_TEST_SG;
const stPath = process.env.TAPEDUP_TEST_ST;

if (sgPath === undefined) {
  describe('real SG_IO drive', () => {
    it.skip('set TAPEDUP_TEST_SG=/dev/sgN to run against a real drive (overwrites the loaded medium)', () => {});
  });
} else {
  describeTapeDeviceContract(`real drive sg:${sgPath}`, async () => {
    const device = new SgTapeDevice({ path: sgPath });
    await device.open();
    return { device, cleanup: () => device.close() };
  });
}

if (stPath === undefined) {
  describe('real st drive', () => {
    it.skip('set TAPEDUP_TEST_ST=/dev/nstN to run against a real drive (overwrites the loaded medium)', () => {});
  });
} else {
  describeTapeDeviceContract(`real drive st:${stPath}`, async () => {
    const device = new StTapeDevice({ path: stPath, rewindOnOpen: true });
    await device.open();
    return { device, cleanup: () => device.close() };
  });
}
