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
  // The kernel separates fields with one space (fs/proc/array.c do_task_stat); anything else
  // (a capture that was edited, a fuzzed file) takes the general split.
  const body = text.slice(close + 2).trimEnd();
  const rest = /^\S+(?: \S+)*$/.test(body) ? body.split(' ') : body.trim().split(/\s+/);
  // rest[0] is field 3 (state), so field n is rest[n - 3]. A truncated or garbled line (the
  // task exited mid-read, a fuzzed file) is "unreadable" (null), never NaN fields.
  const f = (n: number): number => (/^\d{1,19}$/.test(rest[n - 3] ?? '') ? Number(rest[n - 3]) : NaN);
  const fields = { ppid: f(4), utime: f(14), stime: f(15), startTime: f(22) };
  if (!/^[A-Za-z]$/.test(rest[0] ?? '') || Object.values(fields).some((v) => Number.isNaN(v))) return null;
  const psr = f(39);
  return {
    comm: text.slice(open + 1, close),
    state: rest[0]!,
    ...fields,
    psr: Number.isNaN(psr) ? null : psr,
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
    else if (key === 'voluntary_ctxt_switches') out.voluntarySwitches = count(line.slice(tab + 1));
    else if (key === 'nonvoluntary_ctxt_switches') out.involuntarySwitches = count(line.slice(tab + 1));
  }
  return out;
}

/** A kernel counter (unsigned decimal), null when the text is anything else. */
function count(text: string): number | null {
  const t = text.trim();
  return /^\d{1,20}$/.test(t) ? Number(t) : null;
}

/** /proc/.../schedstat: "run_ns wait_ns timeslices" (Documentation/scheduler/sched-stats.rst). */
export function parseSchedstat(text: string): { runNs: number; waitNs: number } | null {
  const p = text.trim().split(/\s+/);
  if (p.length < 2) return null;
  const runNs = count(p[0]!);
  const waitNs = count(p[1]!);
  return runNs !== null && waitNs !== null ? { runNs, waitNs } : null;
}

/**
 * The counters kvcpu takes from /proc/.../sched (only with CONFIG_SCHED_DEBUG; kernel/sched/debug.c
 * proc_sched_show_task): se.nr_migrations and the voluntary/involuntary switch counts, which are
 * the same p->nvcsw/p->nivcsw as status' voluntary_ctxt_switches/nonvoluntary_ctxt_switches.
 */
export function parseSchedCounters(text: string): { migrations: number | null; voluntarySwitches: number | null; involuntarySwitches: number | null } {
  return {
    migrations: schedField(text, 'se.nr_migrations'),
    voluntarySwitches: schedField(text, 'nr_voluntary_switches'),
    involuntarySwitches: schedField(text, 'nr_involuntary_switches'),
  };
}

/** `NAME   :   123` at the start of a line of /proc/.../sched; null when absent. */
function schedField(text: string, name: string): number | null {
  let at = text.indexOf(name);
  while (at > 0 && text.charCodeAt(at - 1) !== 10) at = text.indexOf(name, at + 1);
  if (at < 0) return null;
  const eol = text.indexOf('\n', at);
  const m = /^\s*:\s*(\d{1,20})\s*$/.exec(text.slice(at + name.length, eol < 0 ? text.length : eol));
  return m ? Number(m[1]) : null;
}

/** se.nr_migrations from /proc/.../sched (only with CONFIG_SCHED_DEBUG). */
export function parseSchedMigrations(text: string): number | null {
  const m = /^se\.nr_migrations\s*:\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}
