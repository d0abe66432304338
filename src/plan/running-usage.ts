import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import type { GuestSnapshot } from '../guests/types.ts';
import type { PlanHost } from './plan-types.ts';

/** What the guests running now already take from a host, as the planner counts claims. */
export interface RunningUsage {
  /** Host CPUs held by a running vCPU (or emulator thread) pinned to that one CPU. */
  pinned: number[];
  /** Floating vCPUs of running guests per host NUMA node (Nova cpu_usage). */
  sharedVcpus: Map<number, number>;
  /** One line per running guest: what it was counted as. */
  notes: string[];
}

/**
 * Running guests as planner claims (`kvcpu plan`, default on the live host): a vCPU thread whose
 * affinity is one CPU holds that CPU, as a dedicated vCPU does in Nova (PCPU); an emulator
 * thread pinned to one CPU holds it too (an isolated emulator CPU). Other vCPUs float: each is
 * counted against the NUMA node holding most of its allowed CPUs (Nova counts a floating vCPU
 * against the guest cell's node). A guest whose threads cannot be told apart counts its -smp
 * vCPUs as floating: without names kvcpu cannot know which ones are pinned.
 */
export function runningUsage(snap: GuestSnapshot, host: PlanHost): RunningUsage {
  const nodeOf = new Map<number, number>();
  for (const n of host.nodes) for (const c of n.cpus) nodeOf.set(c, n.id);
  const pinned = new Set<number>();
  const shared = new Map<number, number>();
  const notes: string[] = [];
  const homeNode = (cpus: number[]): number => {
    const count = new Map<number, number>();
    for (const c of cpus) {
      const n = nodeOf.get(c);
      if (n !== undefined) count.set(n, (count.get(n) ?? 0) + 1);
    }
    let best = host.nodes[0]?.id ?? 0;
    let most = -1;
    for (const [n, k] of [...count].sort((a, b) => a[0] - b[0])) if (k > most) [best, most] = [n, k];
    return best;
  };
  for (const g of snap.guests) {
    const own: number[] = [];
    let floating = 0;
    const floatNodes = new Set<number>();
    if (g.vcpuCountFrom === 'cmdline') {
      const allowed = parseCpulist(g.threads.find((t) => t.tid === g.pid)?.affinity || host.online.join(','));
      const n = homeNode(allowed);
      shared.set(n, (shared.get(n) ?? 0) + g.vcpuCount);
      notes.push(`running ${g.name} (pid ${g.pid}): ${g.vcpuCount} vCPUs counted as floating on node ${n} (its threads cannot be told apart)`);
      continue;
    }
    for (const t of g.threads) {
      if (t.role !== 'vcpu' && t.role !== 'emulator') continue;
      const a = t.affinity ? parseCpulist(t.affinity) : [];
      if (a.length === 1) {
        pinned.add(a[0]!);
        own.push(a[0]!);
      } else if (t.role === 'vcpu') {
        const n = homeNode(a.length ? a : host.online);
        // One thread may run several vCPUs (TCG thread=single): count them all.
        const k = t.vcpus?.length ?? 1;
        shared.set(n, (shared.get(n) ?? 0) + k);
        floating += k;
        floatNodes.add(n);
      }
    }
    const parts: string[] = [];
    if (own.length) parts.push(`holds CPU${own.length > 1 ? 's' : ''} ${formatCpulist(own)} (pinned)`);
    if (floating) parts.push(`${floating} floating vCPU${floating > 1 ? 's' : ''} on node ${[...floatNodes].sort((a, b) => a - b).join(',')}`);
    notes.push(`running ${g.name} (pid ${g.pid}): ${parts.join(', ') || 'no vCPU threads'}`);
  }
  return { pinned: [...pinned].sort((a, b) => a - b), sharedVcpus: shared, notes };
}
