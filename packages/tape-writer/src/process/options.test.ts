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
    expect(optionOf([...base, '--block-payload-size', '1000'])).toBe('block-payload-size');
    expect(optionOf([...base, '--bogus'])).toBe('bogus');
  });
});
