import type { MachineInfo } from './qemu-machines.ts';
import { shownLevels } from './qemu-machines.ts';
import type { GuestTopology, TopologyLevel } from './types.ts';
import { TOPOLOGY_LEVELS } from './types.ts';

/** Count of a level (modules may be absent = 1). */
export function levelOf(t: GuestTopology, level: TopologyLevel): number {
  return level === 'modules' ? (t.modules ?? 1) : t[level];
}

/** drawers*books*sockets*dies*clusters*modules*cores*threads. */
export function productOf(t: GuestTopology): number {
  return TOPOLOGY_LEVELS.reduce((p, l) => p * levelOf(t, l), 1);
}

/**
 * kvcpu's canonical `-smp` form: every member the machine has (for that QEMU version), explicit,
 * in QAPI schema order with maxcpus last:
 *   `cpus=N[,drawers=a,books=b],sockets=S[,dies=D][,clusters=C][,modules=m],cores=c,threads=t,maxcpus=M`
 * Levels the machine lacks are left out when 1; when > 1 they are written anyway (QEMU will
 * refuse them — the caller warns), so the spec never silently loses vCPUs.
 * Because nothing is left to fill, QEMU's prefer-sockets/cores rule never applies to it.
 */
export function formatSmp(t: GuestTopology, machine: MachineInfo): string {
  const shown = new Set<TopologyLevel>(shownLevels(machine));
  const parts = [`cpus=${t.cpus}`];
  for (const level of TOPOLOGY_LEVELS) {
    const n = levelOf(t, level);
    if (shown.has(level) || n !== 1) parts.push(`${level}=${n}`);
  }
  parts.push(`maxcpus=${t.maxcpus}`);
  return parts.join(',');
}
