import { renderKeyValues, renderTable } from '../core/format.ts';
import { parseCpulist } from '../core/cpulist.ts';
import { humanSize } from './lscpu-fields.ts';
import type { HostSnapshot } from './types.ts';

/** lscpu's `Virtualization:` wording (util-linux lscpu.c: VT-x, AMD-V; s390 SIE). */
export function virtualizationLabel(s: HostSnapshot): string {
  switch (s.cpu.hwVirtualization) {
    case 'vmx':
      return 'VT-x';
    case 'svm':
      return 'AMD-V';
    case 'sie':
      return 'SIE';
    default:
      return s.arch === 'x86_64' || s.arch === 'i686'
        ? `none (no vmx/svm flag${s.cpu.hypervisorFlag ? '; a guest itself: nested KVM may still work, see `kvcpu check`' : ''})`
        : '-';
  }
}

function count(list: string | null): number {
  return list === null ? 0 : parseCpulist(list).length;
}

/** The lscpu-like summary lines, in lscpu's order and vocabulary. */
export function renderHostSummary(s: HostSnapshot): string {
  const t = s.topology;
  const pairs: [string, string | number | null][] = [];
  pairs.push(['Architecture', s.arch]);
  pairs.push(['CPU(s)', s.perCpu.length]);
  pairs.push(['On-line CPU(s) list', s.cpus.online || '-']);
  if (s.cpus.offline !== '') pairs.push(['Off-line CPU(s) list', s.cpus.offline]);
  if (s.cpus.present !== null) pairs.push(['Present CPU(s) list', s.cpus.present]);
  if (s.cpus.possible !== null && s.cpus.possible !== s.cpus.present) pairs.push(['Possible CPU(s) list', s.cpus.possible]);
  if (s.cpus.isolated) pairs.push(['Isolated CPU(s) list', s.cpus.isolated]);
  if (s.cpus.allowed && s.cpus.allowed !== s.cpus.online) pairs.push(['Allowed CPU(s) list', `${s.cpus.allowed} (this process: cpuset/affinity)`]);
  pairs.push(['Vendor ID', s.cpu.vendor]);
  if (s.cpu.hybrid) {
    // One line per core kind, like lscpu's per-core-type blocks.
    for (const k of s.cpu.coreKinds) pairs.push(['Model name', `${k.name} (CPUs ${k.cpus})`]);
  } else {
    for (const m of s.cpu.modelNames.length ? s.cpu.modelNames : ['-']) pairs.push(['Model name', m]);
  }
  if (s.cpu.family !== null) pairs.push(['CPU family', s.cpu.family]);
  if (s.cpu.model !== null) pairs.push(['Model', s.cpu.model]);
  if (s.cpu.stepping !== null) pairs.push(['Stepping', s.cpu.stepping]);
  pairs.push(['Thread(s) per core', t.threadsPerCore === t.threadsPerCoreMin ? t.threadsPerCore : `${t.threadsPerCoreMin}-${t.threadsPerCore}`]);
  pairs.push(['Core(s) per socket', Array.isArray(t.coresPerSocket) ? t.coresPerSocket.join(',') : t.coresPerSocket]);
  pairs.push(['Socket(s)', t.sockets]);
  if (t.dies !== null) pairs.push(['Die(s)', t.dies]);
  // s390 books and drawers (lscpu prints them; they are levels above the socket).
  for (const [label, key] of [
    ['Book(s)', 'book'],
    ['Drawer(s)', 'drawer'],
  ] as const) {
    const ids = new Set(s.perCpu.filter((r) => r.online && r[key] !== undefined && r[key] !== null).map((r) => r[key]));
    if (ids.size > 0) pairs.push([label, ids.size]);
  }
  if (t.clusters !== null) pairs.push(['Cluster(s)', t.clusters]);
  pairs.push(['Core(s)', t.cores]);
  pairs.push(['NUMA node(s)', s.numa.nodes.length || '0 (kernel without NUMA: every CPU counts as node 0)']);
  for (const n of s.numa.nodes) pairs.push([`NUMA node${n.id} CPU(s)`, n.cpus || '(none: memory-only node)']);
  pairs.push(['L3 domain(s)', t.l3Domains.length ? `${t.l3Domains.length}: ${t.l3Domains.join(' | ')}` : '-']);
  const l = s.lscpu;
  if (l?.addressSizes) pairs.push(['Address sizes', l.addressSizes]);
  // lscpu prints `Virtualization:` only for VT-x/AMD-V; kvcpu also says when there is none,
  // and that `kvcpu check` decides whether KVM works (nested PVM has no flag and works).
  pairs.push(['Virtualization', virtualizationLabel(s)]);
  if (s.cpu.vmxFlags.length) pairs.push(['VMX flags', s.cpu.vmxFlags.join(' ')]);
  if (l?.hypervisorVendor) pairs.push(['Hypervisor vendor', l.hypervisorVendor]);
  if (l?.virtualizationType) pairs.push(['Virtualization type', l.virtualizationType]);
  if (s.cpu.hypervisorFlag && !l?.hypervisorVendor) pairs.push(['Hypervisor flag', 'yes (this host is itself a guest; vendor unknown)']);
  for (const c of l?.caches ?? []) pairs.push([`${c.name} cache`, `${humanSize(c.bytes)} (${c.instances} instance${c.instances === 1 ? '' : 's'})`]);
  pairs.push(['Flags', s.cpu.flags.join(' ') || '-']);
  if (s.cpu.flagsNotOnAllCpus.length) pairs.push(['Flags not on all CPUs', s.cpu.flagsNotOnAllCpus.join(' ')]);
  for (const v of l?.vulnerabilities ?? []) pairs.push([`Vulnerability ${v.name}`, v.text]);
  let out = renderKeyValues(pairs);
  if (count(s.cpus.offline) > 0) out += `note: counts are over online CPUs; offline CPUs have no topology\n`;
  for (const w of s.warnings) out += `warning: ${w}\n`;
  return out;
}

/** `lscpu -e` style table: one row per present CPU. */
export function renderHostTable(s: HostSnapshot): string {
  const rows = s.perCpu.map((r) => {
    const l3 = r.l3 === null ? null : s.topology.l3Domains.findIndex((d) => parseCpulist(d).includes(r.cpu));
    // Logical socket number (position among packages), like lscpu -e: physical ids can be -1 or opaque.
    const socket = r.core === null ? null : s.topology.packages.findIndex((p) => parseCpulist(p.cpus).includes(r.cpu));
    return [
      r.cpu,
      r.node,
      socket === -1 ? null : socket,
      r.die,
      r.core,
      l3 === null || l3 < 0 ? null : l3,
      r.online ? 'yes' : 'no',
      r.maxMhz === null ? null : r.maxMhz.toFixed(4),
    ];
  });
  return renderTable(['CPU', 'NODE', 'SOCKET', 'DIE', 'CORE', 'L3', 'ONLINE', 'MAXMHZ'], rows, { right: [0, 1, 2, 3, 4, 5, 7] });
}

export function renderHost(s: HostSnapshot): string {
  return `${renderHostSummary(s)}\n${renderHostTable(s)}`;
}
