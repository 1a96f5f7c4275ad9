import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig, writerArgs } from './index';

const base = {
  stateDir: '/tmp/state',
  library: { pools: { p: { cartridges: 2, capacityBytes: 10_000_000 } } },
  dsu: { main: '/srv/dsu' },
};
const syncFailure = { scripted: [{ kind: 'sync-failure', trigger: { op: 'sync', nth: 2 } }] };

function optionOf(drive: Record<string, unknown>): string {
  try {
    validateConfig({ ...base, drives: [drive] }, '/');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).option;
  }
  throw new Error('expected a ConfigError');
}

describe('drives[].faults', () => {
  it('passes a validated fault plan to the writer as --faults JSON', () => {
    const c = validateConfig(
      { ...base, drives: [{ id: 'd0', spec: 'virtual:/lib#drive0', faults: syncFailure }] },
      '/',
    );
    const d = c.drives[0];
    expect(d?.faults).toEqual(syncFailure);
    const args = writerArgs(c, d ?? { id: 'x', spec: 'x' });
    const i = args.indexOf('--faults');
    expect(i).toBeGreaterThan(0);
    expect(JSON.parse(args[i + 1] ?? '')).toEqual(syncFailure);
    const plain = validateConfig({ ...base, drives: [{ id: 'd0', spec: 'virtual:/lib#drive0' }] }, '/');
    expect(writerArgs(plain, { id: 'd0', spec: 'virtual:/lib#drive0' })).not.toContain('--faults');
  });

  it('refuses bad plans naming the option', () => {
    const spec = 'virtual:/lib#drive0';
    expect(optionOf({ id: 'd0', spec, faults: { scripted: 3 } })).toBe('drives.0.faults.scripted');
    expect(optionOf({ id: 'd0', spec, faults: { bogus: [] } })).toBe('drives.0.faults.bogus');
    expect(optionOf({ id: 'd0', spec, faults: { scripted: [{ kind: 'melt' }] } })).toBe('drives.0.faults');
    const wrongOp = { scripted: [{ kind: 'sync-failure', trigger: { op: 'write', nth: 1 } }] };
    expect(optionOf({ id: 'd0', spec, faults: wrongOp })).toBe('drives.0.faults');
    expect(optionOf({ id: 'd0', spec: 'sg:/dev/sg1', faults: syncFailure })).toBe('drives.0.faults');
  });
});
