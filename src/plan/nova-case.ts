import { z } from 'zod';
import { MAX_CPUS } from '../core/cpulist.ts';
import { KvcpuError, shownValue } from '../core/errors.ts';

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
  | {
      kind: 'fit_host';
      id?: string;
      config?: { packing_host_numa_cells_allocation_strategy?: boolean };
      host: { cells: NovaHostCell[] };
      instance: NovaInstance;
      limits: NovaLimits | null;
    }
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

// The shapes of a Nova case (the fields of nova.objects NUMACell / InstanceNUMACell /
// InstanceNUMATopology and the filter's limits that kvcpu reads), checked with zod before the
// field readers below fill defaults; unknown fields are allowed (Nova's objects carry more).
// CPU numbers are bounded after the shape check (E_CPULIST_RANGE, the documented CPU limit).
const CpuListSchema = z.array(z.number().int().min(0));
const CountSchema = z.number().min(0);
const NetworkMetadataSchema = z.object({ physnets: z.array(z.string()).optional(), tunneled: z.boolean().optional() }).loose();

export const NovaHostCellSchema = z
  .object({
    id: z.number(),
    cpuset: CpuListSchema.nullish(),
    pcpuset: CpuListSchema.nullish(),
    siblings: z.array(CpuListSchema).nullish(),
    memory: CountSchema.nullish(),
    memory_usage: CountSchema.nullish(),
    cpu_usage: CountSchema.nullish(),
    pinned_cpus: CpuListSchema.nullish(),
    mempages: z.array(z.object({ size_kb: CountSchema, total: CountSchema, used: CountSchema.nullish(), reserved: CountSchema.nullish() }).loose()).nullish(),
    network_metadata: NetworkMetadataSchema.nullish(),
    socket: z.number().int().nullish(),
  })
  .loose();

export const NovaInstanceCellSchema = z
  .object({
    id: z.number().int().nullish(),
    cpuset: CpuListSchema.nullish(),
    pcpuset: CpuListSchema.nullish(),
    memory: CountSchema.nullish(),
    pagesize: z.number().nullish(),
    cpu_policy: z.enum(['dedicated', 'mixed', 'shared']).nullish(),
    cpu_thread_policy: z.enum(['prefer', 'isolate', 'require']).nullish(),
    pinning: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).nullish(),
    cpuset_reserved: CpuListSchema.nullish(),
  })
  .loose();

const NovaLimitsSchema = z
  .object({ cpu_allocation_ratio: CountSchema.nullish(), ram_allocation_ratio: CountSchema.nullish(), network_metadata: NetworkMetadataSchema.nullish() })
  .loose();

const FitCellCaseSchema = z
  .object({
    kind: z.literal('fit_cell').optional(),
    id: z.unknown().optional(),
    host_cell: NovaHostCellSchema,
    instance_cell: NovaInstanceCellSchema,
    limits: NovaLimitsSchema.nullish(),
    cpuset_reserved: CountSchema.nullish(),
  })
  .loose();

const FitHostCaseSchema = z
  .object({
    kind: z.literal('fit_host').optional(),
    id: z.unknown().optional(),
    config: z.object({ packing_host_numa_cells_allocation_strategy: z.boolean().optional() }).loose().nullish(),
    host: z.object({ cells: z.array(NovaHostCellSchema) }).loose(),
    instance: z.object({ cells: z.array(NovaInstanceCellSchema).min(1), emulator_threads_policy: z.enum(['share', 'isolate']).nullish() }).loose(),
    limits: NovaLimitsSchema.nullish(),
  })
  .loose();

/** E_BAD_INPUT naming the first bad field (`host.cells[0].memory must be ...`) when `v` is not `schema`'s shape. */
function checkShape(schema: z.ZodType, v: unknown, where: string): void {
  const r = schema.safeParse(v);
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const at = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i || where ? '.' : ''}${String(p)}`)).join('');
  bad(`${where}${at}` || 'case', issue.message.replace(/^Invalid input: /, ''));
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
  // Nova's own CPU sets are host CPU numbers: the documented bound, checked before any set math.
  const over = (v as number[]).find((x) => x >= MAX_CPUS);
  if (over !== undefined) {
    throw new KvcpuError('E_CPULIST_RANGE', `Nova case: ${where} has CPU ${over}, out of range (0-${MAX_CPUS - 1})`, {
      hint: 'CPU numbers go up to 8191',
      details: { limit: MAX_CPUS },
    });
  }
  if ((v as number[]).length > MAX_CPUS) bad(where, `lists more than ${MAX_CPUS} CPUs`);
  return v as number[];
}

/** Optional CPU list where null means "not given" (kept apart from the empty list). */
function intsOrNull(v: unknown, where: string): number[] | null {
  return v === undefined || v === null ? null : ints(v, where);
}

/** Nova's vCPU -> pCPU pinning map, as [vcpu, pcpu] pairs. */
function pairs(v: unknown, where: string): [number, number][] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((p) => Array.isArray(p) && p.length === 2)) bad(where, 'must be a list of [vcpu, pcpu] pairs');
  return (v as unknown[][]).map((p, i) => ints(p, `${where}[${i}]`) as [number, number]);
}

/** A count or size: finite and not negative (a negative memory or usage is never real). */
function size(v: unknown, where: string, dflt?: number): number {
  const n = num(v, where, dflt);
  if (n < 0) bad(where, 'must not be negative');
  return n;
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
  checkShape(NovaHostCellSchema, v, where);
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
    memory: size(o.memory, `${where}.memory`, 0),
    memory_usage: size(o.memory_usage, `${where}.memory_usage`, 0),
    cpu_usage: size(o.cpu_usage, `${where}.cpu_usage`, 0),
    pinned_cpus: ints(o.pinned_cpus, `${where}.pinned_cpus`, true),
    mempages: (mp as unknown[]).map((p, i) => {
      const q = obj(p, `${where}.mempages[${i}]`);
      const at = `${where}.mempages[${i}]`;
      return {
        size_kb: size(q.size_kb, `${at}.size_kb`),
        total: size(q.total, `${at}.total`),
        used: size(q.used, `${at}.used`, 0),
        reserved: size(q.reserved, `${at}.reserved`, 0),
      };
    }),
    network_metadata: nm ? { physnets: [...(nm.physnets ?? [])], tunneled: Boolean(nm.tunneled) } : null,
    socket: (o.socket as number | null | undefined) ?? null,
  };
}

const CPU_POLICIES = ['dedicated', 'mixed', 'shared', null];
const THREAD_POLICIES = ['prefer', 'isolate', 'require', null];

export function parseNovaInstanceCell(v: unknown, where: string): NovaInstanceCell {
  checkShape(NovaInstanceCellSchema, v, where);
  const o = obj(v, where);
  const cpuPolicy = (o.cpu_policy ?? null) as NovaCpuPolicy;
  const threadPolicy = (o.cpu_thread_policy ?? null) as NovaThreadPolicy;
  if (!CPU_POLICIES.includes(cpuPolicy)) bad(`${where}.cpu_policy`, `is "${shownValue(cpuPolicy)}" (dedicated|mixed|shared|null)`);
  if (!THREAD_POLICIES.includes(threadPolicy)) bad(`${where}.cpu_thread_policy`, `is "${shownValue(threadPolicy)}" (prefer|isolate|require|null)`);
  const pagesize = o.pagesize === undefined || o.pagesize === null ? null : num(o.pagesize, `${where}.pagesize`);
  return {
    id: (o.id as number | null | undefined) ?? null,
    cpuset: ints(o.cpuset, `${where}.cpuset`, true),
    pcpuset: ints(o.pcpuset, `${where}.pcpuset`, true),
    memory: size(o.memory, `${where}.memory`, 0),
    pagesize,
    cpu_policy: cpuPolicy,
    cpu_thread_policy: threadPolicy,
    pinning: pairs(o.pinning, `${where}.pinning`),
    cpuset_reserved: intsOrNull(o.cpuset_reserved, `${where}.cpuset_reserved`),
  };
}

function parseLimits(v: unknown): NovaLimits | null {
  if (v === undefined || v === null) return null;
  const o = obj(v, 'limits');
  const nm = o.network_metadata as { physnets?: string[]; tunneled?: boolean } | null | undefined;
  return {
    cpu_allocation_ratio: size(o.cpu_allocation_ratio, 'limits.cpu_allocation_ratio', 16),
    ram_allocation_ratio: size(o.ram_allocation_ratio, 'limits.ram_allocation_ratio', 1.5),
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
    checkShape(FitCellCaseSchema, o, '');
    return {
      kind,
      id: typeof o.id === 'string' ? o.id : undefined,
      host_cell: parseNovaHostCell(o.host_cell, 'host_cell'),
      instance_cell: parseNovaInstanceCell(o.instance_cell, 'instance_cell'),
      limits: parseLimits(o.limits),
      cpuset_reserved: size(o.cpuset_reserved, 'cpuset_reserved', 0),
    };
  }
  if (kind !== 'fit_host') bad('kind', `is "${shownValue(kind)}": kvcpu plan nova answers fit_host, fit_cell and usage cases`);
  checkShape(FitHostCaseSchema, o, '');
  const host = obj(o.host, 'host');
  const inst = obj(o.instance, 'instance');
  if (!Array.isArray(host.cells)) bad('host.cells', 'must be a list');
  if (!Array.isArray(inst.cells) || inst.cells.length === 0) bad('instance.cells', 'must be a non-empty list');
  const emu = (inst.emulator_threads_policy ?? null) as NovaInstance['emulator_threads_policy'];
  if (![null, 'share', 'isolate'].includes(emu)) bad('instance.emulator_threads_policy', 'must be share|isolate|null');
  const config =
    o.config === undefined || o.config === null ? undefined : (obj(o.config, 'config') as { packing_host_numa_cells_allocation_strategy?: boolean });
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
