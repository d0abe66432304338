import { comments, coresPerSocket, totalSockets, type RenderContext, type RenderedTopology } from './render-helpers.ts';

/**
 * Proxmox VE VM options (`/etc/pve/qemu-server/VMID.conf` lines `sockets:`, `cores:`, `vcpus:`)
 * plus the `qm set` command. Proxmox has no threads/dies/clusters option (qemu-server passes
 * `-smp vcpus,sockets=S,cores=C,maxcpus=S*C`, threads=1), so those levels are folded into cores
 * and the guest sees no SMT siblings — said in a warning.
 */
export function renderProxmox(c: RenderContext): RenderedTopology {
  const { t } = c;
  const warnings = [...c.warnings];
  const sockets = totalSockets(t);
  const cores = coresPerSocket(t) * t.threads;
  if (t.threads > 1) warnings.push(`Proxmox has no threads option: threads=${t.threads} folded into cores=${cores} (the guest sees no SMT)`);
  if (coresPerSocket(t) !== t.cores) warnings.push(`Proxmox has no dies/clusters/modules: folded into cores=${cores}`);
  if (sockets !== t.sockets) warnings.push(`Proxmox has no drawers/books: folded into sockets=${sockets}`);
  const text =
    comments('#', warnings) +
    `sockets: ${sockets}\ncores: ${cores}\nvcpus: ${t.cpus}\n` +
    `# qm set <vmid> --sockets ${sockets} --cores ${cores} --vcpus ${t.cpus}\n`;
  return { text, warnings };
}
