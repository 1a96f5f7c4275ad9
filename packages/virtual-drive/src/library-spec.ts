/**
 * Parses a virtual drive device spec, `virtual:<library-dir>#<drive>`, as given on the command line
 * or in configuration (e.g. `virtual:/var/lib/tapedup/library#drive0`).
 */

export type VirtualDriveSpecProblem = 'not-virtual' | 'missing-library' | 'missing-drive' | 'bad-drive-name';

export class VirtualDriveSpecError extends Error {
  override readonly name = 'VirtualDriveSpecError';
  readonly code = 'INVALID_DRIVE_SPEC';
  constructor(
    readonly spec: string,
    readonly problem: VirtualDriveSpecProblem,
    detail: string,
  ) {
    super(
      `invalid virtual drive spec ${JSON.stringify(spec)}: ${detail} (expected virtual:<library-dir>#<drive>)`,
    );
  }
}

export interface VirtualDriveSpec {
  /** The library directory exactly as written (relative paths are the caller's to resolve). */
  libraryDir: string;
  drive: string;
}

const PREFIX = 'virtual:';
const DRIVE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function parseVirtualDriveSpec(spec: string): VirtualDriveSpec {
  if (typeof spec !== 'string' || !spec.startsWith(PREFIX)) {
    throw new VirtualDriveSpecError(String(spec), 'not-virtual', `must start with "${PREFIX}"`);
  }
  const rest = spec.slice(PREFIX.length);
  // The drive follows the last '#', so a directory name may itself contain '#'.
  const hash = rest.lastIndexOf('#');
  if (hash === -1) throw new VirtualDriveSpecError(spec, 'missing-drive', 'no "#<drive>"');
  const libraryDir = rest.slice(0, hash);
  const drive = rest.slice(hash + 1);
  if (libraryDir.length === 0)
    throw new VirtualDriveSpecError(spec, 'missing-library', 'empty library directory');
  if (drive.length === 0) throw new VirtualDriveSpecError(spec, 'missing-drive', 'empty drive name');
  if (!DRIVE_PATTERN.test(drive)) {
    throw new VirtualDriveSpecError(
      spec,
      'bad-drive-name',
      `drive name ${JSON.stringify(drive)} must be 1-64 of A-Z a-z 0-9 _ -`,
    );
  }
  return { libraryDir, drive };
}
