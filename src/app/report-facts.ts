import { parseCpulist } from '../core/cpulist.ts';
import type { Check } from '../check/types.ts';
import type { Report } from './report-schema.ts';

/**
 * The facts the report's documents show (the HTML page and the Markdown text of `kvcpu report
 * --format html|markdown`), worked out once from the kvcpu/report/1 object as plain strings; each
 * format only escapes and lays them out.
 */

/** "kvcpu report — NAME": the host name, else "this host" / the captured root. */
export function reportTitle(r: Report): string {
  return `kvcpu report — ${r.host.hostname ?? (r.root === '/' ? 'this host' : r.root)}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The host summary as label/value rows (empty without a host section). */
export function hostFacts(r: Report): [string, string][] {
  const h = r.sections.host?.data;
  if (!h) return [];
  const t = h.topology;
  const rows: [string, string][] = [];
  rows.push(['Model', h.cpu.modelNames.length ? h.cpu.modelNames.join(' + ') : '(unknown)']);
  if (h.cpu.vendor) rows.push(['Vendor', h.cpu.vendor]);
  rows.push(['Architecture', h.arch]);
  const online = parseCpulist(h.cpus.online);
  rows.push(['CPUs', `${h.perCpu.length} (online ${h.cpus.online || 'none'}${h.cpus.offline ? `; offline ${h.cpus.offline}` : ''})`]);
  rows.push([
    'Topology',
    `${count(t.sockets, 'socket')}${t.dies && t.dies > t.sockets ? `, ${count(t.dies, 'die')}` : ''}, ${count(t.cores, 'core')}, ${t.threadsPerCore === t.threadsPerCoreMin ? count(t.threadsPerCore, 'thread') : `${t.threadsPerCoreMin}-${t.threadsPerCore} threads`} per core${t.smt ? ' (SMT)' : ''}`,
  ]);
  rows.push(['NUMA', h.numa.nodes.length ? h.numa.nodes.map((n) => `node ${n.id}: CPUs ${n.cpus || 'none'}`).join('; ') : 'no NUMA information']);
  rows.push(['L3 domains', t.l3Domains.length ? t.l3Domains.map((d) => `CPUs ${d}`).join('; ') : 'unknown']);
  if (h.cpus.isolated) rows.push(['Isolated', h.cpus.isolated]);
  const virt = h.lscpu?.virtualization ?? (h.cpu.hwVirtualization === 'vmx' ? 'VT-x' : h.cpu.hwVirtualization === 'svm' ? 'AMD-V' : null);
  if (virt) rows.push(['Virtualization', virt]);
  if (h.lscpu?.hypervisorVendor)
    rows.push(['Hypervisor', `${h.lscpu.hypervisorVendor}${h.lscpu.virtualizationType ? ` (${h.lscpu.virtualizationType})` : ''}`]);
  if (!online.length) rows.push(['Warning', 'no CPU is online']);
  return rows;
}

export interface GuestRow {
  name: string;
  pid: number;
  vcpus: number;
  accel: string;
  cpuModel: string;
  /** "0→3, 1→5": each vCPU's last CPU (psr). */
  placement: string;
  /** "floating", "pinned (2 of 2 vCPUs)", ... */
  pinning: string;
}

/** One row per guest of the guests section. */
export function guestRows(r: Report): GuestRow[] {
  const on = new Set(r.sections.host?.data ? parseCpulist(r.sections.host.data.cpus.online) : []);
  const pinned = (affinity: string) => {
    if (!affinity || on.size === 0) return false;
    try {
      return parseCpulist(affinity).filter((c) => on.has(c)).length < on.size;
    } catch {
      return false;
    }
  };
  return (r.sections.guests?.data?.guests ?? []).map((g) => {
    const v = g.threads.filter((t) => t.role === 'vcpu').sort((a, b) => (a.vcpu ?? -1) - (b.vcpu ?? -1));
    const p = v.filter((t) => pinned(t.affinity)).length;
    return {
      name: g.name,
      pid: g.pid,
      vcpus: g.vcpus,
      accel: g.accel,
      cpuModel: g.cpuModel ?? '(default)',
      placement: v.length ? v.map((t) => `${t.vcpu ?? 'all'}→${t.psr ?? '?'}`).join(', ') : '(vCPU threads not told apart)',
      pinning: p === 0 ? 'floating' : `pinned (${p} of ${v.length} vCPU threads)`,
    };
  });
}

const CHECK_ORDER = { FAIL: 0, WARN: 1, PASS: 2, SKIP: 3 } as const;

/** Checks worst first (FAIL, WARN, PASS, SKIP), in their run order within a status. */
export function sortChecks<T extends Pick<Check, 'status'>>(checks: T[]): T[] {
  return [...checks].sort((a, b) => CHECK_ORDER[a.status] - CHECK_ORDER[b.status]);
}

/** Sections the report carries as skipped, with why (reason, or the error that stopped them). */
export function skippedSections(r: Report): { title: string; why: string }[] {
  return Object.values(r.sections)
    .filter((s) => s && s.status === 'skipped')
    .map((s) => ({ title: s!.title, why: s!.reason ?? (s!.error ? `${s!.error.code}: ${s!.error.message}` : 'skipped') }));
}
