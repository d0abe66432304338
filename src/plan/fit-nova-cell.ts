import type { NovaHostCell, NovaInstanceCell, NovaLimits } from './nova-case.ts';
import { packNovaCell } from './pack-nova-cell.ts';

/**
 * Which Nova behaviours to follow where Nova 26.2.2 (Zed) is wrong. `fixed` is kvcpu's default;
 * `zed` reproduces Nova 26.2.2's verdicts for the defects it carries (not its search-cache bug,
 * which kvcpu never reproduces: see fit-nova-host.ts).
 */
export interface NovaSemantics {
  /** Bug 1811886 (fixed in Nova 30): a pinned guest without a page size is checked against free
   * small pages (zed: total pages, i.e. memory overcommit for pinned guests). */
  pinnedMemoryUsesFreePages: boolean;
  /** Bug 1994526 (fixed in Nova 28): a mixed cell without dedicated vCPUs is accepted. */
  emptyPinningOk: boolean;
  /** Notes §10.1(4): isolate + emulator isolate takes the emulator CPU from a fully free core. */
  isolateEmulatorWholeCore: boolean;
  /** Nova's bug-1889633 guard: `isolate` fails on an SMT host that uses cpu_dedicated_set (kvcpu's
   * native planner turns it off: there isolate always means "whole cores"). Optional, default on. */
  isolateRefusesSmtDedicatedSet?: boolean;
}

export const FIXED_SEMANTICS: NovaSemantics = { pinnedMemoryUsesFreePages: true, emptyPinningOk: true, isolateEmulatorWholeCore: true };
export const ZED_SEMANTICS: NovaSemantics = { pinnedMemoryUsesFreePages: false, emptyPinningOk: false, isolateEmulatorWholeCore: false };

export type CellFit =
  | { ok: true; pinning: [number, number][] | null; reserved: number[] | null; pagesize: number | null; why: string }
  | {
      ok: false;
      why: string;
      /** page size resolved before a later check failed (Nova writes it back: bug §10.1(3)) */ pagesize: number | null;
      packed: boolean;
    };

const SMALL = -1;
const LARGE = -2;
const ANY = -3;

function pageFree(p: { total: number; used: number; reserved: number }): number {
  return p.total - p.used - p.reserved;
}

/** Nova NUMACell.can_fit_pagesize: KiB fit in (free|total) pages of that size and the size divides it. */
function canFitPagesize(cell: NovaHostCell, sizeKb: number, kib: number, useFree: boolean): boolean | 'unsupported' {
  const p = cell.mempages.find((m) => m.size_kb === sizeKb);
  if (!p) return 'unsupported';
  const avail = (useFree ? pageFree(p) : p.total) * p.size_kb;
  return kib <= avail && kib % p.size_kb === 0;
}

function resolvePagesize(cell: NovaHostCell, inst: NovaInstanceCell): number | null {
  const sizes = cell.mempages.map((m) => m.size_kb).sort((a, b) => b - a);
  const kib = inst.memory * 1024;
  let tries: number[];
  if (inst.pagesize === SMALL) tries = sizes.slice(-1);
  else if (inst.pagesize === LARGE) tries = sizes.slice(0, -1);
  else if (inst.pagesize === ANY) tries = sizes;
  else tries = [inst.pagesize!];
  for (const s of tries) if (canFitPagesize(cell, s, kib, true) === true) return s;
  return null;
}

const isPinned = (p: NovaInstanceCell['cpu_policy']) => p === 'dedicated' || p === 'mixed';
const isFloating = (p: NovaInstanceCell['cpu_policy']) => p === 'shared' || p === 'mixed' || p === null;

/**
 * One guest cell onto one host cell (Nova `_numa_fit_instance_cell`, notes §4): memory and page
 * size, no self-overcommit, free pCPUs, packing, then shared-CPU and RAM allocation ratios.
 * Pure: never mutates its inputs (Nova does, which is the root of its search bugs).
 */
export function fitNovaCell(host: NovaHostCell, inst: NovaInstanceCell, limits: NovaLimits | null, reserve: number, sem: NovaSemantics): CellFit {
  const fail = (why: string, pagesize: number | null = null, packed = false): CellFit => ({ ok: false, why, pagesize, packed });
  let pagesize: number | null = null;
  const pinned = isPinned(inst.cpu_policy);
  const kib = inst.memory * 1024;
  if (inst.pagesize) {
    pagesize = resolvePagesize(host, inst);
    if (!pagesize)
      return fail(
        `no free pages of the requested size (${inst.pagesize > 0 ? `${inst.pagesize} KiB` : ({ [-1]: 'small', [-2]: 'large', [-3]: 'any' } as Record<number, string>)[inst.pagesize]}) for ${inst.memory} MiB`,
      );
  } else if (host.mempages.length > 0) {
    const smallest = Math.min(...host.mempages.map((m) => m.size_kb));
    // Zed allows small-page overcommit for every guest; Nova 30 (bug 1811886) checks free pages for pinned ones.
    const useFree = pinned && sem.pinnedMemoryUsesFreePages;
    if (canFitPagesize(host, smallest, kib, useFree) !== true) {
      return fail(`${inst.memory} MiB does not fit the ${useFree ? 'free' : 'total'} ${smallest} KiB pages`);
    }
  } else if (inst.memory > host.memory) {
    return fail(`${inst.memory} MiB > cell memory ${host.memory} MiB`);
  }
  if (pinned && inst.pcpuset.length + reserve > host.pcpuset.length) {
    return fail(
      `${inst.pcpuset.length}${reserve ? ` + ${reserve} emulator` : ''} dedicated CPUs > ${host.pcpuset.length} in the cell's dedicated set (no self-overcommit)`,
      pagesize,
    );
  }
  if (isFloating(inst.cpu_policy) && inst.cpuset.length > host.cpuset.length) {
    return fail(`${inst.cpuset.length} shared vCPUs > ${host.cpuset.length} CPUs in the cell's shared set`, pagesize);
  }
  let pinning: [number, number][] | null = null;
  let reserved: number[] | null = null;
  let why = "floating vCPUs on the cell's shared CPUs";
  if (pinned) {
    const pinnedSet = new Set(host.pinned_cpus);
    const free = new Set(host.pcpuset.filter((c) => !pinnedSet.has(c)));
    if (inst.pcpuset.length + reserve > free.size) return fail(`${inst.pcpuset.length + reserve} dedicated CPUs wanted, ${free.size} free`, pagesize);
    const memCheck = !(sem.pinnedMemoryUsesFreePages && host.mempages.length > 0);
    if (memCheck && inst.memory > host.memory - host.memory_usage) {
      return fail(`${inst.memory} MiB > free cell memory ${host.memory - host.memory_usage} MiB (pinned guests do not overcommit memory)`, pagesize);
    }
    const r = packNovaCell({
      siblings: host.siblings,
      free,
      vcpus: inst.pcpuset,
      policy: inst.cpu_thread_policy ?? 'prefer',
      reserve,
      newStyleHost: sem.isolateRefusesSmtDedicatedSet !== false && !sameSet(host.cpuset, host.pcpuset),
      isolateEmulatorWholeCore: sem.isolateEmulatorWholeCore,
      emptyPinningOk: sem.emptyPinningOk,
    });
    if (!r.ok) return fail(r.why, pagesize);
    pinning = r.pinning;
    reserved = r.reserved;
    why = r.why;
  }
  if (isFloating(inst.cpu_policy) && limits) {
    const cpuLimit = host.cpuset.length * limits.cpu_allocation_ratio;
    if (host.cpu_usage + inst.cpuset.length > cpuLimit) {
      return fail(
        `shared vCPUs ${host.cpu_usage} + ${inst.cpuset.length} > ${host.cpuset.length} × ${limits.cpu_allocation_ratio} (cpu_allocation_ratio)`,
        pagesize,
        pinned,
      );
    }
    const ramLimit = host.memory * limits.ram_allocation_ratio;
    if (host.memory_usage + inst.memory > ramLimit) {
      return fail(
        `memory ${host.memory_usage} + ${inst.memory} MiB > ${host.memory} × ${limits.ram_allocation_ratio} (ram_allocation_ratio)`,
        pagesize,
        pinned,
      );
    }
  }
  return { ok: true, pinning, reserved, pagesize, why };
}

function sameSet(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
