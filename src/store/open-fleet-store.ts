import { KvcpuError } from '../core/errors.ts';
import type { FleetStore } from './fleet-store.ts';

/** `postgres://` and `postgresql://` URLs open PostgreSQL; anything else is a SQLite file path. */
export async function openFleetStore(db: string): Promise<FleetStore> {
  if (db.trim() === '') throw new KvcpuError('E_USAGE', '--db is empty', { hint: 'give a SQLite file (fleet.db) or postgres://user@host:port/db' });
  if (/^postgres(ql)?:\/\//i.test(db)) {
    const { openPostgresStore } = await import('./postgres-fleet-store.ts');
    return openPostgresStore(db);
  }
  const { openSqliteStore } = await import('./sqlite-fleet-store.ts');
  return openSqliteStore(db);
}

/** The default SQLite file: $KVCPU_FLEET_DB, else ./kvcpu-fleet.db. */
export function defaultFleetDb(): string {
  return process.env.KVCPU_FLEET_DB || 'kvcpu-fleet.db';
}
