import { parseCpulist } from '../core/cpulist.ts';
import { KvcpuError, isKvcpuError } from '../core/errors.ts';
import { readHost } from '../host/read-host.ts';
import { findGuest } from '../guests/find-guest.ts';
import { hotplugVcpus } from '../guests/hotplug-vcpus.ts';
import { jobsFromPlan, pinGuests, unpinGuest, type PinJob } from '../guests/pin-guests.ts';
import { snapshotGuests } from '../guests/snapshot-guests.ts';
import type { HotplugBody, PinBody, UnpinBody } from './api-schemas.ts';
import type { AuditEntry, AuditLog } from './audit-log.ts';

export type Change = NonNullable<AuditEntry['changes']>[number];

export interface ActionResult {
  ok: true;
  action: 'pin' | 'unpin' | 'hotplug';
  dryRun?: boolean;
  method?: string;
  commands?: string[];
  changes: Change[];
  [k: string]: unknown;
}

export type Who = AuditEntry['who'];

function pinJobs(body: PinBody): PinJob[] {
  if ('plan' in body) return jobsFromPlan(body.plan);
  return [
    {
      guest: String(body.guest),
      spec: {
        vcpus: new Map(Object.entries(body.vcpus).map(([k, v]) => [Number(k), parseCpulist(v)])),
        emulator: body.emulator ? parseCpulist(body.emulator) : null,
        iothreads: new Map(Object.entries(body.iothreads).map(([k, v]) => [k, parseCpulist(v)])),
      },
    },
  ];
}

/**
 * The agent's actions, as thin calls into the guests capability (the same pin/unpin/hotplug
 * code as the CLI, with its all-or-nothing rules and rollback). One action at a time: two
 * requests never interleave on one guest's threads. Every attempt is audited. `idle()`
 * resolves when no action runs, so a SIGTERM can let the running one finish first.
 */
export class ActionRunner {
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly audit: AuditLog,
    private readonly opts: { root?: string; stateDir?: string; afterChange?: () => void } = {},
  ) {}

  get busy(): boolean {
    return this.inFlight > 0;
  }

  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  private run<T extends ActionResult>(action: ActionResult['action'], request: unknown, who: Who, fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    const p = this.chain.then(async () => {
      try {
        const r = await fn();
        this.audit.write({ who, action, outcome: r.dryRun ? 'dry-run' : 'applied', request, changes: r.changes });
        if (!r.dryRun) this.opts.afterChange?.();
        return r;
      } catch (e) {
        const error = isKvcpuError(e) ? { code: e.code, message: e.message } : { code: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
        this.audit.write({ who, action, outcome: 'refused', request, error });
        throw e;
      } finally {
        if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      }
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Audit a request refused before it ran (no token, wrong token, read-only agent). */
  denied(action: ActionResult['action'], who: Who, code: string, message: string): void {
    this.audit.write({ who, action, outcome: 'denied', request: null, error: { code, message } });
  }

  pin(body: PinBody, who: Who): Promise<ActionResult> {
    return this.run('pin', body, who, async () => {
      const jobs = pinJobs(body);
      const host = readHost({ root: this.opts.root ?? '/' });
      const out = await pinGuests(jobs, {
        host,
        ...(this.opts.root ? { root: this.opts.root } : {}),
        ...(this.opts.stateDir ? { stateDir: this.opts.stateDir } : {}),
        dryRun: body.dryRun,
        viaLibvirt: body.viaLibvirt,
        persist: body.config,
      });
      const changes: Change[] = out.dryRun
        ? out.requests.map((r) => ({ guest: r.guest, pid: r.pid, tid: r.tid, what: r.label, before: null, after: r.cpus.join(',') }))
        : (out.result?.applied ?? []).map((a) => ({ guest: a.guest, pid: a.pid, tid: a.tid, what: a.label, before: a.before, after: a.after }));
      return { ok: true as const, action: 'pin' as const, dryRun: out.dryRun, method: out.method, commands: out.commands, changes, statePaths: out.statePaths };
    });
  }

  unpin(body: UnpinBody, who: Who): Promise<ActionResult> {
    return this.run('unpin', body, who, async () => {
      const out = await unpinGuest(String(body.guest), {
        host: readHost({ root: this.opts.root ?? '/' }),
        ...(this.opts.root ? { root: this.opts.root } : {}),
        ...(this.opts.stateDir ? { stateDir: this.opts.stateDir } : {}),
      });
      return {
        ok: true as const,
        action: 'unpin' as const,
        changes: out.restored.map((r) => ({ guest: out.guest, pid: out.pid, tid: r.tid, what: r.label, before: r.from, after: r.now })),
        cgroupErrors: out.cgroupErrors,
      };
    });
  }

  hotplug(body: HotplugBody, who: Who): Promise<ActionResult> {
    return this.run('hotplug', body, who, async () => {
      const root = this.opts.root ?? '/';
      const snap = await snapshotGuests({ root, host: readHost({ root }), full: false, qmp: false });
      const g = findGuest(snap, String(body.guest));
      const out = await hotplugVcpus(g, body.to, { root });
      const { action: change, ...rest } = out;
      return {
        ...rest,
        ok: true as const,
        action: 'hotplug' as const,
        change,
        changes: [{ guest: out.guest, pid: out.pid, tid: null, what: 'vcpus', before: String(out.from), after: String(out.to) }],
      };
    });
  }
}

/** Refuse an action on a read-only agent. */
export function readOnlyError(): KvcpuError {
  return new KvcpuError('E_READ_ONLY', 'this agent is read-only: it was started without --token-file', {
    hint: 'restart `kvcpu serve` with --token-file FILE (mode 0600) to allow pin/unpin/hotplug',
  });
}
