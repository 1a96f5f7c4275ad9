/** `tapedup catalog images|copies|media|fragments`: the catalog, read-only, as tables or JSON. */
import { CatalogReader } from '../catalog/reader';
import type { TapedupConfig } from '../config/schema';
import { invalidOption } from '../errors';
import { formatBytes, formatTable } from '../output/format';
import { type Io, printJson } from '../output/io';

export const CATALOG_VIEWS = ['images', 'copies', 'media', 'fragments'] as const;
export type CatalogView = (typeof CATALOG_VIEWS)[number];

export function parseCatalogView(value: string): CatalogView {
  if (!(CATALOG_VIEWS as readonly string[]).includes(value)) {
    throw invalidOption('<what>', `must be one of ${CATALOG_VIEWS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as CatalogView;
}

export interface CatalogFilter {
  requestId?: string | undefined;
  medium?: string | undefined;
  state?: string | undefined;
  backupId?: string | undefined;
}

export function catalogCommand(
  io: Io,
  config: TapedupConfig,
  view: CatalogView,
  filter: CatalogFilter,
  json: boolean,
): void {
  const catalog = CatalogReader.open(config.catalog);
  try {
    switch (view) {
      case 'images': {
        const rows = catalog.images({ requestId: filter.requestId });
        if (json) {
          printJson(io, { images: rows });
          return;
        }
        io.out(
          formatTable(
            ['request', 'backup id', 'size', 'kind', 'source', 'committed'],
            rows.map((r) => [
              r.requestId,
              r.backupId,
              formatBytes(r.sizeBytes),
              r.kind,
              r.dsu === null ? null : `${r.dsu}:${r.path}`,
              `${r.committed}/${r.copies}`,
            ]),
          ),
        );
        return;
      }
      case 'copies': {
        const rows = catalog.copies(filter);
        if (json) {
          printJson(io, { copies: rows });
          return;
        }
        io.out(
          formatTable(
            ['request', 'backup id', 'copy', 'state', 'attempts', 'medium', 'file', 'block', 'sha256'],
            rows.map((r) => [
              r.requestId,
              r.backupId,
              r.copy,
              r.state,
              r.attempts,
              r.medium,
              r.fileNumber,
              r.blockAddress,
              r.sha256?.slice(0, 16),
            ]),
          ),
        );
        return;
      }
      case 'media': {
        const rows = catalog.media();
        if (json) {
          printJson(io, { media: rows });
          return;
        }
        io.out(
          formatTable(
            ['barcode', 'pool', 'state', 'next file', 'next block', 'committed', 'errors'],
            rows.map((r) => [
              r.barcode,
              r.pool,
              r.state,
              r.fileNumber,
              r.blockAddress,
              formatBytes(r.committedBytes),
              r.errors,
            ]),
          ),
        );
        return;
      }
      case 'fragments': {
        const rows = catalog.fragments({ medium: filter.medium, backupId: filter.backupId });
        if (json) {
          printJson(io, { fragments: rows });
          return;
        }
        io.out(
          formatTable(
            ['backup id', 'copy', 'seq', 'medium', 'file', 'block', 'offset', 'length'],
            rows.map((r) => [
              r.backupId,
              r.copy,
              r.sequence,
              r.medium,
              r.fileNumber,
              r.blockAddress,
              r.offset,
              r.length,
            ]),
          ),
        );
        return;
      }
    }
  } finally {
    catalog.close();
  }
}
