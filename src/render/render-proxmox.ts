import { formatCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import { comments, coresPerSocket, done, forkContext, note, ranges, totalSockets, type RenderContext, type RenderedTopology } from './render-helpers.ts';

/** qemu-server's machine option pattern (PVE/QemuServer/Machine.pm $machine_fmt type). */
export const PROXMOX_MACHINE = /^(pc|pc(-i440fx)?-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|q35|pc-q35-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|virt(?:-\d+(\.\d+)+)?(\+pve\d+)?)$/;
/** PVE/QemuServer/Memory.pm: $MAX_NUMA. */
export const PROXMOX_MAX_NUMA = 8;

/**
 * A Proxmox VE guest config (`/etc/pve/qemu-server/VMID.conf`, qm.conf(5)) for the plan.
 * qemu-server (PVE/QemuServer.pm config_to_command) builds `-smp vcpus,sockets=S,cores=C,
 * maxcpus=S*C` — no threads/dies/clusters (folded into cores, said in a warning), refuses more
 * than the node's CPU count ("MAX n vcpus allowed per VM on this node"), and hot-plugs vCPUs
 * only with `hotplug: ...,cpu`. Guest NUMA is `numa: 1` + `numaN: cpus=a-b;c,hostnodes=N,
 * memory=M,policy=bind` (Memory.pm: memory required, sum = memory, policy required with
 * hostnodes, at most 8 nodes). `machine:` is always written: without it the guest runs i440fx.
 * Pins: Proxmox has only `affinity:` (one CPU set for the whole QEMU process), so per-vCPU pins
 * are said in a comment and warning.
 */
export function renderProxmox(c0: RenderContext): RenderedTopology {
  const c = forkContext(c0);
  const { t } = c;
  if (c.machine.arch !== 'x86_64' && c.machine.arch !== 'aarch64') {
    throw new KvcpuError('E_RENDER_PROXMOX_ARCH', `Proxmox VE runs x86_64 and aarch64 guests only, not ${c.machine.arch}`, {
      hint: 'render for libvirt or QEMU instead',
    });
  }
  if (!PROXMOX_MACHINE.test(c.machine.name)) {
    throw new KvcpuError('E_RENDER_PROXMOX_MACHINE', `Proxmox VE has no machine type ${c.machine.name} (qemu-server takes pc*, q35, pc-q35-*, virt*)`, {
      hint: 'render for --machine q35 or pc',
    });
  }
  if (c.cells.length > PROXMOX_MAX_NUMA) {
    throw new KvcpuError(
      'E_RENDER_PROXMOX_NUMA',
      `Proxmox VE takes at most ${PROXMOX_MAX_NUMA} guest NUMA nodes (numa0-numa7), the plan has ${c.cells.length}`,
      { hint: 'plan fewer guest NUMA nodes' },
    );
  }
  const sockets = totalSockets(t);
  const cores = coresPerSocket(t) * t.threads;
  if (t.threads > 1) note(c, 'W_PROXMOX_THREADS', `Proxmox has no threads option: threads=${t.threads} folded into cores=${cores} (the guest sees no SMT)`);
  if (coresPerSocket(t) !== t.cores) note(c, 'W_PROXMOX_FOLDED', `Proxmox has no dies/clusters/modules: folded into cores=${cores}`);
  if (sockets !== t.sockets) note(c, 'W_PROXMOX_FOLDED', `Proxmox has no drawers/books: folded into sockets=${sockets}`);
  const maxcpus = sockets * cores;
  if (c.hostCpus !== null && maxcpus > c.hostCpus) {
    note(
      c,
      'W_PROXMOX_VCPU_CAP',
      `qemu-server refuses more vCPUs than the node has CPUs ("MAX ${c.hostCpus} vcpus allowed per VM on this node"): sockets*cores=${maxcpus}`,
    );
  }
  if (c.machine.family === 'pc-i440fx' && maxcpus > 255)
    note(c, 'W_PROXMOX_I440FX', `i440fx takes at most 255 vCPUs (sockets*cores=${maxcpus}): use machine q35`);
  const lines: string[] = [];
  if (c.machine.arch === 'aarch64') lines.push('arch: aarch64');
  lines.push(`machine: ${c.machine.name}`);
  lines.push(`memory: ${c.memoryMiB}`);
  lines.push(`sockets: ${sockets}`, `cores: ${cores}`);
  if (t.cpus < maxcpus) lines.push(`vcpus: ${t.cpus}`, 'hotplug: network,disk,usb,cpu');
  if (c.cells.length) {
    lines.push('numa: 1');
    for (const x of c.cells) {
      lines.push(
        `numa${x.id}: cpus=${ranges(x.vcpus, ';')}${x.hostNode !== null && c.pins ? `,hostnodes=${x.hostNode}` : ''},memory=${x.memoryMiB}${x.hostNode !== null && c.pins ? ',policy=bind' : ''}`,
      );
    }
  }
  let tail = '';
  if (c.pins) {
    const all = [...new Set(c.pins.flatMap((p) => p.cpus).concat(c.emulator ?? []))].sort((a, b) => a - b);
    lines.push(`affinity: ${formatCpulist(all)}`);
    note(
      c,
      'W_PROXMOX_AFFINITY',
      'Proxmox pins the whole VM process to one CPU set (affinity): vCPUs float inside it; per-vCPU pins need kvcpu pin or taskset after start',
    );
    tail = `# per-vCPU pins (vCPU:host CPUs): ${c.pins.map((p) => `${p.vcpu}:${formatCpulist(p.cpus)}`).join(' ')}\n`;
  }
  const qmSet = `# qm set <vmid> --machine ${c.machine.name} --memory ${c.memoryMiB} --sockets ${sockets} --cores ${cores}${t.cpus < maxcpus ? ` --vcpus ${t.cpus}` : ''}\n`;
  return done(c, comments('#', c.warnings, c.notes) + tail + qmSet + lines.join('\n') + '\n');
}
