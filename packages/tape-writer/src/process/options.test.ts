import { describe, expect, it } from 'vitest';
import { parseWriterOptions, WriterOptionError } from './options';

const base = [
  '--drive-id',
  'd0',
  '--drive',
  'virtual:/lib#drive0',
  '--connect',
  'ipc:///tmp/w.sock',
  '--dsu',
  'main=/srv/dsu',
];

function optionOf(argv: string[]): string {
  try {
    parseWriterOptions(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(WriterOptionError);
    expect((error as WriterOptionError).code).toBe('INVALID_OPTION');
    return (error as WriterOptionError).option;
  }
  throw new Error('expected a WriterOptionError');
}

describe('parseWriterOptions', () => {
  it('parses a full command line with defaults', () => {
    const o = parseWriterOptions([...base, '--dsu', 'b=/x', '--clock-scale', '50', '--append-only']);
    expect(o).toMatchObject({
      driveId: 'd0',
      clockScale: 50,
      heartbeatMs: 1000,
      logLevel: 'info',
      appendOnly: true,
    });
    expect([...o.dsu.keys()]).toEqual(['main', 'b']);
    expect(o).toMatchObject({ mpx: 1, minFragmentMs: 4000, streamIdleMs: 30_000 });
    expect(o.maxFragmentBytes).toBeUndefined();
    expect(o.packImages).toBe(false);
    expect(o.profile).toBeUndefined();
    expect(parseWriterOptions([...base, '--profile', 'untimed']).profile).toBe('untimed');
    expect(parseWriterOptions([...base, '--pack-images']).packImages).toBe(true);
    expect(o.checkpointMs).toBeUndefined();
    expect(parseWriterOptions([...base, '--checkpoint-ms', '60000']).checkpointMs).toBe(60_000);
    expect(optionOf([...base, '--checkpoint-ms', '0'])).toBe('checkpoint-ms');
    const m = parseWriterOptions([
      ...base,
      '--mpx',
      '4',
      '--min-fragment-ms',
      '0',
      '--max-fragment-size',
      '1048576',
      '--max-fragment-images',
      '8',
      '--stream-idle-ms',
      '500',
    ]);
    expect(m).toMatchObject({
      mpx: 4,
      minFragmentMs: 0,
      maxFragmentBytes: 1_048_576,
      maxFragmentImages: 8,
      streamIdleMs: 500,
    });
  });

  it('names the offending option', () => {
    expect(optionOf(base.slice(2))).toBe('drive-id');
    expect(optionOf([...base.slice(0, 2), '--connect', 'ipc:///x'])).toBe('drive');
    expect(optionOf(['--drive-id', 'bad id', ...base.slice(2)])).toBe('drive-id');
    expect(optionOf([...base, '--drive', 'tape0'])).toBe('drive');
    expect(optionOf([...base, '--connect', 'http://x'])).toBe('connect');
    expect(optionOf([...base, '--dsu', 'rel=relative'])).toBe('dsu');
    expect(optionOf([...base, '--clock-scale', '0'])).toBe('clock-scale');
    expect(optionOf([...base, '--heartbeat-ms', '5'])).toBe('heartbeat-ms');
    expect(optionOf([...base, '--log-level', 'loud'])).toBe('log-level');
    expect(optionOf([...base, '--profile', 'LTO-10'])).toBe('profile');
    expect(optionOf([...base, '--block-payload-size', '1000'])).toBe('block-payload-size');
    expect(optionOf([...base, '--bogus'])).toBe('bogus');
    expect(optionOf([...base, '--mpx', '33'])).toBe('mpx');
    expect(optionOf([...base, '--mpx', '4', '--max-fragment-images', '3'])).toBe('max-fragment-images');
    expect(optionOf([...base, '--max-fragment-size', '0'])).toBe('max-fragment-size');
    expect(optionOf([...base, '--min-fragment-ms', '-1'])).toBe('min-fragment-ms');
    expect(optionOf([...base, '--stream-idle-ms', 'soon'])).toBe('stream-idle-ms');
  });
});

describe('--faults', () => {
  it('parses a fault plan for a virtual drive', () => {
    const plan = { scripted: [{ kind: 'sync-failure', trigger: { op: 'sync', nth: 3 } }] };
    expect(parseWriterOptions([...base, '--faults', JSON.stringify(plan)]).faults).toEqual(plan);
    expect(parseWriterOptions(base).faults).toBeUndefined();
  });

  it('refuses bad JSON, bad shapes, invalid plans and non-virtual drives, naming --faults', () => {
    expect(optionOf([...base, '--faults', '{'])).toBe('faults');
    expect(optionOf([...base, '--faults', '[]'])).toBe('faults');
    expect(optionOf([...base, '--faults', '{"scripted":5}'])).toBe('faults');
    expect(optionOf([...base, '--faults', '{"other":[]}'])).toBe('faults');
    expect(optionOf([...base, '--faults', '{"scripted":[{"kind":"melt"}]}'])).toBe('faults');
    const sync = '{"scripted":[{"kind":"sync-failure","trigger":{"op":"write","nth":1}}]}';
    expect(optionOf([...base, '--faults', sync])).toBe('faults');
    const sg = ['--drive-id', 'd0', '--drive', 'sg:/dev/sg1', ...base.slice(4)];
    expect(optionOf([...sg, '--faults', '{"scripted":[]}'])).toBe('faults');
  });
});
