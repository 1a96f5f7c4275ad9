/**
 * `tapedup restore <backupId> [--copy N] --out FILE`: positions at the copy's first fragment (from the
 * catalog) and streams the image out through the tape-format reader, across media when it spans;
 * the reader checks every block's CRC32C and the trailer's SHA-256, and the result is compared with
 * the catalog's digest.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { type ImageSink, restoreImage } from '@tapedup/tape-format';
import { CatalogReader, type FragmentRow } from '../catalog/reader';
import type { TapedupConfig } from '../config/schema';
import { CliError, EXIT } from '../errors';
import { formatBytes } from '../output/format';
import { type Io, printJson } from '../output/io';
import { type OpenCartridge, openCartridge, openLibrary } from '../tape/cartridges';

export interface RestoreCommandOptions {
  backupId: string;
  copy?: number | undefined;
  out: string;
}

export interface RestoreSummary {
  backupId: string;
  copy: number;
  requestId: string;
  out: string;
  bytes: number;
  sha256: string;
  media: string[];
  fragments: number;
}

/** The fragments of the committed copy to restore: the copy asked for, else the lowest, newest request first. */
export function chooseFragments(rows: readonly FragmentRow[], copy: number | undefined): FragmentRow[] {
  const candidates = copy === undefined ? rows : rows.filter((r) => r.copy === copy);
  const last = candidates.at(-1);
  if (last === undefined) return [];
  const chosenCopy =
    copy ?? Math.min(...candidates.filter((r) => r.requestId === last.requestId).map((r) => r.copy));
  return candidates
    .filter((r) => r.requestId === last.requestId && r.copy === chosenCopy)
    .sort((a, b) => a.sequence - b.sequence);
}

export async function restoreCommand(
  config: TapedupConfig,
  options: RestoreCommandOptions,
): Promise<RestoreSummary> {
  const catalog = CatalogReader.open(config.catalog);
  let fragments: FragmentRow[];
  let expected: string | undefined;
  try {
    fragments = chooseFragments(catalog.fragments({ backupId: options.backupId }), options.copy);
    const first = fragments[0];
    if (first !== undefined) {
      expected =
        catalog
          .copies({ requestId: first.requestId, state: 'committed' })
          .find((c) => c.backupId === options.backupId && c.copy === first.copy)?.sha256 ?? undefined;
    }
  } finally {
    catalog.close();
  }
  const first = fragments[0];
  if (first === undefined) {
    const which = options.copy === undefined ? '' : ` copy ${options.copy}`;
    throw new CliError('NOT_FOUND', `no committed copy of ${options.backupId}${which} in the catalog`, {
      field: options.copy === undefined ? 'backupId' : '--copy',
    });
  }
  const media = [...new Set(fragments.map((f) => f.medium))];
  const library = await openLibrary(config.library.dir);
  const opened: OpenCartridge[] = [];
  const partial = `${options.out}.partial`;
  const file = await open(partial, 'w', 0o600);
  let position = 0;
  const sink: ImageSink = {
    write: async (chunk) => {
      await file.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    },
    reset: async () => {
      await file.truncate(0);
      position = 0;
    },
  };
  try {
    for (const barcode of media) opened.push(await openCartridge(library, barcode));
    const result = await restoreImage(
      opened.map((o) => o.device),
      { backupId: options.backupId, copy: first.copy },
      sink,
      // Start at the fragment's tape file; the reader finds the image's header within it.
      { startAt: { tapeFile: first.fileNumber } },
    );
    if (expected !== undefined && result.sha256 !== expected) {
      throw new CliError(
        'VERIFY_FAILED',
        `restored ${options.backupId} has SHA-256 ${result.sha256}, the catalog says ${expected}`,
        {
          exitCode: EXIT.failed,
        },
      );
    }
    await file.sync();
    await file.close();
    await rename(partial, options.out);
    return {
      backupId: options.backupId,
      copy: first.copy,
      requestId: first.requestId,
      out: options.out,
      bytes: result.bytes,
      sha256: result.sha256,
      media,
      fragments: result.fragments.length,
    };
  } catch (error) {
    await file.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
    throw error;
  } finally {
    for (const o of opened) await o.close();
  }
}

export function printRestore(io: Io, summary: RestoreSummary, json: boolean): void {
  if (json) printJson(io, summary);
  else
    io.out(
      `restored ${summary.backupId} copy ${summary.copy} (${formatBytes(summary.bytes)}, ${summary.fragments} fragment(s) on ${summary.media.join(', ')}) to ${summary.out}\nsha256 ${summary.sha256}`,
    );
}
