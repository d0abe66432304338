import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpulist } from '../core/cpulist.ts';
import { gatherCheckFacts } from '../check/gather-check-facts.ts';
import { checksJson } from '../check/render-checks.ts';
import { runChecks } from '../check/run-checks.ts';
import type { Check } from '../check/types.ts';
import { readHost } from '../host/read-host.ts';
import type { HostSnapshot } from '../host/types.ts';
import { assessOvercommit, type OvercommitReport } from '../guests/assess-overcommit.ts';
import { GuestScanCache } from '../guests/guest-scan-cache.ts';
import { snapshotGuests } from '../guests/snapshot-guests.ts';
import type { GuestProcess, GuestSnapshot, GuestThread } from '../guests/types.ts';

/** Per-thread rates between two samples (null on a thread's first sample). */
export interface ThreadRate {
  /** Share of one host CPU the thread used (utime+stime), percent. */
  cpuPct: number | null;
  /** Time spent runnable but waiting for a CPU (schedstat), percent of wall time: the guest's steal. */
  waitPct: number | null;
  migrationsPerSec: number | null;
}

/** One reading of the host: every endpoint, metric and the dashboard serve from the latest one. */
export interface Sample {
  seq: number;
  /** Wall-clock time of the reading (ISO 8601). */
  takenAt: string;
  /** Monotonic ms of the reading (performance.now()). */
  takenAtMs: number;
  /** How long the /proc + /sys walk took. */
  durationMs: number;
  host: HostSnapshot;
  online: number[];
  isolated: number[];
  guests: GuestSnapshot;
  /** Computed on first use and kept with the sample. */
  readonly overcommit: OvercommitReport;
  /** Readiness checks (refreshed every `checksEveryMs`, they do not change per second); null until the first run ends. */
  checks: { checks: Check[] } | null;
  /** Keyed by `${pid}:${tid}`. */
  rates: Map<string, ThreadRate>;
}

export interface SamplerOptions {
  intervalMs: number;
  /** Root prefix (tests); live probes (QMP, /dev/kvm) only run for "/". */
  root?: string;
  checksEveryMs?: number;
  /** Run the /dev/kvm VM-creation probe in the readiness checks (default true on "/"). */
  probeKvm?: boolean;
  /** Serve only the guests this accepts (an embedding that owns some of the host's guests; tests on a shared machine). Default: every QEMU guest. */
  guestFilter?: (g: GuestProcess) => boolean;
}

interface Prev {
  ticks: number;
  waitNs: number | null;
  migrations: number | null;
  atMs: number;
  startTime: number;
}

function rateOf(t: GuestThread, prev: Prev | undefined, startTime: number, nowMs: number, hz: number): ThreadRate {
  if (!prev || prev.startTime !== startTime) return { cpuPct: null, waitPct: null, migrationsPerSec: null };
  const dt = (nowMs - prev.atMs) / 1000;
  if (dt <= 0) return { cpuPct: null, waitPct: null, migrationsPerSec: null };
  const pct = (x: number) => Math.max(0, Math.round(x * 1000) / 10);
  return {
    cpuPct: pct((t.cpuTicks - prev.ticks) / hz / dt),
    waitPct: t.waitNs !== null && prev.waitNs !== null ? pct((t.waitNs - prev.waitNs) / 1e9 / dt) : null,
    migrationsPerSec: t.migrations !== null && prev.migrations !== null ? Math.max(0, Math.round(((t.migrations - prev.migrations) / dt) * 100) / 100) : null,
  };
}

/**
 * The agent's one sampler: reads /proc and /sys once per interval (host CPUs, every QEMU
 * guest's threads with schedstat and migrations) and keeps the latest reading. Scrapes,
 * API calls and the page never walk /proc themselves, so N clients cost one walk per
 * interval. Guests and threads that appear or vanish between readings are normal.
 * Emits 'sample' with each new Sample.
 */
export class Sampler extends EventEmitter {
  readonly intervalMs: number;
  private readonly root: string;
  private readonly checksEveryMs: number;
  private readonly probeKvm: boolean;
  private readonly guestFilter: ((g: GuestProcess) => boolean) | null;
  private current: Sample | null = null;
  private prev = new Map<string, Prev>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Sample> | null = null;
  private checks: { checks: Check[] } | null = null;
  private checksAt = -Infinity;
  private checksRunning = false;
  private seq = 0;
  private stopped = false;
  private host: { snap: HostSnapshot; online: string | null; atMs: number } | null = null;
  /** What stays the same between samples (command lines, thread roles, open /proc descriptors). */
  private readonly scanCache: GuestScanCache;

  constructor(opts: SamplerOptions) {
    super();
    this.intervalMs = opts.intervalMs;
    this.root = opts.root ?? '/';
    this.checksEveryMs = opts.checksEveryMs ?? 300_000;
    this.probeKvm = opts.probeKvm ?? this.root === '/';
    this.scanCache = new GuestScanCache(this.root);
    this.guestFilter = opts.guestFilter ?? null;
  }

  /** Take the first sample, then one per interval. */
  async start(): Promise<Sample> {
    this.stopped = false;
    const first = await this.sampleNow();
    this.schedule();
    return first;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sampleNow()
        .catch((e: unknown) => this.emit('error', e))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A read in flight closes them when it ends (it uses the descriptors).
    if (!this.running) this.scanCache.close();
  }

  /** The latest sample (throws before the first one: start() awaits it). */
  latest(): Sample {
    if (!this.current) throw new Error('sampler not started');
    return this.current;
  }

  /** Read now (after an action, so the page shows its effect without waiting an interval). Concurrent callers share one walk. */
  sampleNow(): Promise<Sample> {
    this.running ??= this.read().finally(() => {
      this.running = null;
      // Stopped: give the kept /proc descriptors back (a later read opens what it needs).
      if (this.stopped) this.scanCache.close();
    });
    return this.running;
  }

  private refreshChecks(): void {
    if (this.checksRunning || performance.now() - this.checksAt < this.checksEveryMs) return;
    this.checksRunning = true;
    gatherCheckFacts({ root: this.root, live: this.root === '/', probe: this.probeKvm })
      .then((facts) => {
        this.checks = checksJson(runChecks(facts));
        this.checksAt = performance.now();
      })
      .catch((e: unknown) => this.emit('error', e))
      .finally(() => {
        this.checksRunning = false;
      });
  }

  /**
   * The host's CPUs change rarely (hotplug, offlining): re-read the whole /sys topology when the
   * kernel's online list changes, else every 30 s; each interval costs one small file read.
   */
  private readHostCached(): HostSnapshot {
    let online: string | null;
    try {
      online = readFileSync(join(this.root, 'sys/devices/system/cpu/online'), 'latin1');
    } catch {
      online = null;
    }
    const now = performance.now();
    if (!this.host || online === null || online !== this.host.online || now - this.host.atMs > 30_000) {
      this.host = { snap: readHost({ root: this.root }), online, atMs: now };
    }
    return this.host.snap;
  }

  private async read(): Promise<Sample> {
    const t0 = performance.now();
    this.refreshChecks();
    const host = this.readHostCached();
    const guests = await snapshotGuests({ root: this.root, host, qmp: this.root === '/', cache: this.scanCache });
    if (this.guestFilter) guests.guests = guests.guests.filter(this.guestFilter);
    const online = parseCpulist(host.cpus.online);
    const isolated = host.cpus.isolated ? parseCpulist(host.cpus.isolated) : [];
    const now = guests.takenAtMs;
    const rates = new Map<string, ThreadRate>();
    const next = new Map<string, Prev>();
    for (const g of guests.guests) {
      for (const t of g.threads) {
        const key = `${g.pid}:${t.tid}`;
        // Identity of the thread, not only of its process: a tid re-used by a new thread of the
        // same guest starts its rates afresh instead of counting from the old thread's ticks.
        const start = guests.threadStarts?.get(t.tid) ?? g.startTime;
        rates.set(key, rateOf(t, this.prev.get(key), start, now, guests.ticksPerSecond));
        next.set(key, { ticks: t.cpuTicks, waitNs: t.waitNs, migrations: t.migrations, atMs: now, startTime: start });
      }
    }
    this.prev = next;
    let overcommit: OvercommitReport | undefined;
    const sample: Sample = {
      seq: ++this.seq,
      takenAt: new Date().toISOString(),
      takenAtMs: now,
      durationMs: Math.round((performance.now() - t0) * 100) / 100,
      host,
      online,
      isolated,
      guests,
      // Built when something asks (a scrape, the page, the API), once per sample: an agent
      // nobody looks at does not assess overcommit every interval.
      get overcommit() {
        return (overcommit ??= assessOvercommit(guests, online));
      },
      checks: this.checks,
      rates,
    };
    this.current = sample;
    this.emit('sample', sample);
    return sample;
  }
}

/** A guest's vCPU threads in vCPU order. */
export function vcpuThreads(g: GuestProcess): GuestThread[] {
  return g.threads.filter((t) => t.role === 'vcpu').sort((a, b) => (a.vcpu ?? -1) - (b.vcpu ?? -1));
}

/** True when the thread may run on fewer CPUs than are online (it has been pinned). */
export function isPinned(affinity: string, online: number[]): boolean {
  if (!affinity) return false;
  const a = parseCpulist(affinity);
  const on = new Set(online);
  return a.filter((c) => on.has(c)).length < on.size;
}
