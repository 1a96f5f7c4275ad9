import { validateConfig as validateDuplicatorConfig } from '@tapedup/duplicator';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CliError } from '../errors';
import { parseConfigText } from './load';
import { renderConfig, sampleConfigText } from './sample';
import { validateConfig } from './schema';

const base = {
  stateDir: './.tapedup',
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
    expect(c.endpoints.scheduler).toBe('tcp://127.0.0.1:7300');
    expect(c.endpoints.writers).toBe('ipc:///etc/tapedup/.tapedup/writers.sock');
    expect(c.streamDir).toBe('/etc/tapedup/.tapedup/streams');
    // The duplicator's defaults, not a copy of them: the first retry is immediate.
    expect(c.retry).toEqual({ maxAttempts: 3, backoffMs: 0, maxBackoffMs: 30_000 });
    expect(c.heartbeat).toEqual({ intervalMs: 1000, timeoutMs: 5000, startupTimeoutMs: 120_000 });
    expect(c.clockScale).toBe(1);
    expect(c.logLevel).toBe('info');
  });

  it('keeps absolute paths and loopback TCP endpoints as given, resolves relative ipc paths', () => {
    const c = validateConfig(
      {
        ...base,
        stateDir: '/var/lib/tapedup',
        endpoints: { scheduler: 'tcp://127.0.0.1:7400', events: 'ipc://run/events.ipc' },
      },
      '/etc/tapedup',
    );
    expect(c.stateDir).toBe('/var/lib/tapedup');
    expect(c.endpoints.scheduler).toBe('tcp://127.0.0.1:7400');
    expect(c.endpoints.events).toBe('ipc:///etc/tapedup/run/events.ipc');
  });

  it('accepts the duplicator-only settings the old CLI schema refused', () => {
    const c = validateConfig(
      {
        ...base,
        drives: [
          {
            id: 'drive0',
            spec: 'virtual:./lib#drive0',
            writer: { mpx: 4, appendOnly: true, logFile: 'logs/w0.log' },
            faults: { scripted: [{ kind: 'write-error', trigger: { op: 'write', nth: 3 } }] },
          },
          { id: 'drive1', spec: 'st:/dev/nst0', medium: { barcode: 'TD0001L9', pool: 'default' } },
        ],
        streamDir: '/run/td',
        startupSettleMs: 0,
        heartbeat: { startupTimeoutMs: 30_000 },
        writerWindow: { images: 8 },
      },
      '/etc/tapedup',
    );
    expect(c.drives[0]!.writer).toEqual({ mpx: 4, appendOnly: true, logFile: '/etc/tapedup/logs/w0.log' });
    expect(c.drives[0]!.faults?.scripted).toHaveLength(1);
    expect(c.drives[1]!.medium).toEqual({ barcode: 'TD0001L9', pool: 'default' });
    expect(c.streamDir).toBe('/run/td');
    expect(c.startupSettleMs).toBe(0);
    expect(c.heartbeat.startupTimeoutMs).toBe(30_000);
    expect(c.writerWindow).toEqual({ images: 8, bytes: 64_000_000_000 });
  });

  it('refuses what the duplicator refuses, naming the same option', () => {
    const doc = { ...base, drives: [{ id: 'd', spec: 'st:/dev/nst0', writer: { mpx: 64 } }] };
    const e = refusal(doc);
    expect(e.field).toBe('drives.0.writer.mpx');
    expect(() => validateDuplicatorConfig(doc, '/etc/tapedup')).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', option: 'drives.0.writer.mpx' }),
    );
    expect(e.message).toMatch(/^\/etc\/tapedup\/tapedup\.yaml: config key drives\.0\.writer\.mpx /);
    expect(e.message).not.toContain('config option');
  });

  it('names a missing required key', () => {
    const { drives: _drop, ...rest } = base;
    const e = refusal(rest);
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.field).toBe('drives');
    expect(e.message).toContain('key drives is required');
    expect(e.message).toContain('/etc/tapedup/tapedup.yaml');
    const { stateDir: _state, ...noState } = base;
    expect(refusal(noState).field).toBe('stateDir');
  });

  it('names an unknown key with its full path', () => {
    expect(refusal({ ...base, bogus: 1 }).field).toBe('bogus');
    const e = refusal({ ...base, retry: { maxAttempts: 2, tries: 4 } });
    expect(e.field).toBe('retry.tries');
    expect(e.message).toContain('not a known option');
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
    const noDrive = refusal({ ...base, drives: [...base.drives, { id: 'd', spec: 'virtual:/lib' }] });
    expect(noDrive.field).toBe('drives.1.spec');
    expect(noDrive.message).toContain('#');
    expect(refusal({ ...base, drives: [{ id: 'd', spec: 'floppy:/dev/fd0' }] }).field).toBe('drives.0.spec');
  });

  it('refuses one virtual drive spelled twice, once relative and once absolute', () => {
    const e = refusal({
      ...base,
      drives: [...base.drives, { id: 'drive1', spec: 'virtual:/etc/tapedup/lib#drive0' }],
    });
    expect(e.field).toBe('drives.1.spec');
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
    expect(e.field).toBe('endpoints.writers');
  });
});

describe('parseConfigText', () => {
  it('accepts the sample configuration init writes', () => {
    const c = parseConfigText(sampleConfigText(), '/srv/t');
    expect(c.drives.map((d) => d.id)).toEqual(['drive0', 'drive1']);
    expect(c.drives[1]!.spec).toBe('virtual:/srv/t/.tapedup/library#drive1');
    expect(c.endpoints).toMatchObject({
      scheduler: 'ipc:///srv/t/.tapedup/scheduler.ipc',
      events: 'ipc:///srv/t/.tapedup/events.ipc',
      writers: 'ipc:///srv/t/.tapedup/writers.ipc',
    });
    expect(c.retry.backoffMs).toBe(0);
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

  it('documents writer MPX, append-only and streamDir in the sample, valid once uncommented', () => {
    const sample = sampleConfigText();
    expect(sample).toContain('#       mpx: 4');
    expect(sample).toContain('#       appendOnly: true');
    expect(sample).toContain('# streamDir: ');
    const uncommented = sample
      .replace(/^# ( {2}- id: drive9|streamDir:)/m, '$1')
      .replace(/^# ( {4,}\S)/gm, '$1');
    const c = parseConfigText(uncommented, '/srv/t');
    expect(c.drives[2]).toMatchObject({ id: 'drive9', writer: { mpx: 4, appendOnly: true } });
    expect(c.streamDir).toBe('/srv/t/.tapedup/streams');
  });

  it('renders a resolved configuration the duplicator reads back unchanged, wherever it is written', () => {
    const text = `${sampleConfigText()}streamDir: false\n`;
    const c = parseConfigText(text, '/srv/t');
    expect(c.streamDir).toBeUndefined();
    const written = { ...c, drives: [{ ...c.drives[0]!, writer: { mpx: 4, appendOnly: true } }] };
    const back = validateDuplicatorConfig(parse(renderConfig(written)), '/somewhere/else');
    expect(back).toEqual(written);
    expect(back.streamDir).toBeUndefined();
  });

  it('reports YAML syntax errors and duplicate keys as INVALID_CONFIG', () => {
    expect(() => parseConfigText('drives: [', '/x')).toThrow(/not valid YAML/);
    expect(() => parseConfigText('logLevel: info\nlogLevel: debug\n', '/x')).toThrow(CliError);
  });
});
