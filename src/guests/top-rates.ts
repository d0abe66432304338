import type { GuestSnapshot, GuestThread } from './types.ts';

export interface TopRow {
  guest: string;
  pid: number;
  tid: number;
  role: GuestThread['role'];
  vcpu: number | null;
  comm: string;
  state: string;
  psr: number | null;
  affinity: string;
  /** Share of one host CPU over the interval, percent. */
  cpuPct: number;
  migrationsPerSec: number | null;
  /** Time spent runnable but waiting for a CPU, percent of the interval (host-side steal). */
  waitPct: number | null;
}

/**
 * Per-thread rates between two snapshots (pure). Threads that appear only in `cur` (new,
 * e.g. hot-plugged) get rates from zero; threads gone from `cur` are dropped.
 */
export function computeTopRows(prev: GuestSnapshot, cur: GuestSnapshot, roles: GuestThread['role'][] = ['vcpu']): TopRow[] {
  const dtSec = Math.max(1e-3, (cur.takenAtMs - prev.takenAtMs) / 1000);
  const old = new Map<string, GuestThread>();
  for (const g of prev.guests) for (const t of g.threads) old.set(`${g.pid}/${g.startTime}/${t.tid}`, t);
  const rows: TopRow[] = [];
  for (const g of cur.guests) {
    for (const t of g.threads) {
      if (!roles.includes(t.role)) continue;
      const p = old.get(`${g.pid}/${g.startTime}/${t.tid}`);
      const dTicks = p ? t.cpuTicks - p.cpuTicks : 0;
      const dMig = p && t.migrations !== null && p.migrations !== null ? t.migrations - p.migrations : null;
      const dWait = p && t.waitNs !== null && p.waitNs !== null ? t.waitNs - p.waitNs : null;
      rows.push({
        guest: g.name,
        pid: g.pid,
        tid: t.tid,
        role: t.role,
        vcpu: t.vcpu,
        comm: t.comm,
        state: t.state,
        psr: t.psr,
        affinity: t.affinity,
        cpuPct: Math.round((dTicks / cur.ticksPerSecond / dtSec) * 100 * 10) / 10,
        migrationsPerSec: dMig === null ? null : Math.round((dMig / dtSec) * 10) / 10,
        waitPct: dWait === null ? null : Math.round((dWait / 1e9 / dtSec) * 100 * 10) / 10,
      });
    }
  }
  return rows;
}
