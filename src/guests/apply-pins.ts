import { formatCpulist } from '../core/cpulist.ts';
import { KvcpuError, type ErrorCode } from '../core/errors.ts';
import type { AffinityEdge } from './affinity-edge.ts';
import type { PinRequest } from './build-pin-requests.ts';
import type { CpusetManager } from './cgroup-cpuset.ts';
import { cgroupLeafFor, readThreadCgroup } from './cgroup-cpuset.ts';
import { readProcStat } from './scan-proc.ts';

export interface AppliedPin {
  guest: string;
  pid: number;
  tid: number;
  comm: string;
  label: string;
  before: string;
  after: string;
}

export interface PinResult {
  method: string;
  applied: AppliedPin[];
}

export interface ApplyOptions {
  edge: AffinityEdge;
  root?: string;
  /** Also place each thread in a per-guest cpuset cgroup. */
  cgroup?: CpusetManager | null;
}

function same(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function errCode(e: unknown): string {
  return String((e as { code?: unknown })?.code ?? 'EIO');
}

/**
 * Pin all requested threads or none. Order: check every process is still the one scanned
 * (pid + start time) and read each thread's current affinity; then set each (after moving it
 * into its cgroup leaf with --cgroup); then re-read every Cpus_allowed_list. Any failure on
 * the way (a thread that died, EINVAL from a cpuset, a mismatch on re-read) rolls back every
 * change already made and throws E_PIN_FAILED with what happened.
 */
export async function applyPins(reqs: PinRequest[], opts: ApplyOptions): Promise<PinResult> {
  const root = opts.root ?? '/';
  const { edge } = opts;
  // 1. Identity and current affinity, before touching anything.
  const before = new Map<number, number[]>();
  for (const r of reqs) {
    const st = readProcStat(root, r.pid);
    if (!st || st.startTime !== r.startTime || st.state === 'Z') {
      throw new KvcpuError('E_PIN_GUEST_GONE', `guest ${r.guest} (pid ${r.pid}) exited before pinning started; nothing was changed`, {
        hint: 'run `kvcpu ps` and retry',
      });
    }
    const cur = await edge.get(r.pid, r.tid);
    if (!cur) {
      throw new KvcpuError('E_PIN_THREAD_GONE', `${r.guest} ${r.label} (tid ${r.tid}) exited before pinning started; nothing was changed`, {
        hint: 'run `kvcpu ps` and retry',
      });
    }
    before.set(r.tid, cur);
  }

  const done: PinRequest[] = [];
  const rollback = async (): Promise<string[]> => {
    const problems: string[] = [];
    // cgroup moves first: an old affinity outside the leaf's cpuset would fail with EINVAL.
    if (opts.cgroup) problems.push(...opts.cgroup.undo());
    for (const r of [...done].reverse()) {
      try {
        await edge.set(r.tid, before.get(r.tid)!);
      } catch (e) {
        if (errCode(e) !== 'ESRCH') problems.push(`${r.guest} ${r.label} (tid ${r.tid}): ${(e as Error).message}`);
      }
    }
    return problems;
  };
  const fail = async (code: ErrorCode, message: string, extra: Record<string, unknown>): Promise<never> => {
    const rolledBack = done.map((r) => `${r.guest} ${r.label} (tid ${r.tid})`);
    const rollbackErrors = await rollback();
    throw new KvcpuError(
      code,
      `${message}; rolled back ${rolledBack.length} thread(s)${rollbackErrors.length ? `, rollback problems: ${rollbackErrors.join('; ')}` : ''}`,
      {
        hint: 'nothing stays changed (except threads that died); check `kvcpu ps` and retry',
        details: { ...extra, rolledBack, rollbackErrors },
      },
    );
  };

  // 2. Apply.
  for (const r of reqs) {
    // Counted as done before the call: a failing set may have half-applied (cgroup moved).
    done.push(r);
    try {
      if (opts.cgroup) {
        const from = readThreadCgroup(root, opts.cgroup.mount, r.pid, r.tid);
        if (from === null) throw Object.assign(new Error('thread vanished'), { code: 'ESRCH' });
        opts.cgroup.place(`${r.guest}.${r.pid}`, cgroupLeafFor(r), r.pid, r.tid, from, formatCpulist(r.cpus));
      }
      await edge.set(r.tid, r.cpus);
    } catch (e) {
      const code = errCode(e);
      const why =
        code === 'ESRCH'
          ? 'the thread exited'
          : code === 'EINVAL'
            ? 'the kernel refused the CPU set (outside its cpuset?)'
            : code === 'EPERM'
              ? 'permission denied (needs root or CAP_SYS_NICE)'
              : (e as Error).message;
      await fail('E_PIN_FAILED', `pinning ${r.guest} ${r.label} (tid ${r.tid}) to ${formatCpulist(r.cpus)} failed: ${why}`, {
        failed: { tid: r.tid, pid: r.pid, errno: code },
      });
    }
  }

  // 3. Verify from /proc.
  const applied: AppliedPin[] = [];
  for (const r of reqs) {
    // A killed process lingers as a zombie whose leader still has a status file: gone too.
    const alive = readProcStat(root, r.pid);
    const now = alive && alive.state !== 'Z' && alive.startTime === r.startTime ? await edge.get(r.pid, r.tid) : null;
    if (!now || !same(now, r.cpus)) {
      await fail(
        'E_PIN_FAILED',
        `verification failed for ${r.guest} ${r.label} (tid ${r.tid}): Cpus_allowed_list is ${now ? formatCpulist(now) : 'gone (thread exited)'}, wanted ${formatCpulist(r.cpus)}`,
        {
          failed: { tid: r.tid, pid: r.pid, errno: now ? 'MISMATCH' : 'ESRCH' },
        },
      );
    }
    applied.push({
      guest: r.guest,
      pid: r.pid,
      tid: r.tid,
      comm: r.comm,
      label: r.label,
      before: formatCpulist(before.get(r.tid)!),
      after: formatCpulist(now!),
    });
  }
  return { method: edge.method, applied };
}
