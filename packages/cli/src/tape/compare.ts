/**
 * Catalog against tape: every committed copy must be found on its cataloged medium at its cataloged
 * position, complete (trailer, block CRCs, SHA-256 all good) and with the cataloged SHA-256 — and,
 * when the source digest is known, with the source's SHA-256 too. Pure.
 */
import type { ImageReport } from '@tapedup/tape-format';

export interface CommittedCopy {
  backupId: string;
  copy: number;
  medium: string;
  fileNumber: number;
  blockAddress: number;
  sha256: string;
  sizeBytes: number;
}

export type MismatchReason =
  | 'NOT_ON_TAPE'
  | 'WRONG_POSITION'
  | 'BAD_IMAGE'
  | 'CATALOG_SHA_MISMATCH'
  | 'SOURCE_SHA_MISMATCH'
  | 'SIZE_MISMATCH';

export interface Mismatch {
  backupId: string;
  copy: number;
  reason: MismatchReason;
  detail: string;
}

export interface Comparison {
  checked: number;
  verified: number;
  bytesVerified: number;
  mismatches: Mismatch[];
}

/**
 * True when the image occurrence starts at the cataloged place: same medium and tape file, and the
 * cataloged block address lies between the fragment header and the image's first data block (the
 * writer reports the copy's first block; an MPX image joins its fragment at an image-start record).
 */
export function startsAt(report: ImageReport, copy: CommittedCopy): boolean {
  const first = report.fragments[0];
  if (first === undefined || first.barcode !== copy.medium || first.tapeFile !== copy.fileNumber)
    return false;
  return copy.blockAddress >= first.blockNumber && copy.blockAddress <= first.introducedAt + 1;
}

/**
 * Compares committed copies with what the reader found. `sources` maps backupId → source SHA-256
 * (when known). Reports are the verify pass over every medium involved.
 */
export function compareWithTape(
  copies: readonly CommittedCopy[],
  reports: readonly ImageReport[],
  sources: ReadonlyMap<string, string> = new Map(),
): Comparison {
  const byImage = new Map<string, ImageReport[]>();
  for (const report of reports) {
    const key = `${report.backupId}\u0000${report.copy}`;
    const list = byImage.get(key);
    if (list === undefined) byImage.set(key, [report]);
    else list.push(report);
  }
  const mismatches: Mismatch[] = [];
  let verified = 0;
  let bytesVerified = 0;
  for (const copy of copies) {
    const found = byImage.get(`${copy.backupId}\u0000${copy.copy}`) ?? [];
    const miss = (reason: MismatchReason, detail: string) =>
      mismatches.push({ backupId: copy.backupId, copy: copy.copy, reason, detail });
    if (found.length === 0) {
      miss('NOT_ON_TAPE', `no occurrence of ${copy.backupId} copy ${copy.copy} on the media read`);
      continue;
    }
    const report = found.find((r) => startsAt(r, copy));
    if (report === undefined) {
      const seen = found
        .map(
          (r) =>
            `${r.fragments[0]?.barcode ?? '?'} file ${r.fragments[0]?.tapeFile ?? '?'} block ${r.fragments[0]?.blockNumber ?? '?'}`,
        )
        .join('; ');
      miss(
        'WRONG_POSITION',
        `cataloged at ${copy.medium} file ${copy.fileNumber} block ${copy.blockAddress}, found at ${seen}`,
      );
      continue;
    }
    if (report.verdict !== 'ok' || report.sha256 === undefined) {
      const problem = report.problems[0];
      miss('BAD_IMAGE', `verdict ${report.verdict}${problem ? `: ${problem.code} ${problem.message}` : ''}`);
      continue;
    }
    if (report.sha256 !== copy.sha256) {
      miss('CATALOG_SHA_MISMATCH', `tape ${report.sha256}, catalog ${copy.sha256}`);
      continue;
    }
    if (report.endOffset !== copy.sizeBytes) {
      miss('SIZE_MISMATCH', `tape holds ${report.endOffset} bytes, catalog says ${copy.sizeBytes}`);
      continue;
    }
    const source = sources.get(copy.backupId);
    if (source !== undefined && source !== report.sha256) {
      miss('SOURCE_SHA_MISMATCH', `tape ${report.sha256}, source ${source}`);
      continue;
    }
    verified += 1;
    bytesVerified += report.endOffset;
  }
  return { checked: copies.length, verified, bytesVerified, mismatches };
}
