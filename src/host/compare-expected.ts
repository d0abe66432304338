import { parseCpulist } from '../core/cpulist.ts';
import type { HostSnapshot } from './types.ts';

/** An expected.json document (host-oracle/1, loosely typed: it is third-party test data). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Expected = any;

/** A partition as a canonical sorted list of cpulists (numbering-independent). */
function canonPartition(lists: string[], keep?: Set<number>): string[] {
  return lists
    .map((l) => parseCpulist(l).filter((c) => !keep || keep.has(c)))
    .filter((g) => g.length > 0)
    .map((g) => g.join(','))
    .sort();
}

function setOf(list: string): number[] {
  return parseCpulist(list);
}

/** Field names from `crosscheck.disputed` entries like "cores / threads_per_core / core_groups: why". */
export function disputedFields(e: Expected): Set<string> {
  const out = new Set<string>();
  for (const d of (e.crosscheck?.disputed ?? []) as string[]) {
    const head = d.split(':')[0] ?? '';
    for (const f of head.split('/')) out.add(f.trim());
  }
  // Fields derived from a disputed core partition are disputed with it.
  if (out.has('cores') || out.has('core_groups') || out.has('threads_per_core')) {
    for (const f of ['cores', 'core_groups', 'threads_per_core', 'threads_per_core_min', 'smt', 'cores_per_socket', 'thread_siblings']) out.add(f);
  }
  return out;
}

/**
 * Compare a HostSnapshot with a host-oracle `expected.json` (the format of
 * ../shared/reference/hosts: lscpu/hwloc answers). Returns one line per difference, empty
 * when they agree. Partitions (packages, cores, L3 domains, NUMA nodes) are compared as sets
 * of CPU sets, not by numbering; null fields and `crosscheck.disputed` fields are skipped.
 */
export function compareWithExpected(snap: HostSnapshot, e: Expected): string[] {
  const diffs: string[] = [];
  const disputed = disputedFields(e);
  const check = (field: string, got: unknown, want: unknown) => {
    if (want === null || want === undefined || disputed.has(field)) return;
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`${field}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  const online = new Set(setOf(snap.cpus.online));
  // cpuset-restricted cases: hwloc (primary) saw only the allowed CPUs; its L3 answer covers those.
  const covers: string = e.topology?.primary_covers_cpus ?? 'all online CPUs';
  const covered = /^[\d,-]+$/.test(covers) ? new Set(setOf(covers)) : undefined;
  check('cpus.online', setOf(snap.cpus.online), e.cpus.online === null ? null : setOf(e.cpus.online));
  check('cpus.offline', setOf(snap.cpus.offline), e.cpus.offline === null ? null : setOf(e.cpus.offline));

  const t = e.topology;
  if (t && t.packages !== null) {
    check('sockets', snap.topology.sockets, t.sockets);
    check('cores', snap.topology.cores, t.cores);
    check('threads_per_core', snap.topology.threadsPerCore, t.threads_per_core);
    check('threads_per_core_min', snap.topology.threadsPerCoreMin, t.threads_per_core_min);
    check('smt', snap.topology.smt, t.smt);
    if (t.cores_per_socket !== null && !disputed.has('cores_per_socket')) {
      const got = snap.topology.coresPerSocket;
      const gotSet = [...new Set(Array.isArray(got) ? got : [got])].sort((a, b) => a - b);
      const wantRaw: number[] = Array.isArray(t.cores_per_socket) ? t.cores_per_socket : [t.cores_per_socket];
      const want = [...new Set(wantRaw)].sort((a, b) => a - b);
      check('cores_per_socket', gotSet, want);
    }
    check('packages', canonPartition(snap.topology.packages.map((p) => p.cpus)), canonPartition(t.packages.map((p: { cpus: string }) => p.cpus)));
    // Package ids where the oracle knew them (null = unknown or -1).
    const wantIds = new Map<string, number>();
    for (const p of t.packages) if (p.id !== null) wantIds.set(canonPartition([p.cpus])[0]!, p.id);
    for (const p of snap.topology.packages) {
      const k = canonPartition([p.cpus])[0]!;
      if (wantIds.has(k)) check(`packages[${p.cpus}].id`, p.id, wantIds.get(k));
    }
    check('core_groups', canonPartition(snap.topology.coreGroups), canonPartition(t.core_groups));
    check('l3_domains', canonPartition(snap.topology.l3Domains, covered), t.l3_domains === null ? null : canonPartition(t.l3_domains, covered));
    if (t.dies !== null && typeof t.dies === 'object') check('dies', snap.topology.dies, t.dies.count);
    else check('dies', snap.topology.dies, t.dies);
  }

  // NUMA: the sysfs view; compare each node's online part.
  if (e.numa && e.numa.nodes !== null) {
    const got = snap.numa.nodes.map((n) => ({
      id: n.id,
      cpus: setOf(n.cpus)
        .filter((c) => online.has(c))
        .join(','),
    }));
    const want = (e.numa.nodes as { id: number; cpus: string }[]).map((n) => ({
      id: n.id,
      cpus: setOf(n.cpus)
        .filter((c) => online.has(c))
        .join(','),
    }));
    check('numa.nodes', got, want);
  }

  // Per-CPU rows.
  const rows = new Map(snap.perCpu.map((r) => [r.cpu, r]));
  for (const w of (e.per_cpu ?? []) as Expected[]) {
    const r = rows.get(w.cpu);
    if (!r) {
      diffs.push(`per_cpu[${w.cpu}]: missing`);
      continue;
    }
    check(`per_cpu[${w.cpu}].online`, r.online, w.online);
    if (!w.online) continue;
    check(`per_cpu[${w.cpu}].socket`, r.socket, w.socket);
    check(`per_cpu[${w.cpu}].core_id`, r.coreId, w.core_id);
    check(`per_cpu[${w.cpu}].die`, r.die, w.die);
    if (!disputed.has('core_groups') && !disputed.has('threads_per_core')) {
      check(`per_cpu[${w.cpu}].thread_siblings`, r.siblings === null ? null : setOf(r.siblings), w.thread_siblings == null ? null : setOf(w.thread_siblings));
    }
    // The node is the sysfs one (expected numa.nodes); hwloc's per-CPU node can differ where it
    // reattaches memory-only nodes by initiator locality (hw-fakememinitiators).
    const sysNode = ((e.numa?.nodes ?? []) as { id: number; cpus: string }[]).find((n) => setOf(n.cpus).includes(w.cpu));
    check(`per_cpu[${w.cpu}].node`, r.node, sysNode ? sysNode.id : w.node);
    const keepL3 = (l: string) => setOf(l).filter((c) => !covered || covered.has(c));
    if (!covered || covered.has(w.cpu)) {
      check(`per_cpu[${w.cpu}].l3_cpus`, r.l3 === null ? null : keepL3(r.l3), w.l3_cpus == null ? null : keepL3(w.l3_cpus));
    }
    if (w.book !== undefined) check(`per_cpu[${w.cpu}].book`, r.book ?? null, w.book);
    if (w.drawer !== undefined) check(`per_cpu[${w.cpu}].drawer`, r.drawer ?? null, w.drawer);
  }

  // Flags and virtualization (x86 only asserts virtualization; others must just not crash).
  const f = e.flags;
  if (f) {
    for (const flag of (f.of_interest ?? []) as string[]) {
      if (!snap.cpu.flags.includes(flag)) diffs.push(`flags: missing ${flag}`);
    }
    check('flags.not_on_all_cpus', [...snap.cpu.flagsNotOnAllCpus].sort(), f.not_on_all_cpus ? [...f.not_on_all_cpus].sort() : null);
    if (f.vmx_flags_line != null) {
      const want = String(f.vmx_flags_line)
        .split(/[\s,]+/)
        .filter(Boolean);
      check('flags.vmx_flags_line', snap.cpu.vmxFlags, want);
    }
    const x86 = snap.arch === 'x86_64' || snap.arch === 'i686';
    if (x86 || f.hw_virtualization !== null) check('hw_virtualization', snap.cpu.hwVirtualization, f.hw_virtualization);
    if (x86) check('hypervisor_flag', snap.cpu.hypervisorFlag, f.hypervisor_flag);
  }
  check('arch', snap.arch, e.arch);
  check('cpu.hybrid', snap.cpu.hybrid, e.cpu?.hybrid);
  if (e.cpu?.vendor != null) check('cpu.vendor', snap.cpu.vendor, e.cpu.vendor);
  return diffs;
}
