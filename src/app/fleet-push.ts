import { createHash } from 'node:crypto';

export interface FleetPushOptions {
  /** Fleet server base URL (http://fleet.example:10194). */
  url: string;
  token: string;
  /** Push at least this often even when nothing changed (the fleet marks silent hosts stale). */
  intervalMs: number;
  /** The agent's current report (kvcpu/report/1). */
  getReport: () => Promise<unknown>;
  /** What counts as a change worth an early push (default: the report without its timestamps and rates). */
  changeKey?: (report: unknown) => string;
  log?: (line: string) => void;
  /** Backoff after a failed push: first delay, doubled per failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  fetchImpl?: typeof fetch;
  /** Per-request time limit. */
  timeoutMs?: number;
}

export interface PushState {
  pushed: number;
  failures: number;
  lastError: string | null;
  lastPushAt: string | null;
}

/** Fields that change every sample without the host changing: left out of the change key. */
const VOLATILE = new Set([
  'generatedAt',
  'takenAt',
  'psr',
  'psrStale',
  'cpuTicks',
  'waitNs',
  'migrations',
  'state',
  'rates',
  'startTime',
  'voluntarySwitches',
  'involuntarySwitches',
]);

export function defaultChangeKey(report: unknown): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([k]) => !VOLATILE.has(k))
          .map(([k, x]) => [k, strip(x)]),
      );
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(strip(report)))
    .digest('hex');
}

/**
 * The agent's side of the fleet: push the report on start, whenever it changes, and every
 * interval; when the fleet server is down, retry with exponential backoff. Only the newest
 * report is ever sent — a retry takes the report of that moment — so nothing is lost: the
 * fleet gets the current state as soon as it answers again.
 */
export class FleetPusher {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private inFlight: Promise<void> | null = null;
  private lastKey: string | null = null;
  private backoff: number;
  readonly state: PushState = { pushed: 0, failures: 0, lastError: null, lastPushAt: null };

  constructor(private readonly o: FleetPushOptions) {
    this.backoff = o.minBackoffMs ?? 1000;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Called after each sample: pushes at once when the report changed since the last push. */
  async maybePush(): Promise<void> {
    if (this.stopped || this.inFlight) return;
    const report = await this.o.getReport();
    const key = (this.o.changeKey ?? defaultChangeKey)(report);
    if (key !== this.lastKey && this.state.failures === 0) await this.pushNow(report);
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.inFlight ?? Promise.resolve();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pushNow().catch(() => undefined), ms);
    this.timer.unref();
  }

  /** Push the current (or given) report now; reschedules the next push either way. */
  pushNow(report?: unknown): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = (async () => {
      try {
        const r = report ?? (await this.o.getReport());
        const key = (this.o.changeKey ?? defaultChangeKey)(r);
        const f = this.o.fetchImpl ?? fetch;
        const res = await f(new URL('/api/v1/fleet/reports', this.o.url), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.o.token}` },
          body: JSON.stringify(r),
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        });
        if (!res.ok) {
          const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
          throw new Error(`HTTP ${res.status}${body?.error ? ` ${body.error.code}: ${body.error.message}` : ''}`);
        }
        await res.body?.cancel().catch(() => undefined);
        this.lastKey = key;
        if (this.state.failures > 0) this.o.log?.(`fleet push to ${this.o.url} works again after ${this.state.failures} failure(s)`);
        this.state.pushed++;
        this.state.failures = 0;
        this.state.lastError = null;
        this.state.lastPushAt = new Date().toISOString();
        this.backoff = this.o.minBackoffMs ?? 1000;
        this.schedule(this.o.intervalMs);
      } catch (e) {
        this.state.failures++;
        this.state.lastError = e instanceof Error ? e.message : String(e);
        if (this.state.failures === 1 || this.state.failures % 10 === 0)
          this.o.log?.(
            `fleet push to ${this.o.url} failed (${this.state.failures}x): ${this.state.lastError}; retrying in ${Math.round(this.backoff / 1000)} s`,
          );
        this.schedule(this.backoff);
        this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs ?? 60_000);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }
}
