import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CatalogError } from './errors';
import { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION } from './migrations';

let dir: string;
let db: Database.Database;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapedup-migrate-'));
  db = new Database(join(dir, 'm.sqlite'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const steps: Migration[] = [
  { version: 1, description: 'a', sql: 'CREATE TABLE a (x INTEGER);' },
  { version: 2, description: 'b', sql: 'CREATE TABLE b (y INTEGER);' },
];

function tables(): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);
}

describe('migrate', () => {
  it('applies steps in order once, recording the version in user_version', () => {
    expect(migrate(db, steps.slice(0, 1))).toEqual([1]);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(migrate(db, steps)).toEqual([2]);
    expect(migrate(db, steps)).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(tables()).toEqual(['a', 'b']);
  });

  it('rolls a failing step back entirely and keeps the previous version', () => {
    const broken: Migration = {
      version: 3,
      description: 'bad',
      sql: 'CREATE TABLE c (z INTEGER); SELECT nope FROM;',
    };
    migrate(db, steps);
    expect(() => migrate(db, [...steps, broken])).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(tables()).toEqual(['a', 'b']);
  });

  it('refuses steps out of order and a database newer than the code', () => {
    expect(() => migrate(db, [steps[1]!, steps[0]!])).toThrow(CatalogError);
    expect(tables()).toEqual([]);
    db.pragma('user_version = 9');
    try {
      migrate(db, steps);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'SCHEMA_TOO_NEW', details: { found: 9, supported: 2 } });
    }
  });

  it('the shipped schema is at its last step and creates the catalog tables', () => {
    expect(SCHEMA_VERSION).toBe(MIGRATIONS[MIGRATIONS.length - 1]?.version);
    migrate(db);
    expect(tables()).toEqual(
      expect.arrayContaining([
        'batches',
        'copies',
        'copy_counts',
        'drives',
        'events',
        'fragments',
        'images',
        'media',
        'requests',
      ]),
    );
  });
});
