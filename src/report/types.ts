import type { HostSnapshot } from '../host/types.ts';

/** One section of `kvcpu report`, contributed by a capability folder (src/<cap>/report-section.ts). */
export interface ReportSection<T = unknown> {
  /** Stable key in `kvcpu report --json` (host, checks, guests, overcommit, models...). */
  id: string;
  title: string;
  /** The section's JSON (what the capability's own command prints with --json); null when skipped. */
  data: T | null;
  /** Human rendering (already aligned; colour applied by the caller's paint if wanted). */
  text: string;
  /** 'findings' when the section has a FAIL (report then exits 1). */
  status: 'ok' | 'findings' | 'skipped';
  /** Why a section was skipped (not applicable here), in words. */
  reason?: string;
  /** The error that stopped a section (the report carries on with the others). */
  error?: { code: string; message: string; hint?: string; details?: Record<string, unknown> };
}

export interface ReportOptions {
  /** Root prefix for /proc and /sys ("/" = live host). */
  root: string;
  /** True when root is the live host (live-only probes such as /dev/kvm or QEMU processes run). */
  live: boolean;
  color: boolean;
  /**
   * The host snapshot of this report, read once and shared by every section (app/report.ts
   * passes a memo; a section called alone reads the host itself). Throws like readHost.
   */
  host?: () => HostSnapshot;
}
