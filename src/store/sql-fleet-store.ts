import { isKvcpuError, KvcpuError } from '../core/errors.ts';
import { FLEET_HOST_SCHEMA_ID, FleetHostSummarySchema, StoredCpuSchema, type FleetHostSummary, type FleetRecord, type StoredCpu } from '../app/fleet-record.ts';
import type { FleetStore, HistoryEntry, PutOptions, PutResult, StoredHost } from './fleet-store.ts';
import { MIGRATIONS, SCHEMA_TABLE } from './migrations.ts';

export type Row = Record<string, unknown>;

/** What a backend gives the shared store logic: one connection's worth of SQL with `?` placeholders. */
export interface SqlDriver {
  readonly backend: 'sqlite' | 'postgres';
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Run `fn` in one transaction (serializable enough for an upsert of one host). */
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
  /** Serialize migrations across processes (an advisory lock on PostgreSQL; SQLite locks the file). */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function parseJson<T>(text: unknown, schema: { parse(v: unknown): T }, what: string): T {
  try {
    return schema.parse(JSON.parse(String(text)));
  } catch (e) {
    throw new KvcpuError('E_FLEET_CORRUPT', `the store holds an unreadable ${what}: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'was the database written by a newer kvcpu? `kvcpu fleet hosts --db DB` names the schema version',
      cause: e,
    });
  }
}

/**
 * A summary row the store wrote itself: its schema id says which shape it has, so 10,000 rows are
 * not re-validated field by field on every query (zod would cost more than the query); any other
 * row is validated and refused with E_FLEET_CORRUPT when it does not fit.
 */
function parseSummary(text: unknown, what: string): FleetHostSummary {
  try {
    const v = JSON.parse(String(text)) as { schema?: unknown };
    if (v && v.schema === FLEET_HOST_SCHEMA_ID && typeof (v as { name?: unknown }).name === 'string') return v as FleetHostSummary;
  } catch {
    // fall through to the validating parse, which reports the error
  }
  return parseJson(text, FleetHostSummarySchema, what);
}

/** Apply every migration the database lacks, in order, each in its own transaction. */
export async function migrate(d: SqlDriver): Promise<number> {
  return d.withMigrationLock(async () => {
    await d.run(SCHEMA_TABLE);
    const done = new Set((await d.all('SELECT version FROM kvcpu_schema')).map((r) => Number(r.version)));
    const newest = Math.max(0, ...done);
    const known = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (newest > known) {
      throw new KvcpuError('E_FLEET_SCHEMA_NEWER', `the store's schema is version ${newest}; this kvcpu knows up to ${known}`, {
        hint: 'upgrade kvcpu on this machine (a newer kvcpu migrated the store)',
      });
    }
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await d.transaction(async (tx) => {
        for (const s of m.statements) await tx.run(s);
        await tx.run('INSERT INTO kvcpu_schema (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
      });
    }
    return known;
  });
}

/** The store logic, written once over SqlDriver: the two backends differ only in their driver. */
export class SqlFleetStore implements FleetStore {
  readonly backend: 'sqlite' | 'postgres';
  constructor(private readonly d: SqlDriver) {
    this.backend = d.backend;
  }

  async put(record: FleetRecord, opts: PutOptions = {}): Promise<PutResult> {
    return this.d.transaction((tx) => this.putIn(tx, record, opts));
  }

  async putMany(records: FleetRecord[], opts: PutOptions = {}): Promise<(PutResult | KvcpuError)[]> {
    const out: (PutResult | KvcpuError)[] = [];
    // One transaction for the batch is far faster on SQLite; a refused record must not undo the
    // others, so each record runs first as a check and refusals are reported, not thrown.
    await this.d.transaction(async (tx) => {
      for (const r of records) {
        try {
          out.push(await this.putIn(tx, r, opts));
        } catch (e) {
          if (!isKvcpuError(e)) throw e;
          out.push(e as KvcpuError);
        }
      }
    });
    return out;
  }

  private async putIn(tx: SqlDriver, r: FleetRecord, opts: PutOptions): Promise<PutResult> {
    const name = r.summary.name;
    const now = (opts.receivedAt ?? new Date()).toISOString();
    const existing = await tx.all('SELECT digest FROM reports WHERE host = ? AND digest = ?', [name, r.digest]);
    if (existing.length > 0) return { host: name, stored: false };
    const mid = r.summary.machineId;
    let renamedFrom: string | null = null;
    if (mid) {
      const owner = await tx.all('SELECT name FROM hosts WHERE machine_id = ? AND name <> ?', [mid, name]);
      if (owner.length > 0) {
        if (!opts.allowRename) {
          throw new KvcpuError(
            'E_FLEET_MACHINE_ID_TAKEN',
            `host ${JSON.stringify(name)} claims machine-id ${mid}, which belongs to ${JSON.stringify(owner[0]!.name)}`,
            {
              hint: 'a renamed host: import with --rename (fleet server: with the token); otherwise the report is not this machine',
            },
          );
        }
        // A rename keeps one machine one host: the old name's history moves under the new name
        // (below, once the new host row exists) and the old name goes.
        renamedFrom = String(owner[0]!.name);
        await tx.run('UPDATE hosts SET machine_id = NULL WHERE name = ?', [renamedFrom]);
      }
    }
    await tx.run('INSERT INTO cpus (digest, cpu) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING', [r.cpuDigest, JSON.stringify(r.cpu)]);
    const summary = JSON.stringify(r.summary);
    const generated = r.summary.generatedAt;
    const prev = await tx.all('SELECT r.generated_at FROM hosts h LEFT JOIN reports r ON r.host = h.name AND r.digest = h.latest_digest WHERE h.name = ?', [
      name,
    ]);
    if (prev.length === 0) {
      // The host row comes first: reports reference it.
      await tx.run('INSERT INTO hosts (name, machine_id, first_seen, last_seen, latest_digest, cpu_digest, summary) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        name,
        mid,
        now,
        now,
        r.digest,
        r.cpuDigest,
        summary,
      ]);
    }
    await tx.run('INSERT INTO reports (host, digest, received_at, generated_at, cpu_digest, summary, report) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      name,
      r.digest,
      now,
      generated,
      r.cpuDigest,
      summary,
      r.report === null || r.report === undefined ? null : JSON.stringify(r.report),
    ]);
    await tx.run('UPDATE hosts SET report_count = report_count + 1 WHERE name = ?', [name]);
    if (renamedFrom !== null) {
      await tx.run('UPDATE reports SET host = ? WHERE host = ?', [name, renamedFrom]);
      await tx.run('UPDATE hosts SET report_count = report_count + (SELECT report_count FROM hosts WHERE name = ?) WHERE name = ?', [renamedFrom, name]);
      await tx.run('DELETE FROM hosts WHERE name = ?', [renamedFrom]);
    }
    if (prev.length > 0) {
      // The newest report wins: an agent's queued report that arrives after a fresher one is
      // history only, it does not become the host's current state.
      const prevGenerated = (prev[0]!.generated_at as string | null) ?? null;
      const newer = !prevGenerated || !generated || generated >= prevGenerated;
      if (newer) {
        await tx.run('UPDATE hosts SET machine_id = ?, last_seen = ?, latest_digest = ?, cpu_digest = ?, summary = ? WHERE name = ?', [
          mid,
          now,
          r.digest,
          r.cpuDigest,
          summary,
          name,
        ]);
      } else {
        await tx.run('UPDATE hosts SET last_seen = ? WHERE name = ?', [now, name]);
      }
    }
    return { host: name, stored: true };
  }

  async hosts(): Promise<StoredHost[]> {
    const rows = await this.d.all('SELECT name, first_seen, last_seen, cpu_digest, summary, report_count AS n FROM hosts ORDER BY name');
    return rows.map((r) => ({
      summary: parseSummary(r.summary, `summary of host ${String(r.name)}`),
      cpuDigest: String(r.cpu_digest),
      lastSeen: String(r.last_seen),
      firstSeen: String(r.first_seen),
      reports: Number(r.n),
    }));
  }

  async cpus(digests?: string[]): Promise<Map<string, StoredCpu>> {
    const rows = await this.d.all('SELECT digest, cpu FROM cpus');
    const want = digests ? new Set(digests) : null;
    const out = new Map<string, StoredCpu>();
    for (const r of rows) {
      const dg = String(r.digest);
      if (want && !want.has(dg)) continue;
      out.set(dg, parseJson(r.cpu, StoredCpuSchema, `CPU ${dg.slice(0, 12)}`));
    }
    return out;
  }

  async latestReport(name: string): Promise<unknown> {
    const rows = await this.d.all('SELECT r.report FROM reports r JOIN hosts h ON h.name = r.host AND h.latest_digest = r.digest WHERE h.name = ?', [name]);
    if (rows.length === 0 || rows[0]!.report === null) return null;
    return JSON.parse(String(rows[0]!.report));
  }

  async history(name: string, limit = 100): Promise<HistoryEntry[]> {
    const rows = await this.d.all('SELECT digest, received_at, generated_at, summary FROM reports WHERE host = ? ORDER BY received_at DESC, digest LIMIT ?', [
      name,
      Math.max(1, Math.min(limit, 10_000)),
    ]);
    return rows.map((r) => ({
      digest: String(r.digest),
      receivedAt: String(r.received_at),
      generatedAt: r.generated_at === null ? null : String(r.generated_at),
      summary: parseSummary(r.summary, `history of ${name}`),
    }));
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.d.all('SELECT MAX(version) AS v FROM kvcpu_schema');
    return Number(rows[0]?.v ?? 0);
  }

  close(): Promise<void> {
    return this.d.close();
  }
}
