/**
 * The fleet schema, as numbered migrations applied in order on open. Every statement is plain
 * SQL that SQLite 3.53 and PostgreSQL 15 both run unchanged: text keys (host names and sha256
 * digests, no serial ids), ISO 8601 UTC timestamps as text (they sort as they compare), JSON as
 * text (the store parses it; queries need no JSON operators), partial unique indexes.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'hosts, cpus, reports',
    statements: [
      `CREATE TABLE cpus (
        digest TEXT PRIMARY KEY,
        cpu TEXT NOT NULL
      )`,
      `CREATE TABLE hosts (
        name TEXT PRIMARY KEY,
        machine_id TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        latest_digest TEXT NOT NULL,
        cpu_digest TEXT NOT NULL REFERENCES cpus(digest),
        summary TEXT NOT NULL,
        report_count INTEGER NOT NULL DEFAULT 0
      )`,
      // One machine-id is one machine: a second host name claiming it is a rename or a lie.
      `CREATE UNIQUE INDEX hosts_machine_id ON hosts (machine_id) WHERE machine_id IS NOT NULL`,
      `CREATE TABLE reports (
        host TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        received_at TEXT NOT NULL,
        generated_at TEXT,
        cpu_digest TEXT NOT NULL REFERENCES cpus(digest),
        summary TEXT NOT NULL,
        report TEXT,
        PRIMARY KEY (host, digest)
      )`,
      `CREATE INDEX reports_host_received ON reports (host, received_at)`,
    ],
  },
];

export const SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS kvcpu_schema (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** `?` placeholders (SQLite) as `$1, $2...` (PostgreSQL): the statements are written once. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
