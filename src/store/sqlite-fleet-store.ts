import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { KvcpuError } from '../core/errors.ts';
import type { FleetStore } from './fleet-store.ts';
import { migrate, SqlFleetStore, type Row, type SqlDriver } from './sql-fleet-store.ts';

const require = createRequire(import.meta.url);

/** better-sqlite3 is synchronous; wrapping it in promises lets one store logic serve both backends. */
function sqliteDriver(db: BetterSqlite3.Database): SqlDriver {
  let depth = 0;
  const d: SqlDriver = {
    backend: 'sqlite',
    all: async (sql, params = []) => db.prepare(sql).all(...(params as unknown[])) as Row[],
    run: async (sql, params = []) => {
      const st = db.prepare(sql);
      // DDL and other statements that return no rows go through run().
      return st.reader ? (st.all(...(params as unknown[])), 0) : st.run(...(params as unknown[])).changes;
    },
    transaction: async (fn) => {
      // Nested calls (putMany → put logic) join the outer transaction.
      if (depth > 0) return fn(d);
      depth++;
      db.exec('BEGIN IMMEDIATE');
      try {
        const v = await fn(d);
        db.exec('COMMIT');
        return v;
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      } finally {
        depth--;
      }
    },
    // SQLite serializes writers on the file lock (BEGIN IMMEDIATE): nothing more to take.
    withMigrationLock: (fn) => fn(),
    close: async () => {
      db.close();
    },
  };
  return d;
}

/** Open (creating if needed) a SQLite fleet store at `file` and bring its schema up to date. */
export async function openSqliteStore(file: string): Promise<FleetStore> {
  let Database: typeof BetterSqlite3;
  try {
    Database = require('better-sqlite3') as typeof BetterSqlite3;
  } catch (e) {
    throw new KvcpuError('E_FLEET_BACKEND', `SQLite backend unavailable: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'better-sqlite3 did not build on this machine (it needs a C++ compiler at install time); use --db postgres://...',
      cause: e,
    });
  }
  const abs = path.resolve(file);
  let db: BetterSqlite3.Database;
  try {
    mkdirSync(path.dirname(abs), { recursive: true });
    db = new Database(abs);
  } catch (e) {
    throw new KvcpuError('E_FLEET_OPEN', `cannot open SQLite store ${abs}: ${(e as Error).message}`, { hint: 'check the path and its permissions', cause: e });
  }
  // WAL: readers (fleet serve, queries) never wait for an import; foreign keys are off by default in SQLite.
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const d = sqliteDriver(db);
  try {
    await migrate(d);
  } catch (e) {
    db.close();
    throw e;
  }
  return new SqlFleetStore(d);
}
