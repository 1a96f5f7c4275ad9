import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from './index';

const base = {
  stateDir: '/tmp/state',
  library: { pools: { p: { cartridges: 2, capacityBytes: 10_000_000 } } },
  dsu: { main: '/srv/dsu' },
};
const iscsi = (lun: number) => `iscsi://127.0.0.1:3260/iqn.2024-01.io.example:tape/${lun}`;

function optionOf(drives: Record<string, unknown>[]): string {
  try {
    validateConfig({ ...base, drives }, '/');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).option;
  }
  throw new Error('expected a ConfigError');
}

describe('drives[].medium (the cartridge loaded in a standalone drive)', () => {
  it('keeps the barcode and pool of each standalone drive', () => {
    const c = validateConfig(
      {
        ...base,
        drives: [
          { id: 'd0', spec: iscsi(1), medium: { barcode: 'TD0001L1', pool: 'p' } },
          { id: 'd1', spec: iscsi(2) },
        ],
      },
      '/',
    );
    expect(c.drives[0]?.medium).toEqual({ barcode: 'TD0001L1', pool: 'p' });
    expect(c.drives[1]?.medium).toBeUndefined();
  });

  it('refuses a bad barcode, an unknown pool, a cartridge in two drives and a virtual drive', () => {
    expect(optionOf([{ id: 'd0', spec: iscsi(1), medium: { barcode: 'has space', pool: 'p' } }])).toBe(
      'drives.0.medium.barcode',
    );
    expect(optionOf([{ id: 'd0', spec: iscsi(1), medium: { barcode: 'B1', pool: 'nope' } }])).toBe(
      'drives.0.medium.pool',
    );
    expect(
      optionOf([
        { id: 'd0', spec: iscsi(1), medium: { barcode: 'B1', pool: 'p' } },
        { id: 'd1', spec: iscsi(2), medium: { barcode: 'B1', pool: 'p' } },
      ]),
    ).toBe('drives.1.medium.barcode');
    expect(optionOf([{ id: 'd0', spec: 'virtual:/lib#drive0', medium: { barcode: 'B1', pool: 'p' } }])).toBe(
      'drives.0.medium',
    );
    expect(optionOf([{ id: 'd0', spec: iscsi(1), medium: { barcode: 'B1', pool: 'p', x: 1 } }])).toBe(
      'drives.0.medium.x',
    );
  });
});

describe('drives[].spec', () => {
  it('accepts the four transports and refuses anything else naming the option', () => {
    for (const spec of [iscsi(1), 'sg:/dev/sg1', 'st:/dev/nst0', 'virtual:/lib#drive0']) {
      expect(validateConfig({ ...base, drives: [{ id: 'd0', spec }] }, '/').drives[0]?.spec).toBe(spec);
    }
    for (const spec of ['/dev/nst0', 'tape0', 'iscsi:/host/iqn/1', 'sg:', 'st:nst0', '']) {
      expect(optionOf([{ id: 'd0', spec }])).toBe('drives.0.spec');
    }
  });
});
