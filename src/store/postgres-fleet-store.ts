import { KvcpuError } from '../core/errors.ts';
import type { FleetStore } from './fleet-store.ts';
import { toPgPlaceholders } from './migrations.ts';
import { migrate, SqlFleetStore, type Row, type SqlDriver } from './sql-fleet-store.ts';

type PgModule = typeof import('pg');
type Queryable = { query(sql: string, params?: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }> };

/** An arbitrary but fixed key for pg_advisory_lock: two fleet servers starting together migrate once. */
const MIGRATION_LOCK_KEY = 0x6b76_6370; // "kvcp"

function pgDriver(q: Queryable, pool: import('pg').Pool | null): SqlDriver {
  const d: SqlDriver = {
    backend: 'postgres',
    all: async (sql, params = []) => (await q.query(toPgPlaceholders(sql), params)).rows,
    run: async (sql, params = []) => (await q.query(toPgPlaceholders(sql), params)).rowCount ?? 0,
    transaction: async (fn) => {
      if (!pool) return fn(d); // already inside a transaction on one client
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const v = await fn(pgDriver(client, null));
        await client.query('COMMIT');
        return v;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    withMigrationLock: async (fn) => {
      if (!pool) return fn();
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
        client.release();
      }
    },
    close: async () => {
      if (pool) await pool.end();
    },
  };
  return d;
}

/** Connect to PostgreSQL at `url` and bring the schema up to date (safe with several servers at once). */
export async function openPostgresStore(url: string): Promise<FleetStore> {
  let pg: PgModule;
  try {
    pg = (await import('pg')).default as unknown as PgModule;
  } catch (e) {
    throw new KvcpuError('E_FLEET_BACKEND', `PostgreSQL backend unavailable: ${(e as Error).message}`, {
      hint: 'install kvcpu with its dependencies (npm ci)',
      cause: e,
    });
  }
  const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 5000 });
  // An idle client's network error must not crash a long-running fleet server.
  pool.on('error', () => undefined);
  const d = pgDriver(pool as unknown as Queryable, pool);
  try {
    await d.all('SELECT 1');
    await migrate(d);
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (e instanceof KvcpuError) throw e;
    const safe = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
    throw new KvcpuError('E_FLEET_OPEN', `cannot open PostgreSQL store ${safe}: ${(e as Error).message}`, {
      hint: 'is the server running and the database created? (createdb NAME)',
      cause: e,
    });
  }
  return new SqlFleetStore(d);
}
