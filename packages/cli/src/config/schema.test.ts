import { describe, expect, it } from 'vitest';
import { CliError } from '../errors';
import { parseConfigText } from './load';
import { sampleConfigText } from './sample';
import { validateConfig } from './schema';

const base = {
  drives: [{ id: 'drive0', spec: 'virtual:./lib#drive0' }],
  library: { pools: { default: { cartridges: 2, capacityBytes: 1_000_000_000 } } },
  dsu: { dsu1: './dsu1' },
};

function refusal(document: unknown): CliError {
  try {
    validateConfig(document, '/etc/tapedup', '/etc/tapedup/tapedup.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('expected the configuration to be refused');
}

describe('validateConfig', () => {
  it('fills defaults and resolves every path against the config directory', () => {
    const c = validateConfig(base, '/etc/tapedup');
    expect(c.stateDir).toBe('/etc/tapedup/.tapedup');
    expect(c.catalog).toBe('/etc/tapedup/.tapedup/catalog.sqlite');
    expect(c.library.dir).toBe('/etc/tapedup/.tapedup/library');
    expect(c.dsu).toEqual({ dsu1: '/etc/tapedup/dsu1' });
    expect(c.drives[0]!.spec).toBe('virtual:/etc/tapedup/lib#drive0');
    expect(c.endpoints.scheduler).toBe('ipc:///etc/tapedup/.tapedup/scheduler.ipc');
    expect(c.retry).toEqual({ maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 30_000 });
    expect(c.clockScale).toBe(1);
    expect(c.logLevel).toBe('info');
  });

  it('keeps absolute paths and loopback TCP endpoints as given', () => {
    const c = validateConfig(
      { ...base, stateDir: '/var/lib/tapedup', endpoints: { scheduler: 'tcp://127.0.0.1:7300' } },
      '/etc/tapedup',
    );
    expect(c.stateDir).toBe('/var/lib/tapedup');
    expect(c.endpoints.scheduler).toBe('tcp://127.0.0.1:7300');
    expect(c.endpoints.events).toBe('ipc:///var/lib/tapedup/events.ipc');
  });

  it('names a missing required key', () => {
    const { drives: _drop, ...rest } = base;
    const e = refusal(rest);
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.field).toBe('drives');
    expect(e.message).toContain('key drives is required');
    expect(e.message).toContain('/etc/tapedup/tapedup.yaml');
  });

  it('names an unknown key with its full path', () => {
    expect(refusal({ ...base, bogus: 1 }).field).toBe('bogus');
    const e = refusal({ ...base, retry: { maxAttempts: 2, tries: 4 } });
    expect(e.field).toBe('retry.tries');
    expect(e.message).toContain('not a known setting');
  });

  it('names the element of an array at fault', () => {
    const e = refusal({ ...base, drives: [...base.drives, { id: 'drive 1', spec: 'virtual:/x#d' }] });
    expect(e.field).toBe('drives.1.id');
  });

  it('refuses a drive id used twice', () => {
    const e = refusal({ ...base, drives: [...base.drives, { id: 'drive0', spec: 'virtual:/x#d1' }] });
    expect(e.field).toBe('drives.1.id');
    expect(e.message).toContain('repeats');
  });

  it('refuses a malformed drive spec with the parser reason', () => {
    expect(refusal({ ...base, drives: [{ id: 'd', spec: 'virtual:/lib' }] }).field).toBe('drives.0.spec');
    expect(refusal({ ...base, drives: [{ id: 'd', spec: 'floppy:/dev/fd0' }] }).field).toBe('drives.0.spec');
  });

  it('refuses TCP endpoints beyond loopback', () => {
    const e = refusal({ ...base, endpoints: { events: 'tcp://0.0.0.0:7301' } });
    expect(e.field).toBe('endpoints.events');
    expect(e.message).toContain('loopback');
  });

  it('checks ranges, enums and cross-field rules', () => {
    expect(refusal({ ...base, clockScale: 0 }).field).toBe('clockScale');
    expect(refusal({ ...base, policy: { policy: 'sometimes' } }).field).toBe('policy.policy');
    expect(refusal({ ...base, library: { pools: {} } }).field).toBe('library.pools');
    expect(refusal({ ...base, dsu: {} }).field).toBe('dsu');
    const hb = refusal({ ...base, heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    expect(hb.field).toBe('heartbeat.timeoutMs');
  });

  it('refuses a default ipc path too long for a socket address', () => {
    const e = refusal({ ...base, stateDir: `/${'x'.repeat(120)}` });
    expect(e.field).toBe('endpoints.scheduler');
  });
});

describe('parseConfigText', () => {
  it('accepts the sample configuration init writes', () => {
    const c = parseConfigText(sampleConfigText(), '/srv/t');
    expect(c.drives.map((d) => d.id)).toEqual(['drive0', 'drive1']);
    expect(c.drives[1]!.spec).toBe('virtual:/srv/t/.tapedup/library#drive1');
    expect(c.policy.policy).toBe('adaptive');
    expect(c.library.pools.default).toEqual({ cartridges: 4, capacityBytes: 18_000_000_000_000 });
  });

  it('builds the demo configuration with its DSU, drive count and clock scale', () => {
    const text = sampleConfigText({ stateDir: './state', dsu: { demo: './dsu' }, drives: 3, clockScale: 20 });
    const c = parseConfigText(text, '/d');
    expect(c.drives).toHaveLength(3);
    expect(c.dsu).toEqual({ demo: '/d/dsu' });
    expect(c.clockScale).toBe(20);
    expect(c.stateDir).toBe('/d/state');
  });

  it('reports YAML syntax errors and duplicate keys as INVALID_CONFIG', () => {
    expect(() => parseConfigText('drives: [', '/x')).toThrow(/not valid YAML/);
    expect(() => parseConfigText('logLevel: info\nlogLevel: debug\n', '/x')).toThrow(CliError);
  });
});
