import type { KvcpuError } from '../core/errors.ts';
import type { FleetHostSummary, FleetRecord, StoredCpu } from '../app/fleet-record.ts';

/** One host as the store knows it now: its latest report's summary and CPU. */
export interface StoredHost {
  summary: FleetHostSummary;
  cpuDigest: string;
  /** When the store last received a report from or about this host (ISO 8601, UTC). */
  lastSeen: string;
  firstSeen: string;
  /** Reports kept for this host (history). */
  reports: number;
}

export interface PutResult {
  host: string;
  /** false: this exact report was already stored (re-import is a no-op). */
  stored: boolean;
}

export interface PutOptions {
  /**
   * Allow a report to carry a machine-id already stored under another host name (the host was
   * renamed). Without it such a report is refused: it could overwrite another host's state.
   */
  allowRename?: boolean;
  /** The time the store records as received (default now). */
  receivedAt?: Date;
}

export interface HistoryEntry {
  digest: string;
  receivedAt: string;
  generatedAt: string | null;
  summary: FleetHostSummary;
}

/**
 * The fleet store: SQLite (one file, the default) or PostgreSQL (many writers and readers, several
 * fleet servers on one database). Both run the same SQL (see migrations.ts); everything the
 * fleet server knows lives here, so replicas share nothing else.
 */
export interface FleetStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Store one report atomically: the host row, its CPU and the history row, or nothing. */
  put(record: FleetRecord, opts?: PutOptions): Promise<PutResult>;
  /** Several reports in one transaction per call (import batches); refused records abort nothing else. */
  putMany(records: FleetRecord[], opts?: PutOptions): Promise<(PutResult | KvcpuError)[]>;
  /** Every host's current state, sorted by name. */
  hosts(): Promise<StoredHost[]>;
  /** The distinct CPUs the hosts reference, by digest. */
  cpus(digests?: string[]): Promise<Map<string, StoredCpu>>;
  /** A host's latest stored report input (a `kvcpu report --json` document) or null. */
  latestReport(name: string): Promise<unknown>;
  history(name: string, limit?: number): Promise<HistoryEntry[]>;
  /** Schema version after migrations. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
