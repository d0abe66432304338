import type { NovaHostAfter, NovaHostCell, NovaInstanceCell } from './nova-case.ts';
import { parseNovaHostCell, parseNovaInstanceCell } from './nova-case.ts';
import { KvcpuError } from '../core/errors.ts';

/** A Nova `usage` case: claim (or free) a placed guest on a host (numa_usage_from_instance_numa). */
export interface NovaUsageCase {
  kind: 'usage';
  host: { cells: NovaHostCell[] };
  instance: { cells: NovaInstanceCell[] };
  free: boolean;
}

export type NovaUsageAnswer = { host_after: NovaHostAfter[] } | { error: string; message: string };

export function parseNovaUsageCase(v: unknown): NovaUsageCase {
  const o = v as { host?: { cells?: unknown[] }; instance?: { cells?: unknown[] }; free?: unknown };
  if (!o || !Array.isArray(o.host?.cells) || !Array.isArray(o.instance?.cells)) {
    throw new KvcpuError('E_BAD_INPUT', 'Nova usage case: host.cells and instance.cells must be lists', {
      hint: 'a usage case is {"kind":"usage","host":{"cells":[...]},"instance":{"cells":[...]},"free"?:bool} like nova.virt.hardware.numa_usage_from_instance_numa takes',
    });
  }
  return {
    kind: 'usage',
    host: { cells: o.host.cells.map((c, i) => parseNovaHostCell(c, `host.cells[${i}]`)) },
    instance: { cells: o.instance.cells.map((c, i) => parseNovaInstanceCell(c, `instance.cells[${i}]`)) },
    free: o.free === true,
  };
}

/**
 * Claim accounting as Nova does it (notes §6): for each host cell, the guest cells whose id is
 * that host cell add (or, freeing, remove) memory and floating vCPUs, and pinned cells claim their
 * pCPUs plus the emulator CPU — whole sibling groups under `isolate`. Claiming a CPU that is
 * already claimed is CPUPinningInvalid, one outside the dedicated set CPUPinningUnknown (and the
 * CPUUnpinning* pair when freeing). Usage never goes below 0.
 */
export function answerNovaUsage(c: NovaUsageCase): NovaUsageAnswer {
  const sign = c.free ? -1 : 1;
  const out: NovaHostAfter[] = [];
  const list = (s: Iterable<number>) => `[${[...s].sort((a, b) => a - b).join(', ')}]`;
  for (const h of c.host.cells) {
    const pinned = new Set(h.pinned_cpus);
    const pcpus = new Set(h.pcpuset);
    let mem = h.memory_usage;
    let cpu = h.cpu_usage;
    for (const ic of c.instance.cells) {
      if (ic.id !== h.id) continue;
      mem += sign * ic.memory;
      cpu += sign * ic.cpuset.length;
      if (ic.cpu_policy !== 'dedicated' && ic.cpu_policy !== 'mixed') continue;
      let cpus = new Set([...(ic.pinning ?? []).map(([, p]) => p), ...(ic.cpuset_reserved ?? [])]);
      if (ic.cpu_thread_policy === 'isolate') {
        const whole = new Set<number>();
        for (const g of h.siblings) if (g.some((x) => cpus.has(x))) g.forEach((x) => whole.add(x));
        cpus = whole;
      }
      const unknown = [...cpus].filter((x) => !pcpus.has(x));
      if (c.free) {
        if (unknown.length) return { error: 'CPUUnpinningUnknown', message: `CPU set to unpin ${list(cpus)} must be a subset of known CPU set ${list(pcpus)}` };
        if (![...cpus].every((x) => pinned.has(x)))
          return { error: 'CPUUnpinningInvalid', message: `CPU set to unpin ${list(cpus)} must be a subset of pinned CPU set ${list(pinned)}` };
        cpus.forEach((x) => pinned.delete(x));
      } else {
        if (unknown.length) return { error: 'CPUPinningUnknown', message: `CPU set to pin ${list(cpus)} must be a subset of known CPU set ${list(pcpus)}` };
        if ([...cpus].some((x) => pinned.has(x)))
          return {
            error: 'CPUPinningInvalid',
            message: `CPU set to pin ${list(cpus)} must be a subset of free CPU set ${list([...pcpus].filter((x) => !pinned.has(x)))}`,
          };
        cpus.forEach((x) => pinned.add(x));
      }
    }
    out.push({ id: h.id, pinned_cpus: [...pinned].sort((a, b) => a - b), cpu_usage: Math.max(0, cpu), memory_usage: Math.max(0, mem) });
  }
  return { host_after: out };
}
