import { KvcpuError } from '../core/errors.ts';

/**
 * Nova-shaped planner inputs, as in ../shared/reference/nova/pinning-cases.jsonl (fields named
 * after Nova's NUMACell / InstanceNUMACell objects, nova/objects/numa.py + instance_numa.py).
 */
export interface NovaMempages {
  size_kb: number;
  total: number;
  used: number;
  reserved: number;
}

export interface NovaHostCell {
  id: number;
  /** Host CPUs for floating (shared) vCPUs: cpu_shared_set ∩ node. */
  cpuset: number[];
  /** Host CPUs for pinned vCPUs: cpu_dedicated_set ∩ node (== cpuset on legacy hosts). */
  pcpuset: number[];
  /** Thread-sibling groups, in the order Nova walks them. */
  siblings: number[][];
  memory: number;
  memory_usage: number;
  cpu_usage: number;
  pinned_cpus: number[];
  mempages: NovaMempages[];
  network_metadata?: { physnets: string[]; tunneled: boolean } | null;
  socket?: number | null;
}

export type NovaCpuPolicy = 'dedicated' | 'mixed' | 'shared' | null;
export type NovaThreadPolicy = 'prefer' | 'isolate' | 'require' | null;

export interface NovaInstanceCell {
  id?: number | null;
  cpuset: number[];
  pcpuset: number[];
  memory: number;
  /** null not requested, -1 small, -2 large, -3 any, else KiB. */
  pagesize: number | null;
  cpu_policy: NovaCpuPolicy;
  cpu_thread_policy: NovaThreadPolicy;
  /** usage inputs only. */
  pinning?: [number, number][] | null;
  cpuset_reserved?: number[] | null;
}

export interface NovaInstance {
  cells: NovaInstanceCell[];
  emulator_threads_policy: 'share' | 'isolate' | null;
}

export interface NovaLimits {
  cpu_allocation_ratio: number;
  ram_allocation_ratio: number;
  network_metadata?: { physnets: string[]; tunneled: boolean } | null;
}

export type NovaCase =
  | { kind: 'fit_host'; id?: string; config?: { packing_host_numa_cells_allocation_strategy?: boolean }; host: { cells: NovaHostCell[] }; instance: NovaInstance; limits: NovaLimits | null }
  | { kind: 'fit_cell'; id?: string; host_cell: NovaHostCell; instance_cell: NovaInstanceCell; limits: NovaLimits | null; cpuset_reserved: number };

export interface NovaCellAnswer {
  instance_cell: number;
  host_cell: number;
  pinning: [number, number][] | null;
  cpuset_reserved: number[] | null;
  pagesize: number | null;
}

export interface NovaAnswer {
  fits: boolean;
  cells?: NovaCellAnswer[];
  /** Set when Nova 26.2.2 answers differently here because of one of its bugs (what and why). */
  nova_bug?: string;
  /** One line per guest cell: why it went where it went, or why nothing fitted. */
  reasons?: string[];
  /** The host after the claim (Nova numa_usage_from_instance_numa), fit_host answers that fit. */
  host_after?: NovaHostAfter[];
}

export interface NovaHostAfter {
  id: number;
  pinned_cpus: number[];
  cpu_usage: number;
  memory_usage: number;
}

function bad(where: string, what: string): never {
  throw new KvcpuError('E_BAD_INPUT', `Nova case: ${where} ${what}`, {
    hint: 'a Nova case is one JSON object: {"kind":"fit_host"|"fit_cell"|"usage"|"constraints", "host":{"cells":[...]}, "instance":{"cells":[...]}, "limits"?:{...}} (see `kvcpu plan nova --help`)',
  });
}

function ints(v: unknown, where: string, optional = false): number[] {
  if (v === undefined || v === null) {
    if (optional) return [];
    bad(where, 'is missing');
  }
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) bad(where, 'must be a list of non-negative integers');
  return v as number[];
}

function num(v: unknown, where: string, dflt?: number): number {
  if ((v === undefined || v === null) && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(where, 'must be a number');
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(where, 'must be an object');
  return v as Record<string, unknown>;
}

export function parseNovaHostCell(v: unknown, where: string): NovaHostCell {
  const o = obj(v, where);
  const sib = o.siblings ?? [];
  if (!Array.isArray(sib)) bad(`${where}.siblings`, 'must be a list of CPU lists');
  const pcpuset = ints(o.pcpuset ?? o.cpuset, `${where}.pcpuset`);
  const mp = (o.mempages ?? []) as unknown;
  if (!Array.isArray(mp)) bad(`${where}.mempages`, 'must be a list');
  const nm = o.network_metadata as { physnets?: string[]; tunneled?: boolean } | null | undefined;
  return {
    id: num(o.id, `${where}.id`),
    cpuset: ints(o.cpuset, `${where}.cpuset`, true),
    pcpuset,
    siblings: (sib as unknown[]).map((g, i) => ints(g, `${where}.siblings[${i}]`)),
    memory: num(o.memory, `${where}.memory`, 0),
    memory_usage: num(o.memory_usage, `${where}.memory_usage`, 0),
    cpu_usage: num(o.cpu_usage, `${where}.cpu_usage`, 0),
    pinned_cpus: ints(o.pinned_cpus, `${where}.pinned_cpus`, true),
    mempages: (mp as unknown[]).map((p, i) => {
      const q = obj(p, `${where}.mempages[${i}]`);
      return { size_kb: num(q.size_kb, 'size_kb'), total: num(q.total, 'total'), used: num(q.used, 'used', 0), reserved: num(q.reserved, 'reserved', 0) };
    }),
    network_metadata: nm ? { physnets: [...(nm.physnets ?? [])], tunneled: Boolean(nm.tunneled) } : null,
    socket: (o.socket as number | null | undefined) ?? null,
  };
}

const CPU_POLICIES = ['dedicated', 'mixed', 'shared', null];
const THREAD_POLICIES = ['prefer', 'isolate', 'require', null];

export function parseNovaInstanceCell(v: unknown, where: string): NovaInstanceCell {
  const o = obj(v, where);
  const cpuPolicy = (o.cpu_policy ?? null) as NovaCpuPolicy;
  const threadPolicy = (o.cpu_thread_policy ?? null) as NovaThreadPolicy;
  if (!CPU_POLICIES.includes(cpuPolicy)) bad(`${where}.cpu_policy`, `is "${String(cpuPolicy)}" (dedicated|mixed|shared|null)`);
  if (!THREAD_POLICIES.includes(threadPolicy)) bad(`${where}.cpu_thread_policy`, `is "${String(threadPolicy)}" (prefer|isolate|require|null)`);
  const pagesize = o.pagesize === undefined || o.pagesize === null ? null : num(o.pagesize, `${where}.pagesize`);
  return {
    id: (o.id as number | null | undefined) ?? null,
    cpuset: ints(o.cpuset, `${where}.cpuset`, true),
    pcpuset: ints(o.pcpuset, `${where}.pcpuset`, true),
    memory: num(o.memory, `${where}.memory`, 0),
    pagesize,
    cpu_policy: cpuPolicy,
    cpu_thread_policy: threadPolicy,
    pinning: (o.pinning as [number, number][] | null | undefined) ?? null,
    cpuset_reserved: (o.cpuset_reserved as number[] | null | undefined) ?? null,
  };
}

function parseLimits(v: unknown): NovaLimits | null {
  if (v === undefined || v === null) return null;
  const o = obj(v, 'limits');
  const nm = o.network_metadata as { physnets?: string[]; tunneled?: boolean } | null | undefined;
  return {
    cpu_allocation_ratio: num(o.cpu_allocation_ratio, 'limits.cpu_allocation_ratio', 16),
    ram_allocation_ratio: num(o.ram_allocation_ratio, 'limits.ram_allocation_ratio', 1.5),
    network_metadata: nm ? { physnets: [...(nm.physnets ?? [])], tunneled: Boolean(nm.tunneled) } : null,
  };
}

/**
 * Read one Nova-shaped case (a `fit_host` or `fit_cell` line of pinning-cases.jsonl, or just
 * `{host, instance, limits?, config?}`). Throws E_BAD_INPUT naming the bad field.
 */
export function parseNovaCase(v: unknown): NovaCase {
  const o = obj(v, 'case');
  const kind = o.kind ?? (o.host_cell !== undefined ? 'fit_cell' : 'fit_host');
  if (kind === 'fit_cell') {
    return {
      kind,
      id: typeof o.id === 'string' ? o.id : undefined,
      host_cell: parseNovaHostCell(o.host_cell, 'host_cell'),
      instance_cell: parseNovaInstanceCell(o.instance_cell, 'instance_cell'),
      limits: parseLimits(o.limits),
      cpuset_reserved: num(o.cpuset_reserved, 'cpuset_reserved', 0),
    };
  }
  if (kind !== 'fit_host') bad('kind', `is "${String(kind)}": kvcpu plan nova answers fit_host, fit_cell and usage cases`);
  const host = obj(o.host, 'host');
  const inst = obj(o.instance, 'instance');
  if (!Array.isArray(host.cells)) bad('host.cells', 'must be a list');
  if (!Array.isArray(inst.cells) || inst.cells.length === 0) bad('instance.cells', 'must be a non-empty list');
  const emu = (inst.emulator_threads_policy ?? null) as NovaInstance['emulator_threads_policy'];
  if (![null, 'share', 'isolate'].includes(emu)) bad('instance.emulator_threads_policy', 'must be share|isolate|null');
  const config = o.config === undefined || o.config === null ? undefined : (obj(o.config, 'config') as { packing_host_numa_cells_allocation_strategy?: boolean });
  return {
    kind: 'fit_host',
    id: typeof o.id === 'string' ? o.id : undefined,
    config,
    host: { cells: (host.cells as unknown[]).map((c, i) => parseNovaHostCell(c, `host.cells[${i}]`)) },
    instance: {
      cells: (inst.cells as unknown[]).map((c, i) => parseNovaInstanceCell(c, `instance.cells[${i}]`)),
      emulator_threads_policy: emu,
    },
    limits: parseLimits(o.limits),
  };
}
