import type { SuggestedNumaNode } from './suggest-topology.ts';

/**
 * QEMU arguments for the suggested guest NUMA nodes: one RAM backend per node and
 * `-numa node,nodeid=N,cpus=A-B,memdev=ramN`. Machine types >= 5.1 accept only memdev= (not
 * mem=), and QEMU refuses nodes whose memory does not add up to -m ("total memory for NUMA
 * nodes ... should equal RAM size"), so memory is split evenly in MiB.
 */
export function numaQemuArgs(numa: SuggestedNumaNode[], memoryMb: number, sockets?: { present: number; max: number; dies: number }): string[] {
  if (numa.length === 0) return [];
  const per = Math.floor(memoryMb / numa.length);
  const args: string[] = [];
  numa.forEach((n, i) => {
    // The last node takes the remainder so the sum equals -m exactly.
    const size = i === numa.length - 1 ? memoryMb - per * (numa.length - 1) : per;
    args.push('-object', `memory-backend-ram,id=ram${n.guestNode},size=${size}M`);
    // A cpulist with commas must be given as repeated cpus= items (QEMU's list syntax).
    const cpus = n.vcpus
      .split(',')
      .map((r) => `cpus=${r}`)
      .join(',');
    args.push('-numa', `node,nodeid=${n.guestNode},${cpus},memdev=ram${n.guestNode}`);
  });
  // Hot-pluggable sockets must belong to a node too (QEMU 7.2 warns "CPU(s) not present in any
  // NUMA nodes" and calls partial mappings obsolete): spread them over the nodes round-robin.
  if (sockets) {
    for (let s = sockets.present; s < sockets.max; s++) {
      for (let d = 0; d < sockets.dies; d++) {
        const node = numa[(s * sockets.dies + d) % numa.length]!.guestNode;
        args.push('-numa', `cpu,node-id=${node},socket-id=${s}${sockets.dies > 1 ? `,die-id=${d}` : ''}`);
      }
    }
  }
  return args;
}
