import { xmlComment, xmlEscape } from '../core/xml-text.ts';
import type { RenderContext, RenderedTopology } from './render-helpers.ts';

/**
 * A minimal libvirt domain carrying the topology: `<vcpu current>`, `<vcpus>` (when some vCPUs
 * are hot-pluggable) and `<cpu><topology>`. libvirt turns it into
 * `-smp N,maxcpus=M,sockets=S,dies=D,cores=C,threads=T` (libvirt 9.0 qemuBuildSmpCommandLine,
 * notes §8); a full <topology> is always written because without it libvirt asks for one socket
 * per vCPU. Memory and os are placeholders so `virsh define` accepts the document.
 */
export function renderLibvirt(c: RenderContext): RenderedTopology {
  const { t } = c;
  const warnings = [...c.warnings];
  // libvirt has no drawers/books/modules: fold them into sockets / cores (same vCPU count).
  let sockets = t.sockets;
  let cores = t.cores;
  if (t.drawers * t.books > 1) {
    sockets *= t.drawers * t.books;
    warnings.push(`libvirt has no drawers/books: folded into sockets=${sockets}`);
  }
  if ((t.modules ?? 1) > 1) {
    cores *= t.modules ?? 1;
    warnings.push(`libvirt has no modules: folded into cores=${cores}`);
  }
  // libvirt 9.0's domain schema has no `clusters` attribute (`virsh define --validate` rejects
  // it, checked here), so it is written only when > 1 — and then needs a newer libvirt.
  if (t.clusters > 1) {
    warnings.push(`clusters=${t.clusters} needs libvirt >= 10.1; libvirt 9.0 rejects the attribute (schema) or ignores it and then refuses the topology`);
  }
  const clusters = t.clusters > 1 ? ` clusters='${t.clusters}'` : '';
  const machine = ` machine='${xmlEscape(c.machine.name)}'`;
  const lines: string[] = [];
  lines.push(`<domain type='kvm'>`);
  for (const w of warnings) lines.push(`  ${xmlComment(`warning: ${w}`)}`);
  lines.push(`  <name>${xmlEscape(c.name)}</name>`);
  lines.push(`  ${xmlComment('placeholder memory/os: copy <vcpu>, <vcpus> and <cpu> into your domain')}`);
  lines.push(`  <memory unit='MiB'>512</memory>`);
  lines.push(`  <vcpu placement='static' current='${t.cpus}'>${t.maxcpus}</vcpu>`);
  if (t.cpus < t.maxcpus) {
    // vCPUs present at boot are non-hot-pluggable (libvirt puts them in -smp N); the rest are
    // hot-pluggable slots, plugged later with `virsh setvcpus --live`.
    lines.push(`  <vcpus>`);
    for (let i = 0; i < t.maxcpus; i++) {
      lines.push(
        i < t.cpus
          ? `    <vcpu id='${i}' enabled='yes' hotpluggable='no' order='${i + 1}'/>`
          : `    <vcpu id='${i}' enabled='no' hotpluggable='yes'/>`,
      );
    }
    lines.push(`  </vcpus>`);
  }
  lines.push(`  <os>`);
  lines.push(`    <type arch='${c.machine.arch}'${machine}>hvm</type>`);
  lines.push(`  </os>`);
  lines.push(`  <cpu>`);
  lines.push(`    <topology sockets='${sockets}' dies='${t.dies}'${clusters} cores='${cores}' threads='${t.threads}'/>`);
  lines.push(`  </cpu>`);
  lines.push(`</domain>`);
  return { text: lines.join('\n') + '\n', warnings };
}
