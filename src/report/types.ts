/** One section of `kvcpu report`, contributed by a capability folder (src/<cap>/report-section.ts). */
export interface ReportSection {
  /** Stable key in `kvcpu report --json` (host, checks, guests, overcommit, models...). */
  id: string;
  title: string;
  /** The section's JSON (what the capability's own command prints with --json). */
  data: unknown;
  /** Human rendering (already aligned; colour applied by the caller's paint if wanted). */
  text: string;
  /** 'findings' when the section has a FAIL (report then exits 1). */
  status: 'ok' | 'findings' | 'skipped';
}

export interface ReportOptions {
  /** Root prefix for /proc and /sys ("/" = live host). */
  root: string;
  /** True when root is the live host (live-only probes such as /dev/kvm or QEMU processes run). */
  live: boolean;
  color: boolean;
}
