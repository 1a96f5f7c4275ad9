import { describe, expect, it } from 'vitest';
import { parseVirtualDriveSpec, VirtualDriveSpecError } from './library-spec';

describe('parseVirtualDriveSpec', () => {
  it('splits the library directory and the drive', () => {
    expect(parseVirtualDriveSpec('virtual:/var/lib/tapedup/library#drive0')).toEqual({
      libraryDir: '/var/lib/tapedup/library',
      drive: 'drive0',
    });
    expect(parseVirtualDriveSpec('virtual:relative/lib#tape_B-2')).toEqual({
      libraryDir: 'relative/lib',
      drive: 'tape_B-2',
    });
  });

  it('takes the drive after the last #, so a directory may contain #', () => {
    expect(parseVirtualDriveSpec('virtual:/tmp/a#b/lib#drive1')).toEqual({
      libraryDir: '/tmp/a#b/lib',
      drive: 'drive1',
    });
  });

  it.each([
    ['/dev/nst0', 'not-virtual'],
    ['iscsi://127.0.0.1/iqn#1', 'not-virtual'],
    ['VIRTUAL:/lib#drive0', 'not-virtual'],
    ['virtual:/lib', 'missing-drive'],
    ['virtual:/lib#', 'missing-drive'],
    ['virtual:#drive0', 'missing-library'],
    ['virtual:/lib#../drive0', 'bad-drive-name'],
    ['virtual:/lib#drive 0', 'bad-drive-name'],
  ])('rejects %j (%s)', (spec, problem) => {
    const error = (() => {
      try {
        parseVirtualDriveSpec(spec);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(VirtualDriveSpecError);
    expect(error).toMatchObject({ code: 'INVALID_DRIVE_SPEC', problem, spec });
    expect((error as Error).message).toContain('virtual:<library-dir>#<drive>');
  });
});
