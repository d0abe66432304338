import { parseCpulist } from '../core/cpulist.ts';
import type { GuestSnapshot } from './types.ts';

/**
 * Default vCPU:pCPU limit. 4:1 is what OpenStack Nova ships as `initial_cpu_allocation_ratio`
 * since 27.0.0 (2023.1 Antelope), lowered from 16.0 (its default through Zed) because 16:1
 * starved general-purpose guests; operators such as SAP's (sapcc helm-charts) run ~3:1.
 * Latency-sensitive or pinned guests want 1:1 (Nova's PCPU inventory has ratio 1.0).
 */
export const DEFAULT_OVERCOMMIT_RATIO = 4;

export type Status = 'PASS' | 'WARN' | 'FAIL';

export interface OvercommitCheck {
  id: string;
  status: Status;
  message: string;
}

export interface OvercommitReport {
  verdict: Status;
  hostCpus: number;
  guestVcpus: number;
  ratio: number;
  limit: number;
  guests: {
    pid: number;
    name: string;
    vcpus: number;
    /** threads: vCPU threads identified; cmdline: counted from -smp (threads not told apart). */
    vcpusFrom: 'threads' | 'cmdline';
    maxCpus: number;
    pinnedCpus: string | null;
    oversized: boolean;
  }[];
  /** pCPUs that two or more guests pinned a vCPU to exclusively (affinity = that one CPU). */
  doublyClaimed: { cpu: number; guests: string[] }[];
  /** vCPU threads whose last CPU (psr) is each online pCPU, and how many of them are runnable. */
  perCpu: { cpu: number; vcpuThreads: number; running: number }[];
  checks: OvercommitCheck[];
}

/** What checkVcpusFitHost found for one guest (or one planned guest). */
export interface VcpuFitFinding {
  /** guest-fits-host: present vCPUs exceed the host; hotplug-headroom: only maxcpus does. */
  id: 'guest-fits-host' | 'hotplug-headroom';
  status: 'FAIL' | 'WARN';
  message: string;
  hint: string;
}

/**
 * The one rule for a guest's vCPUs against the host's online CPUs, used by `topology suggest`,
 * `hotplug` and `overcommit` so that all three say the same thing:
 * - more present vCPUs than online host CPUs is a FAIL: the guest's own vCPUs time-slice
 *   against each other, and a preempted lock holder stalls every vCPU spinning on it (the
 *   reason Nova's max_unit and Proxmox refuse such a guest);
 * - present vCPUs that fit but a maxcpus (hot-plug ceiling) above the host is a WARN: the
 *   guest is fine now and becomes the FAIL case as soon as it is grown past the host.
 * `guest` names the guest in the message ("this guest" when omitted).
 */
export function checkVcpusFitHost(o: { vcpus: number; maxVcpus?: number; hostCpus: number; guest?: string }): VcpuFitFinding[] {
  const who = o.guest ?? 'this guest';
  const max = Math.max(o.maxVcpus ?? o.vcpus, o.vcpus);
  const cpus = (n: number) => `${n} online CPU${n === 1 ? '' : 's'}`;
  if (o.vcpus > o.hostCpus) {
    return [
      {
        id: 'guest-fits-host',
        status: 'FAIL',
        message: `${who} has ${o.vcpus} vCPUs but the host has ${cpus(o.hostCpus)}: its vCPUs time-slice against each other (lock-holder preemption)`,
        hint: `give it at most ${o.hostCpus} vCPUs`,
      },
    ];
  }
  if (max > o.hostCpus) {
    return [
      {
        id: 'hotplug-headroom',
        status: 'WARN',
        message: `${who} can be hot-plugged up to ${max} vCPUs (maxcpus) but the host has ${cpus(o.hostCpus)}: growing it past ${o.hostCpus} makes it larger than the host`,
        hint: `keep maxcpus at most ${o.hostCpus}, or never plug more than ${o.hostCpus} vCPUs`,
      },
    ];
  }
  return [];
}

function worst(a: Status, b: Status): Status {
  const rank = { PASS: 0, WARN: 1, FAIL: 2 };
  return rank[a] >= rank[b] ? a : b;
}

/**
 * Audit CPU overcommit from a guest snapshot (pure). Rules: a guest must not have more vCPUs
 * than the host has online CPUs (its vCPUs would time-slice against each other: spinlock
 * holder preemption; Nova's max_unit and Proxmox refuse it too); two guests must not both
 * pin a vCPU exclusively to the same pCPU (dedicated CPUs are not overcommitted in Nova:
 * PCPU ratio 1.0); total vCPUs / online CPUs must stay within `limit`.
 */
export function assessOvercommit(snap: GuestSnapshot, onlineCpus: number[], limit = DEFAULT_OVERCOMMIT_RATIO): OvercommitReport {
  const hostCpus = onlineCpus.length;
  const checks: OvercommitCheck[] = [];
  const claims = new Map<number, Set<string>>();
  const guests = snap.guests.map((g) => {
    const pinned = new Set<number>();
    for (const t of g.threads) {
      if (t.role !== 'vcpu' || !t.affinity) continue;
      const a = parseCpulist(t.affinity);
      if (a.length === 1) {
        pinned.add(a[0]!);
        const label = `${g.name} (${g.pid})`;
        claims.set(a[0]!, (claims.get(a[0]!) ?? new Set()).add(label));
      }
    }
    const fit = checkVcpusFitHost({ vcpus: g.vcpuCount, maxVcpus: g.config.maxCpus, hostCpus, guest: `${g.name} (pid ${g.pid})` });
    const oversized = fit.some((f) => f.id === 'guest-fits-host');
    for (const f of fit) checks.push({ id: f.id, status: f.status, message: f.message });
    return {
      pid: g.pid,
      name: g.name,
      vcpus: g.vcpuCount,
      vcpusFrom: g.vcpuCountFrom,
      maxCpus: g.config.maxCpus,
      pinnedCpus: pinned.size ? [...pinned].sort((a, b) => a - b).join(',') : null,
      oversized,
    };
  });
  if (!guests.some((g) => g.oversized)) {
    checks.push({ id: 'guest-fits-host', status: 'PASS', message: `every guest has at most ${hostCpus} vCPUs (online host CPUs)` });
  }
  if (!checks.some((c) => c.id === 'hotplug-headroom')) {
    checks.push({ id: 'hotplug-headroom', status: 'PASS', message: `no guest can be hot-plugged beyond ${hostCpus} vCPUs (maxcpus within the host)` });
  }
  const doublyClaimed = [...claims]
    .filter(([, s]) => s.size > 1)
    .map(([cpu, s]) => ({ cpu, guests: [...s].sort() }))
    .sort((a, b) => a.cpu - b.cpu);
  for (const d of doublyClaimed) {
    checks.push({
      id: 'dedicated-pins',
      status: 'FAIL',
      message: `CPU ${d.cpu} is the only CPU of vCPUs of ${d.guests.length} guests: ${d.guests.join(', ')}`,
    });
  }
  if (doublyClaimed.length === 0) checks.push({ id: 'dedicated-pins', status: 'PASS', message: 'no pCPU is pinned exclusively by two guests' });
  // A pCPU a guest pinned a vCPU to (affinity = that one CPU) is only dedicated if no other
  // guest's floating vCPUs (affinity of several CPUs, that one among them) may run there too:
  // the scheduler puts them there whenever it likes, and the pinned vCPU waits (Nova keeps
  // cpu_dedicated_set and cpu_shared_set disjoint for this reason).
  const floatingOn = new Map<number, Set<string>>();
  for (const g of snap.guests) {
    for (const t of g.threads) {
      if (t.role !== 'vcpu' || !t.affinity) continue;
      const a = parseCpulist(t.affinity);
      if (a.length < 2) continue;
      for (const cpu of a) if (claims.has(cpu)) floatingOn.set(cpu, (floatingOn.get(cpu) ?? new Set()).add(`${g.name} (${g.pid})`));
    }
  }
  const shared: { cpu: number; pinnedBy: string[]; floating: string[] }[] = [];
  for (const [cpu, pinners] of [...claims].sort((a, b) => a[0] - b[0])) {
    // A guest's own floating vCPUs on its own pinned CPU are its own business.
    const floating = [...(floatingOn.get(cpu) ?? [])].filter((f) => !pinners.has(f));
    if (floating.length) shared.push({ cpu, pinnedBy: [...pinners].sort(), floating: floating.sort() });
  }
  for (const x of shared) {
    checks.push({
      id: 'pinned-cpu-shared',
      status: 'WARN',
      message: `CPU ${x.cpu} is pinned to vCPUs of ${x.pinnedBy.join(', ')} but floating vCPUs of ${x.floating.join(', ')} may run there too`,
    });
  }
  if (shared.length === 0) checks.push({ id: 'pinned-cpu-shared', status: 'PASS', message: 'no pinned pCPU is also open to floating vCPUs of another guest' });
  // Counted all the same, but what is known of them is less: say so rather than count 0.
  const unnamed = guests.filter((g) => g.vcpusFrom === 'cmdline');
  if (unnamed.length) {
    checks.push({
      id: 'vcpu-threads',
      status: 'WARN',
      message:
        `${unnamed.map((g) => `${g.name} (pid ${g.pid}): ${g.vcpus} vCPU${g.vcpus === 1 ? '' : 's'}`).join(', ')} counted from -smp; ` +
        'which threads are vCPUs cannot be told (no debug-threads=on, QMP socket or libvirt status), so their pins and per-CPU threads are not counted',
    });
  }
  const guestVcpus = guests.reduce((s, g) => s + g.vcpus, 0);
  const ratio = hostCpus > 0 ? guestVcpus / hostCpus : Infinity;
  const r = Math.round(ratio * 100) / 100;
  if (ratio > limit) checks.push({ id: 'ratio', status: 'FAIL', message: `${guestVcpus} vCPUs on ${hostCpus} CPUs is ${r}:1, above the ${limit}:1 limit` });
  else if (ratio > 1)
    checks.push({ id: 'ratio', status: 'PASS', message: `${guestVcpus} vCPUs on ${hostCpus} CPUs is ${r}:1 (overcommitted, within ${limit}:1)` });
  else checks.push({ id: 'ratio', status: 'PASS', message: `${guestVcpus} vCPUs on ${hostCpus} CPUs is ${r}:1 (not overcommitted)` });
  const perCpu = onlineCpus.map((cpu) => {
    let vcpuThreads = 0;
    let running = 0;
    for (const g of snap.guests)
      for (const t of g.threads)
        if (t.role === 'vcpu' && t.psr === cpu) {
          vcpuThreads++;
          if (t.state === 'R') running++;
        }
    return { cpu, vcpuThreads, running };
  });
  const busiest = perCpu.reduce((m, p) => Math.max(m, p.running), 0);
  if (busiest > 1) {
    const where = perCpu.filter((p) => p.running > 1).map((p) => `CPU ${p.cpu}: ${p.running}`);
    checks.push({ id: 'runnable-per-cpu', status: 'WARN', message: `more than one runnable vCPU thread on one CPU right now (${where.join(', ')})` });
  }
  const verdict = checks.reduce<Status>((v, c) => worst(v, c.status), 'PASS');
  return { verdict, hostCpus, guestVcpus, ratio: r, limit, guests, doublyClaimed, perCpu, checks };
}
