import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import type { HostSnapshot } from '../host/types.ts';
import type { PlanHost } from './plan-types.ts';

export interface HostSets {
  /** Housekeeping CPUs (cpulist). */
  reserved?: string;
  dedicated?: string;
  shared?: string;
}

function minus(a: number[], b: Iterable<number>): number[] {
  const s = new Set(b);
  return a.filter((x) => !s.has(x));
}
function inter(a: number[], b: Iterable<number>): number[] {
  const s = new Set(b);
  return a.filter((x) => s.has(x));
}

/**
 * Turn a host snapshot and the admin's CPU sets into the planner's host. Keeps the sets coherent
 * with the host (and refuses incoherent ones, E_PLAN_SETS):
 *  - every set must name online CPUs;
 *  - housekeeping (reserved) CPUs are in neither the dedicated nor the shared set;
 *  - dedicated and shared sets do not overlap (Nova refuses that too, nova/virt/hardware.py
 *    get_cpu_dedicated_set/get_cpu_shared_set);
 *  - isolcpus CPUs are never in the shared set: the scheduler does not balance load onto them,
 *    so floating vCPUs there would pile up on one CPU (kernel-parameters.txt, isolcpus=).
 * Without --dedicated-set/--shared-set the layout is Nova's legacy one: both sets are every
 * online CPU that is not housekeeping, and floating vCPUs avoid CPUs pinned at plan time.
 */
export function buildPlanHost(snap: HostSnapshot, sets: HostSets = {}, name = snap.root === '/' ? 'localhost' : snap.root): PlanHost {
  const online = parseCpulist(snap.cpus.online);
  const onlineSet = new Set(online);
  const isolated = inter(parseCpulist(snap.cpus.isolated ?? ''), onlineSet);
  const notes: string[] = [];
  const parse = (v: string | undefined, what: string): number[] | undefined => {
    if (v === undefined) return undefined;
    const cpus = parseCpulist(v);
    const off = cpus.filter((c) => !onlineSet.has(c));
    if (off.length) {
      throw new KvcpuError('E_PLAN_SETS', `${what} ${formatCpulist(off)} not online on this host (online: ${snap.cpus.online})`, {
        hint: `pick ${what} CPUs among ${snap.cpus.online}`,
      });
    }
    return cpus;
  };
  const reserved = parse(sets.reserved, '--reserved') ?? [];
  let dedicated = parse(sets.dedicated, '--dedicated-set');
  let shared = parse(sets.shared, '--shared-set');
  const clash = (a: number[], b: number[], what: string, hint: string) => {
    const both = inter(a, b);
    if (both.length) throw new KvcpuError('E_PLAN_SETS', `${what}: CPUs ${formatCpulist(both)} are in both`, { hint });
  };
  if (dedicated) clash(reserved, dedicated, '--reserved and --dedicated-set overlap', 'housekeeping CPUs must stay out of the dedicated set');
  if (shared) clash(reserved, shared, '--reserved and --shared-set overlap', 'housekeeping CPUs must stay out of the shared set');
  if (dedicated && shared)
    clash(dedicated, shared, '--dedicated-set and --shared-set overlap', 'a CPU is either for pinned or for floating vCPUs (as in Nova)');
  if (shared)
    clash(
      shared,
      isolated,
      `--shared-set overlaps isolcpus (${formatCpulist(isolated)})`,
      'floating vCPUs need load balancing: keep isolcpus for the dedicated set',
    );
  const legacy = dedicated === undefined && shared === undefined;
  const usable = minus(online, reserved);
  if (legacy) {
    dedicated = usable;
    shared = minus(usable, isolated);
    notes.push(
      'no --dedicated-set/--shared-set: pinned and floating guests share the non-housekeeping CPUs (Nova legacy layout); floating vCPUs avoid CPUs pinned at plan time',
    );
  } else if (dedicated === undefined) {
    dedicated = minus(usable, shared!);
  } else if (shared === undefined) {
    shared = minus(minus(usable, dedicated), isolated);
  }
  if (legacy && isolated.length) notes.push(`isolcpus ${formatCpulist(isolated)} kept out of the shared set (no load balancing there)`);
  if (inter(reserved, isolated).length)
    notes.push(`housekeeping CPUs ${formatCpulist(inter(reserved, isolated))} are in isolcpus: host tasks there get no load balancing`);
  if (reserved.length === 0) notes.push('no --reserved housekeeping CPUs: host tasks and IRQs may share CPUs with pinned vCPUs');
  let nodes = snap.numa.nodes
    .map((n) => ({ id: n.id, cpus: inter(parseCpulist(n.cpus), onlineSet), memoryMiB: n.memoryKb === null ? null : Math.floor(n.memoryKb / 1024) }))
    .filter((n) => n.cpus.length > 0);
  if (nodes.length === 0) nodes = [{ id: 0, cpus: online, memoryMiB: null }];
  const inGroup = new Set<number>();
  const cores: number[][] = [];
  for (const g of snap.topology.coreGroups) {
    const cpus = inter(parseCpulist(g), onlineSet);
    if (!cpus.length) continue;
    cpus.forEach((c) => inGroup.add(c));
    cores.push(cpus);
  }
  for (const c of online) if (!inGroup.has(c)) cores.push([c]);
  cores.sort((a, b) => a[0]! - b[0]!);
  const l3 = snap.topology.l3Domains.map((d) => inter(parseCpulist(d), onlineSet)).filter((d) => d.length > 0);
  return { name, online, nodes, cores, l3, reserved, dedicated: dedicated!, shared: shared!, isolated, legacy, notes };
}

/** A synthetic host (tests, benchmarks, fleets): `nodes` × `coresPerNode` cores × `threads`. */
export function syntheticPlanHost(o: {
  name?: string;
  nodes: number;
  coresPerNode: number;
  threads: number;
  /** Split (Intel/Linux: siblings k, k+N) or adjacent (2k, 2k+1) numbering. */
  numbering?: 'split' | 'adjacent';
  /** L3 domains per node (default 1). */
  l3PerNode?: number;
  memoryMiBPerNode?: number;
  reserved?: number[];
  dedicated?: number[];
  shared?: number[];
  isolated?: number[];
}): PlanHost {
  const totalCores = o.nodes * o.coresPerNode;
  const cpuOf = (core: number, t: number) => (o.numbering === 'adjacent' ? core * o.threads + t : t * totalCores + core);
  const cores: number[][] = [];
  for (let c = 0; c < totalCores; c++) cores.push(Array.from({ length: o.threads }, (_, t) => cpuOf(c, t)));
  const nodes = Array.from({ length: o.nodes }, (_, n) => ({
    id: n,
    cpus: cores
      .slice(n * o.coresPerNode, (n + 1) * o.coresPerNode)
      .flat()
      .sort((a, b) => a - b),
    memoryMiB: o.memoryMiBPerNode ?? 65536,
  }));
  const per = o.l3PerNode ?? 1;
  const l3: number[][] = [];
  for (let n = 0; n < o.nodes; n++) {
    const size = Math.ceil(o.coresPerNode / per);
    for (let d = 0; d < per; d++) {
      const cs = cores.slice(n * o.coresPerNode + d * size, Math.min((n + 1) * o.coresPerNode, n * o.coresPerNode + (d + 1) * size));
      if (cs.length) l3.push(cs.flat().sort((a, b) => a - b));
    }
  }
  const online = cores.flat().sort((a, b) => a - b);
  const reserved = o.reserved ?? [];
  const isolated = o.isolated ?? [];
  const legacy = !o.dedicated && !o.shared;
  const dedicated = o.dedicated ?? minus(minus(online, reserved), o.shared ?? []);
  const shared = o.shared ?? (legacy ? minus(minus(online, reserved), isolated) : minus(minus(minus(online, reserved), dedicated), isolated));
  return {
    name: o.name ?? 'synthetic',
    online,
    nodes,
    cores: [...cores].sort((a, b) => a[0]! - b[0]!),
    l3,
    reserved,
    dedicated,
    shared,
    isolated,
    legacy,
    notes: [],
  };
}
