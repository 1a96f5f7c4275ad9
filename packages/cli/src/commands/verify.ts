/**
 * `tapedup verify`: reads cartridges back and checks them against the catalog (see tape/compare).
 */
import { verifyTape } from '@tapedup/tape-format';
import { CatalogReader } from '../catalog/reader';
import type { TapedupConfig } from '../config/schema';
import { CliError } from '../errors';
import { formatBytes, formatTable } from '../output/format';
import { type Io, printJson } from '../output/io';
import { type OpenCartridge, openCartridge, openLibrary } from '../tape/cartridges';
import { type CommittedCopy, type Comparison, compareWithTape } from '../tape/compare';

export interface VerifyOptions {
  /** Only copies on this medium; default every medium holding a committed copy. */
  medium?: string | undefined;
  /** backupId → source SHA-256, when the caller knows the sources (the demo does). */
  sources?: ReadonlyMap<string, string> | undefined;
}

export interface VerifyOutcome extends Comparison {
  media: { barcode: string; tapeFiles: number; problems: string[] }[];
  ok: boolean;
}

/** Reads committed copies from the catalog, reads their media back, compares. */
export async function verifyAgainstCatalog(
  config: TapedupConfig,
  options: VerifyOptions = {},
): Promise<VerifyOutcome> {
  const catalog = CatalogReader.open(config.catalog);
  let copies: CommittedCopy[];
  try {
    copies = catalog.copies({ state: 'committed', medium: options.medium }).map((c) => ({
      backupId: c.backupId,
      copy: c.copy,
      medium: c.medium ?? '',
      fileNumber: c.fileNumber ?? -1,
      blockAddress: c.blockAddress ?? -1,
      sha256: c.sha256 ?? '',
      sizeBytes: c.sizeBytes,
    }));
  } finally {
    catalog.close();
  }
  const library = await openLibrary(config.library.dir);
  const known = new Set((await library.list()).map((c) => c.barcode));
  if (options.medium !== undefined && !known.has(options.medium)) {
    throw new CliError(
      'NOT_FOUND',
      `option --medium: no cartridge ${options.medium} in ${config.library.dir}`,
      {
        field: '--medium',
      },
    );
  }
  const barcodes =
    options.medium !== undefined ? [options.medium] : [...new Set(copies.map((c) => c.medium))].sort();
  const opened: OpenCartridge[] = [];
  try {
    for (const barcode of barcodes) opened.push(await openCartridge(library, barcode));
    const result = await verifyTape(opened.map((o) => o.device));
    const comparison = compareWithTape(copies, result.images, options.sources);
    const media = result.media.map((m, i) => ({
      barcode: opened[i]?.barcode ?? m.device,
      tapeFiles: m.files.length,
      problems: m.problems.map((p) => `${p.code}: ${p.message}`),
    }));
    const ok = comparison.mismatches.length === 0 && comparison.verified === comparison.checked;
    return { ...comparison, media, ok };
  } finally {
    for (const o of opened) await o.close();
  }
}

export function printVerify(io: Io, outcome: VerifyOutcome, json: boolean): void {
  if (json) {
    printJson(io, outcome);
    return;
  }
  io.out(
    formatTable(
      ['medium', 'tape files', 'format problems'],
      outcome.media.map((m) => [m.barcode, m.tapeFiles, m.problems.length]),
    ),
  );
  io.out(
    `\n${outcome.verified}/${outcome.checked} committed copies verified (${formatBytes(outcome.bytesVerified)}), ${outcome.mismatches.length} mismatches`,
  );
  for (const m of outcome.mismatches.slice(0, 50))
    io.out(`  ${m.backupId} copy ${m.copy}: ${m.reason} ${m.detail}`);
  if (outcome.mismatches.length > 50) io.out(`  … ${outcome.mismatches.length - 50} more`);
}
