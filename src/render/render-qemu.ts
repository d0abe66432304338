import { formatCpulist } from '../core/cpulist.ts';
import { comments, done, forkContext, note, type RenderContext, type RenderedTopology } from './render-helpers.ts';

/** arm `virt` without `gic-version=` uses GICv2, which takes 8 CPUs (hw/arm/virt.c). */
export function needsGicV3(c: RenderContext): boolean {
  return c.machine.family === 'virt' && c.t.maxcpus > 8;
}

/** x86 guests with APIC IDs above 254 need interrupt remapping with x2APIC (intel-iommu eim=on, split irqchip). */
/** Machines QEMU 7.2 cannot hot-plug vCPUs into (no query-hotpluggable-cpus): arm virt, microvm. */
export function lacksCpuHotplug(c: RenderContext): boolean {
  return c.t.cpus < c.t.maxcpus && (c.machine.family === 'virt' || c.machine.family === 'microvm');
}

export function needsX2apicIommu(c: RenderContext): boolean {
  return c.machine.arch === 'x86_64' && c.t.maxcpus > 255;
}

/**
 * QEMU arguments for the plan, one option per line (shell continuation): `-machine` (when chosen,
 * or when the plan needs a machine property), `-smp`, and with guest NUMA `-m`, one RAM backend
 * per cell and `-numa node,nodeid=N,cpus=...,memdev=...` (machine types >= 5.1 take memdev=
 * only; the cells' memory sums to -m, QEMU's numa.c "total memory for NUMA nodes" rule). QEMU
 * cannot pin threads itself: pins are listed as comments for `kvcpu pin` after start.
 */
/** The QEMU options alone (no comments, one line): what `kvcpu plan --format qemu` starts. */
export function qemuOptionLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\s*\\$/, '').trim());
}

export function renderQemu(c0: RenderContext, explicitMachine: boolean): RenderedTopology {
  const c = forkContext(c0);
  const machineProps: string[] = [];
  if (needsGicV3(c)) machineProps.push('gic-version=3');
  const iommu = needsX2apicIommu(c) && c.machine.family === 'pc-q35';
  if (iommu) machineProps.push('kernel-irqchip=split');
  if (needsX2apicIommu(c) && c.machine.family !== 'pc-q35')
    note(c, 'W_QEMU_X2APIC', `more than 255 vCPUs need intel-iommu with eim=on, which machine ${c.machine.name} cannot take (q35 only)`);
  if (lacksCpuHotplug(c))
    note(
      c,
      'W_QEMU_NO_HOTPLUG',
      `machine ${c.machine.name} has no vCPU hot-plug in QEMU 7.2: only the ${c.t.cpus} present vCPUs exist, the other ${c.t.maxcpus - c.t.cpus} never appear`,
    );
  const args: string[] = [];
  const machine =
    explicitMachine || machineProps.length || c.machine.arch !== 'x86_64' || c.cells.length ? `-machine ${[c.machine.name, ...machineProps].join(',')} ` : '';
  args.push(`${machine}-smp ${c.smp}`);
  if (iommu) args.push('-device intel-iommu,intremap=on,eim=on');
  if (c.cells.length) {
    args.push(`-m ${c.memoryMiB}`);
    for (const cell of c.cells) {
      // A pinned plan binds each cell's memory to its host node, as libvirt's <numatune> does.
      const bind = c.pins && cell.hostNode !== null ? `,host-nodes=${cell.hostNode},policy=bind` : '';
      args.push(`-object memory-backend-ram,id=ram${cell.id},size=${cell.memoryMiB}M${bind}`);
      // A cpulist with commas is given as repeated cpus= items (QEMU's list syntax).
      const cpus = formatCpulist(cell.vcpus)
        .split(',')
        .map((r) => `cpus=${r}`)
        .join(',');
      args.push(`-numa node,nodeid=${cell.id},${cpus},memdev=ram${cell.id}`);
    }
  }
  let tail = '';
  if (c.pins) {
    note(
      c,
      'W_QEMU_PINS',
      'QEMU does not pin threads itself: apply the pins after start (kvcpu pin, or taskset on the "CPU N/KVM" threads with -name ...,debug-threads=on)',
    );
    tail += `# pins (vCPU:host CPUs): ${c.pins.map((p) => `${p.vcpu}:${formatCpulist(p.cpus)}`).join(' ')}\n`;
    if (c.emulator) tail += `# emulator threads: ${formatCpulist(c.emulator)}\n`;
  }
  return done(c, comments('#', c.warnings, c.notes) + tail + args.join(' \\\n  ') + '\n');
}
