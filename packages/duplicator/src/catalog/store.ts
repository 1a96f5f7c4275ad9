import type Database from 'better-sqlite3';
import { CatalogError } from './errors';
import type { ResolvedCatalogOptions } from './options';
import type { BatchRow, CopyRow, DriveRow, MediumRow, RequestRow } from './rows';
import type { Page } from './types';
import * as check from './validate';

const DEFAULT_PAGE = 1000;

/**
 * The open database and what every catalog module shares: cached prepared statements, the injected clock,
 * the audit log, and row lookups that throw `NOT_FOUND`. Lookups and writes here run inside the caller's
 * transaction.
 */
export class Store {
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  constructor(
    readonly db: Database.Database,
    readonly options: ResolvedCatalogOptions,
  ) {}

  now(): number {
    return Math.round(this.options.clock());
  }

  /** A prepared statement, compiled once per SQL text. */
  stmt<R = unknown>(sql: string): Database.Statement<unknown[], R> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return statement as Database.Statement<unknown[], R>;
  }

  page(page: Page): { limit: number; offset: number } {
    return {
      limit: page.limit === undefined ? DEFAULT_PAGE : check.integer(page.limit, 'limit', 1, 1_000_000),
      offset: page.offset === undefined ? 0 : check.integer(page.offset, 'offset', 0),
    };
  }

  /** Appends a state transition to the audit log. */
  event(entity: string, subject: string, from: string | null, to: string | null, detail: unknown): void {
    this.stmt(
      'INSERT INTO events (at, entity, subject, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(this.now(), entity, subject, from, to, detail === undefined ? null : JSON.stringify(detail));
  }

  requestRow(id: string): RequestRow {
    const row = this.stmt<RequestRow>('SELECT * FROM requests WHERE id = ?').get(id);
    if (row === undefined) throw notFound('request', id);
    return row;
  }

  copyRow(id: number): CopyRow {
    const row = this.stmt<CopyRow>('SELECT * FROM copies_v WHERE id = ?').get(id);
    if (row === undefined) throw notFound('copy', id);
    return row;
  }

  batchRow(id: number): BatchRow {
    const row = this.stmt<BatchRow>('SELECT * FROM batches WHERE id = ?').get(id);
    if (row === undefined) throw notFound('batch', id);
    return row;
  }

  /** The batch, which must still be open (`BATCH_NOT_OPEN` otherwise). */
  openBatchRow(id: number): BatchRow {
    const row = this.batchRow(id);
    if (row.state !== 'open') {
      throw new CatalogError('BATCH_NOT_OPEN', `batch ${id} is ${row.state}`, {
        entity: 'batch',
        id,
        details: { state: row.state },
      });
    }
    return row;
  }

  mediumRow(barcode: string): MediumRow {
    const row = this.stmt<MediumRow>('SELECT * FROM media WHERE barcode = ?').get(barcode);
    if (row === undefined) throw notFound('medium', barcode);
    return row;
  }

  driveRow(id: string): DriveRow {
    const row = this.stmt<DriveRow>('SELECT * FROM drives WHERE id = ?').get(id);
    if (row === undefined) throw notFound('drive', id);
    return row;
  }
}

/** `WHERE a = ? AND b = ?` over the filters that were given. */
export function whereClause(filters: readonly (readonly [string, unknown])[]): {
  where: string;
  params: unknown[];
} {
  const given = filters.filter(([, value]) => value !== undefined);
  return {
    where: given.length === 0 ? '' : `WHERE ${given.map(([clause]) => clause).join(' AND ')}`,
    params: given.map(([, value]) => value),
  };
}

export function notFound(entity: string, id: string | number): CatalogError {
  return new CatalogError('NOT_FOUND', `${entity} ${id} not found`, { entity, id });
}
