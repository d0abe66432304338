import { formatCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import { xmlComment, xmlEscape } from '../core/xml-text.ts';
import { done, forkContext, note, type RenderContext, type RenderedTopology } from './render-helpers.ts';
import { lacksCpuHotplug, needsGicV3, needsX2apicIommu } from './render-qemu.ts';

const atLeast = (v: [number, number], major: number, minor: number) => v[0] > major || (v[0] === major && v[1] >= minor);

/**
 * A complete libvirt domain for the plan (`virsh define` takes it as is; add disks and NICs
 * with `virsh edit` or `virt-xml`): `<vcpu current>`, `<vcpus>` for hot-pluggable vCPUs, a full
 * `<cpu><topology>` (without one libvirt asks for one socket per vCPU), `<numa><cell>` for the
 * guest NUMA cells, `<cputune>` pins and `<numatune>` when the plan rests on them, the machine
 * type and architecture. libvirt 9.0 turns it into `-smp N,maxcpus=M,sockets=S,dies=D,cores=C,
 * threads=T` (qemuBuildSmpCommandLine).
 *
 * Limits applied: `clusters` exists in the domain schema only from libvirt 10.1 (9.0's
 * `virsh define --validate` fails "Extra element cpu in interleave"), so older targets fold
 * clusters into cores and say so; more than 255 x86 vCPUs need `<ioapic driver='qemu'/>` and an
 * intel IOMMU with `eim='on'` (libvirt qemu_validate.c: "more than 255 vCPUs require extended
 * interrupt mode enabled on the iommu device"), q35 only; arm `virt` above 8 vCPUs needs GICv3;
 * microvm has no PCI bus, which libvirt's QEMU driver requires ("No PCI buses available"), so it
 * is refused.
 */
export function renderLibvirt(c0: RenderContext): RenderedTopology {
  const c = forkContext(c0);
  const { t } = c;
  if (c.machine.family === 'microvm' || c.machine.family === 'isapc' || c.machine.family === 'none' || c.machine.family === 'x-remote') {
    throw new KvcpuError(
      'E_RENDER_LIBVIRT_MACHINE',
      `libvirt cannot define a ${c.machine.name} domain: its QEMU driver needs a PCI bus ("No PCI buses available")`,
      {
        hint: 'render for q35 (--machine q35), or run microvm guests with plain QEMU (--format qemu)',
      },
    );
  }
  // libvirt has no drawers/books/modules: fold them into sockets / cores (same vCPU count).
  let sockets = t.sockets;
  let cores = t.cores;
  if (t.drawers * t.books > 1) {
    sockets *= t.drawers * t.books;
    note(c, 'W_LIBVIRT_FOLDED', `libvirt has no drawers/books: folded into sockets=${sockets}`);
  }
  if ((t.modules ?? 1) > 1) {
    cores *= t.modules ?? 1;
    note(c, 'W_LIBVIRT_FOLDED', `libvirt has no modules: folded into cores=${cores}`);
  }
  let clusters = '';
  if (t.clusters > 1) {
    if (atLeast(c.libvirtVersion, 10, 1)) clusters = ` clusters='${t.clusters}'`;
    else {
      cores *= t.clusters;
      note(
        c,
        'W_LIBVIRT_CLUSTERS',
        `clusters=${t.clusters} needs libvirt >= 10.1 (target ${c.libvirtVersion.join('.')}): folded into cores=${cores}; use --libvirt-version 10.1 for a newer libvirt`,
      );
    }
  }
  if (lacksCpuHotplug(c))
    note(
      c,
      'W_QEMU_NO_HOTPLUG',
      `machine ${c.machine.name} has no vCPU hot-plug in QEMU 7.2: virsh setvcpus --live cannot add the other ${t.maxcpus - t.cpus} vCPUs`,
    );
  const x86 = c.machine.arch === 'x86_64';
  const bigX86 = needsX2apicIommu(c);
  if (bigX86 && c.machine.family !== 'pc-q35')
    note(
      c,
      'W_LIBVIRT_X2APIC',
      `more than 255 vCPUs need an intel IOMMU with eim='on', which machine ${c.machine.name} cannot take (q35 only): libvirt will refuse the domain`,
    );
  const iommu = bigX86 && c.machine.family === 'pc-q35';
  if (c.pins && !c.dedicated && !c.mixedDedicated) note(c, 'W_LIBVIRT_FLOATING', 'vCPUs pinned to CPU sets float inside them (vcpupin with a cpuset)');

  const lines: string[] = [];
  const type = c.machine.arch === 'x86_64' || c.machine.arch === 'aarch64' || c.machine.arch === 's390x' ? 'kvm' : 'qemu';
  lines.push(`<domain type='${type}'>`);
  lines.push(
    `  ${xmlComment(`kvcpu: complete domain (libvirt >= ${c.libvirtVersion.join('.')}); add disks and NICs with virsh edit. type='kvm' needs /dev/kvm: use type='qemu' (TCG) without it`)}`,
  );
  for (const [i, w] of c.warnings.entries()) lines.push(`  ${xmlComment(`warning: ${w} [${c.notes[i]?.code ?? ''}]`)}`);
  lines.push(`  <name>${xmlEscape(c.name)}</name>`);
  lines.push(`  <memory unit='MiB'>${c.memoryMiB}</memory>`);
  lines.push(`  <vcpu placement='static'${t.cpus < t.maxcpus ? ` current='${t.cpus}'` : ''}>${t.maxcpus}</vcpu>`);
  if (t.cpus < t.maxcpus) {
    // vCPUs present at boot are non-hot-pluggable (libvirt puts them in -smp N); the rest are
    // hot-pluggable slots, plugged later with `virsh setvcpus --live`.
    lines.push(`  <vcpus>`);
    for (let i = 0; i < t.maxcpus; i++) {
      lines.push(
        i < t.cpus ? `    <vcpu id='${i}' enabled='yes' hotpluggable='no' order='${i + 1}'/>` : `    <vcpu id='${i}' enabled='no' hotpluggable='yes'/>`,
      );
    }
    lines.push(`  </vcpus>`);
  }
  if (c.iothreads.length) lines.push(`  <iothreads>${c.iothreads.length}</iothreads>`);
  if (c.pins || c.emulator || c.iothreads.length) {
    lines.push(`  <cputune>`);
    for (const p of c.pins ?? []) lines.push(`    <vcpupin vcpu='${p.vcpu}' cpuset='${formatCpulist(p.cpus)}'/>`);
    if (c.emulator) lines.push(`    <emulatorpin cpuset='${formatCpulist(c.emulator)}'/>`);
    // libvirt numbers IOThreads from 1.
    c.iothreads.forEach((io, i) => lines.push(`    <iothreadpin iothread='${i + 1}' cpuset='${formatCpulist(io.cpus)}'/>`));
    lines.push(`  </cputune>`);
  }
  const bound = c.cells.filter((x) => x.hostNode !== null);
  if (c.pins && bound.length === c.cells.length && bound.length > 0) {
    lines.push(`  <numatune>`);
    lines.push(`    <memory mode='strict' nodeset='${formatCpulist([...new Set(bound.map((x) => x.hostNode!))])}'/>`);
    for (const x of bound) lines.push(`    <memnode cellid='${x.id}' mode='strict' nodeset='${x.hostNode}'/>`);
    lines.push(`  </numatune>`);
  }
  lines.push(`  <os>`);
  lines.push(`    <type arch='${c.machine.arch}' machine='${xmlEscape(c.machine.name)}'>hvm</type>`);
  lines.push(`  </os>`);
  const features: string[] = [];
  // ACPI on aarch64 needs UEFI firmware in libvirt; x86 guests want ACPI + APIC.
  if (x86) features.push('<acpi/>', '<apic/>');
  if (iommu) features.push("<ioapic driver='qemu'/>");
  if (needsGicV3(c)) features.push("<gic version='3'/>");
  if (features.length) lines.push(`  <features>`, ...features.map((f) => `    ${f}`), `  </features>`);
  lines.push(`  <cpu>`);
  lines.push(`    <topology sockets='${sockets}' dies='${t.dies}'${clusters} cores='${cores}' threads='${t.threads}'/>`);
  if (c.cells.length) {
    lines.push(`    <numa>`);
    for (const x of c.cells) lines.push(`      <cell id='${x.id}' cpus='${formatCpulist(x.vcpus)}' memory='${x.memoryMiB}' unit='MiB'/>`);
    lines.push(`    </numa>`);
  }
  lines.push(`  </cpu>`);
  lines.push(`  <devices>`);
  if (iommu) {
    lines.push(`    <iommu model='intel'>`);
    lines.push(`      <driver intremap='on' eim='on'/>`);
    lines.push(`    </iommu>`);
  }
  lines.push(`  </devices>`);
  lines.push(`</domain>`);
  return done(c, lines.join('\n') + '\n');
}
