import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig, writerArgs } from './index';

const base = {
  stateDir: '/tmp/state',
  library: { pools: { p: { cartridges: 2, capacityBytes: 10_000_000 } } },
  dsu: { main: '/srv/dsu' },
};
const spec = 'virtual:/lib#drive0';

function optionOf(doc: Record<string, unknown>): string {
  try {
    validateConfig({ ...base, ...doc }, '/etc/tapedup');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).option;
  }
  throw new Error('expected a ConfigError');
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

describe('drives[].writer', () => {
  it('maps each writer setting to its flag, the log file resolved against the config directory', () => {
    const c = validateConfig(
      {
        ...base,
        drives: [
          {
            id: 'd0',
            spec,
            writer: {
              appendOnly: true,
              mpx: 4,
              minFragmentMs: 250,
              maxFragmentBytes: 1_048_576,
              streamIdleMs: 2000,
              maxFragmentImages: 6,
              packImages: true,
              checkpointMs: 60_000,
              logFile: 'logs/d0.log',
              logLevel: 'debug',
            },
          },
        ],
      },
      '/etc/tapedup',
    );
    const args = writerArgs(c, c.drives[0]!);
    expect(args).toContain('--append-only');
    expect(flag(args, '--mpx')).toBe('4');
    expect(flag(args, '--min-fragment-ms')).toBe('250');
    expect(flag(args, '--max-fragment-size')).toBe('1048576');
    expect(flag(args, '--stream-idle-ms')).toBe('2000');
    expect(flag(args, '--max-fragment-images')).toBe('6');
    expect(args).toContain('--pack-images');
    expect(flag(args, '--checkpoint-ms')).toBe('60000');
    expect(flag(args, '--log-file')).toBe('/etc/tapedup/logs/d0.log');
    expect(flag(args, '--log-level')).toBe('debug');
  });

  it('passes a virtual drive its timing profile and refuses one for a real drive or an unknown name', () => {
    const c = validateConfig({ ...base, drives: [{ id: 'd0', spec, profile: 'untimed' }] }, '/');
    expect(flag(writerArgs(c, c.drives[0]!), '--profile')).toBe('untimed');
    expect(optionOf({ drives: [{ id: 'd0', spec, profile: 'LTO-10' }] })).toBe('drives.0.profile');
    expect(
      optionOf({
        drives: [
          { id: 'd0', spec: 'sg:/dev/sg3', profile: 'LTO-9', medium: { barcode: 'A00001', pool: 'p' } },
        ],
      }),
    ).toBe('drives.0.profile');
  });

  it('takes the MPX factor from policy.mpxFactor when the drive sets none, and adds nothing by default', () => {
    const c = validateConfig({ ...base, policy: { mpxFactor: 3 }, drives: [{ id: 'd0', spec }] }, '/');
    expect(flag(writerArgs(c, c.drives[0]!), '--mpx')).toBe('3');
    const plain = validateConfig({ ...base, drives: [{ id: 'd0', spec }] }, '/');
    const args = writerArgs(plain, plain.drives[0]!);
    for (const f of ['--mpx', '--append-only', '--log-file', '--min-fragment-ms', '--pack-images'])
      expect(args).not.toContain(f);
  });

  it('refuses bad writer settings naming the option', () => {
    expect(optionOf({ drives: [{ id: 'd0', spec, writer: { mpx: 33 } }] })).toBe('drives.0.writer.mpx');
    expect(optionOf({ drives: [{ id: 'd0', spec, writer: { bogus: 1 } }] })).toBe('drives.0.writer.bogus');
    expect(optionOf({ drives: [{ id: 'd0', spec, writer: { appendOnly: 'yes' } }] })).toBe(
      'drives.0.writer.appendOnly',
    );
    expect(optionOf({ drives: [{ id: 'd0', spec, writer: { packImages: 1 } }] })).toBe(
      'drives.0.writer.packImages',
    );
  });
});

describe('streamDir', () => {
  it('defaults under the state dir, may be turned off, and must fit an ipc path', () => {
    const drives = [{ id: 'd0', spec }];
    expect(validateConfig({ ...base, drives }, '/').streamDir).toBe('/tmp/state/streams');
    expect(validateConfig({ ...base, drives, streamDir: false }, '/').streamDir).toBeUndefined();
    expect(validateConfig({ ...base, drives, streamDir: 's' }, '/etc/tapedup').streamDir).toBe(
      '/etc/tapedup/s',
    );
    expect(optionOf({ drives, streamDir: `/${'x'.repeat(100)}` })).toBe('streamDir');
    // A default too long for ipc endpoints only turns streams off.
    expect(
      validateConfig({ ...base, drives, stateDir: `/${'y'.repeat(90)}` }, '/').streamDir,
    ).toBeUndefined();
  });
});
