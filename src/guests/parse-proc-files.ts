/**
 * Parsers for the per-thread /proc files kvcpu reads (proc(5)). Pure: take file text.
 */

export interface ProcStat {
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  /** Field 22: start time in clock ticks after boot. */
  startTime: number;
  /** Field 39: CPU last executed on. */
  psr: number | null;
}

/**
 * Parse /proc/PID[/task/TID]/stat. The comm field is in parentheses and may itself contain
 * spaces and ')' (vCPU threads are named `CPU 0/KVM`), so fields are counted after the LAST
 * ')', as proc(5) advises; `awk '{print $39}'` gets this wrong.
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const f = (n: number): number => Number(rest[n - 3]);
  const psr = rest[39 - 3];
  return {
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: f(4),
    utime: f(14),
    stime: f(15),
    startTime: f(22),
    psr: psr === undefined ? null : Number(psr),
  };
}

export interface ProcStatus {
  cpusAllowedList: string | null;
  voluntarySwitches: number | null;
  involuntarySwitches: number | null;
}

/** Parse the lines kvcpu needs from /proc/.../status. */
export function parseProcStatus(text: string): ProcStatus {
  const out: ProcStatus = { cpusAllowedList: null, voluntarySwitches: null, involuntarySwitches: null };
  for (const line of text.split('\n')) {
    const tab = line.indexOf(':');
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    if (key === 'Cpus_allowed_list') out.cpusAllowedList = line.slice(tab + 1).trim();
    else if (key === 'voluntary_ctxt_switches') out.voluntarySwitches = Number(line.slice(tab + 1));
    else if (key === 'nonvoluntary_ctxt_switches') out.involuntarySwitches = Number(line.slice(tab + 1));
  }
  return out;
}

/** /proc/.../schedstat: "run_ns wait_ns timeslices" (Documentation/scheduler/sched-stats.rst). */
export function parseSchedstat(text: string): { runNs: number; waitNs: number } | null {
  const p = text.trim().split(/\s+/);
  if (p.length < 2) return null;
  const runNs = Number(p[0]);
  const waitNs = Number(p[1]);
  return Number.isFinite(runNs) && Number.isFinite(waitNs) ? { runNs, waitNs } : null;
}

/** se.nr_migrations from /proc/.../sched (only with CONFIG_SCHED_DEBUG). */
export function parseSchedMigrations(text: string): number | null {
  const m = /^se\.nr_migrations\s*:\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}
