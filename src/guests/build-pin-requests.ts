import { formatCpulist, MAX_CPUS, parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import type { GuestProcess } from './types.ts';

/** What the user asked for one guest: vCPU index -> CPUs, emulator CPUs, iothread id -> CPUs. */
export interface GuestPinSpec {
  vcpus: Map<number, number[]>;
  emulator: number[] | null;
  iothreads: Map<string, number[]>;
}

/** One thread to pin. */
export interface PinRequest {
  pid: number;
  /** Process start time: guards against PID reuse between scan and apply. */
  startTime: number;
  guest: string;
  tid: number;
  comm: string;
  /** `vcpu 0`, `emulator`, `iothread iot0`. */
  label: string;
  role: 'vcpu' | 'emulator' | 'iothread';
  vcpu: number | null;
  iothread: string | null;
  cpus: number[];
}

/** Parse repeated `N=CPULIST` options (`--vcpu 0=2`). */
export function parseAssignments(values: string[], what: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) {
      throw new KvcpuError('E_BAD_INPUT', `--${what} ${v}: expected ${what === 'vcpu' ? 'N' : 'ID'}=CPULIST`, {
        hint: `e.g. --${what} ${what === 'vcpu' ? '0' : 'iot0'}=2-3`,
      });
    }
    const key = v.slice(0, eq);
    if (what === 'vcpu' && !/^\d+$/.test(key)) {
      throw new KvcpuError('E_BAD_INPUT', `--vcpu ${v}: vCPU index "${key}" is not a number`, { hint: 'e.g. --vcpu 0=2' });
    }
    // A vCPU index is a CPU number of the guest: the same documented bound as host CPUs.
    if (what === 'vcpu' && !(key.length <= 5 && Number(key) < MAX_CPUS)) {
      throw new KvcpuError('E_CPULIST_RANGE', `--vcpu ${key.length > 24 ? `${key.slice(0, 20)}...` : key}=...: vCPU index out of range (0-${MAX_CPUS - 1})`, {
        hint: "see `kvcpu ps` for the guest's vCPUs",
        details: { limit: MAX_CPUS },
      });
    }
    const cpus = parseCpulist(v.slice(eq + 1), { what: `--${what} ${key}` });
    if (cpus.length === 0) throw new KvcpuError('E_BAD_CPULIST', `--${what} ${v}: empty CPU list`, { hint: 'give at least one CPU' });
    // `--vcpu 0=1 --vcpu 0=0`: which one was meant? Refuse rather than let the last one win.
    const norm = what === 'vcpu' ? String(Number(key)) : key;
    if (m.has(norm)) {
      throw new KvcpuError(
        'E_PIN_DUPLICATE',
        `--${what} ${norm} is given twice (${formatCpulist(m.get(norm)!)} and ${formatCpulist(cpus)}); nothing was changed`,
        {
          hint: `give each ${what === 'vcpu' ? 'vCPU' : 'IOThread'} once`,
        },
      );
    }
    m.set(norm, cpus);
  }
  return m;
}

/**
 * Turn one guest's pin spec into per-thread requests (pure). vCPU n -> its `CPU n/...` thread;
 * emulator -> every emulator thread (main, call_rcu, worker, IO mon_iothread...: the set
 * libvirt's emulatorpin moves); iothread ID -> `IO ID`. Under -accel tcg,thread=single one
 * thread runs every vCPU, so all its vCPUs must get the same CPUs.
 */
export function buildPinRequests(guest: GuestProcess, spec: GuestPinSpec): PinRequest[] {
  const out: PinRequest[] = [];
  const base = { pid: guest.pid, startTime: guest.startTime, guest: guest.name };
  const single = guest.threads.find((t) => t.role === 'vcpu' && t.vcpus);
  if (single) {
    const sets = [...spec.vcpus.values()].map((c) => c.join(','));
    if (new Set(sets).size > 1) {
      throw new KvcpuError('E_PIN_SINGLE_THREAD', `guest ${guest.name} runs all vCPUs in one thread (ALL CPUs/TCG): vCPUs cannot be pinned apart`, {
        hint: 'give every vCPU the same CPUs, or start the guest with -accel tcg,thread=multi',
      });
    }
    for (const [n] of spec.vcpus) {
      if (!single.vcpus!.includes(n)) {
        throw new KvcpuError('E_PIN_NO_VCPU', `guest ${guest.name} has no vCPU ${n} (vCPUs 0-${guest.config.smpCpus - 1})`, { hint: 'see `kvcpu ps`' });
      }
    }
    const first = spec.vcpus.values().next();
    if (!first.done) out.push({ ...base, tid: single.tid, comm: single.comm, label: 'all vcpus', role: 'vcpu', vcpu: null, iothread: null, cpus: first.value });
  } else {
    for (const [n, cpus] of [...spec.vcpus].sort((a, b) => a[0] - b[0])) {
      const t = guest.threads.find((x) => x.role === 'vcpu' && x.vcpu === n);
      if (!t) {
        const have = guest.threads.filter((x) => x.role === 'vcpu').map((x) => x.vcpu);
        throw new KvcpuError('E_PIN_NO_VCPU', `guest ${guest.name} (pid ${guest.pid}) has no vCPU ${n} thread (has: ${have.join(',') || 'none found'})`, {
          hint: guest.vcpuSource === 'none' ? 'start QEMU with -name guest=X,debug-threads=on or a reachable -qmp socket' : 'see `kvcpu ps`',
        });
      }
      out.push({ ...base, tid: t.tid, comm: t.comm, label: `vcpu ${n}`, role: 'vcpu', vcpu: n, iothread: null, cpus });
    }
  }
  if (spec.emulator) {
    const em = guest.threads.filter((t) => t.role === 'emulator');
    if (em.length === 0) throw new KvcpuError('E_PIN_NO_EMULATOR', `guest ${guest.name}: no emulator threads found`);
    for (const t of em) out.push({ ...base, tid: t.tid, comm: t.comm, label: 'emulator', role: 'emulator', vcpu: null, iothread: null, cpus: spec.emulator });
  }
  for (const [id, cpus] of spec.iothreads) {
    // libvirt numbers IOThreads (virsh iothreadpin DOM 1) and names the QEMU object iothread1.
    const t =
      guest.threads.find((x) => x.role === 'iothread' && x.iothread === id) ??
      (guest.libvirt && /^\d+$/.test(id) ? guest.threads.find((x) => x.role === 'iothread' && x.iothread === `iothread${id}`) : undefined);
    if (!t) {
      // Name both spellings for libvirt domains: virsh's number and QEMU's object id.
      const have = guest.threads
        .filter((x) => x.role === 'iothread')
        .map((x) => {
          const n = /^iothread(\d+)$/.exec(x.iothread ?? '')?.[1];
          return guest.libvirt && n ? `${n} (QEMU ${x.iothread})` : String(x.iothread);
        });
      throw new KvcpuError('E_PIN_NO_IOTHREAD', `guest ${guest.name} has no iothread "${id}"`, {
        hint: `${guest.libvirt ? 'IOThreads by libvirt id or QEMU name' : 'iothreads'}: ${have.join(', ') || 'none'}`,
      });
    }
    out.push({ ...base, tid: t.tid, comm: t.comm, label: `iothread ${t.iothread ?? id}`, role: 'iothread', vcpu: null, iothread: t.iothread ?? id, cpus });
  }
  return out;
}

export interface PinEnvironment {
  /** Online host CPUs. */
  online: number[];
  /**
   * CPUs the caller may use (its own Cpus_allowed_list: the cpuset it runs in); null when a
   * manager applies the pins (libvirt widens its own cgroups: its rules decide, not ours).
   */
  callerAllowed: number[] | null;
  /** Effective cpuset CPUs of each thread's cgroup (null = unknown). */
  threadCpuset(pid: number, tid: number): number[] | null;
}

/**
 * Check every request before changing anything: CPUs online, inside the caller's cpuset (the
 * kernel rejects CPUs outside the target's cpuset with EINVAL; the caller's is the best proxy
 * for "allowed here"), inside the target thread's cpuset when known. Returns the problems.
 */
export function validatePinRequests(reqs: PinRequest[], env: PinEnvironment): string[] {
  const problems: string[] = [];
  const online = new Set(env.online);
  const allowed = env.callerAllowed ? new Set(env.callerAllowed) : null;
  // One line per guest target (the emulator has many threads) and per missing CPU set.
  const offlineSeen = new Set<string>();
  for (const r of reqs) {
    const offline = r.cpus.filter((c) => !online.has(c));
    const key = `${r.guest}/${r.label}/${offline.join(',')}`;
    if (offline.length && !offlineSeen.has(key)) {
      offlineSeen.add(key);
      problems.push(
        `${r.guest} ${r.label}: CPU ${formatCpulist(offline)} ${offline.length === 1 ? 'is' : 'are'} not online (online CPUs: ${formatCpulist(env.online)})`,
      );
    }
    if (offline.length) continue;
    if (!allowed) continue;
    const outside = r.cpus.filter((c) => online.has(c) && !allowed.has(c));
    if (outside.length) problems.push(`${r.guest} ${r.label} (tid ${r.tid}): CPU ${outside.join(',')} is outside kvcpu's own cpuset/affinity`);
    const cs = env.threadCpuset(r.pid, r.tid);
    if (cs) {
      const notInCs = r.cpus.filter((c) => !cs.includes(c));
      if (notInCs.length) problems.push(`${r.guest} ${r.label} (tid ${r.tid}): CPU ${notInCs.join(',')} is outside the thread's cgroup cpuset`);
    }
  }
  const seen = new Map<number, string>();
  for (const r of reqs) {
    const prev = seen.get(r.tid);
    if (prev !== undefined && prev !== r.cpus.join(',')) problems.push(`tid ${r.tid} (${r.guest} ${r.label}) is asked for two different CPU sets`);
    seen.set(r.tid, r.cpus.join(','));
  }
  return problems;
}
