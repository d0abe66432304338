import type { NovaAnswer, NovaCase, NovaCellAnswer, NovaHostAfter, NovaHostCell, NovaInstance, NovaLimits } from './nova-case.ts';
import { fitNovaCell, FIXED_SEMANTICS, ZED_SEMANTICS, type CellFit, type NovaSemantics } from './fit-nova-cell.ts';
import { assignCells } from './assign-cells.ts';

/**
 * Fit a whole guest onto a host, Nova-style (`numa_fit_instance_to_host`, notes §5), without
 * Nova's walk over all orderings of host cells.
 *
 * Why this is exact and polynomial: each guest cell's fit on a host cell depends only on that
 * pair (plus the emulator CPU, which Nova always puts with guest cell 0), never on where the
 * other guest cells went, since two guest cells never share a host cell. So the k × n fit matrix
 * is computed once, and Nova's "first permutation that fits" is rebuilt greedily: guest cell i
 * takes the first host cell (in Nova's sorted order) that fits it AND leaves a perfect matching
 * for cells i+1..k-1 among the unused host cells. That is the lexicographically first fitting
 * permutation — the one Nova would return without its cache bug — in O(k·n·matching).
 * Network-affinity limits constrain the chosen *set*; with them the search backtracks (still
 * pruned by matching), which is exponential only in contrived inputs with many physnets.
 */

export interface FitHostOptions {
  semantics?: NovaSemantics;
  /** Compare with Nova 26.2.2's own (cached, buggy) permutation walk when it is cheap enough. */
  explainNovaBugs?: boolean;
}

export interface FitHostResult extends NovaAnswer {
  /** The search visited this many (guest cell, host cell) candidates. */
  steps: number;
}

function orderHostCells(cells: NovaHostCell[], inst: NovaInstance, pack: boolean): NovaHostCell[] {
  if (cells.length <= inst.cells.length) return [...cells];
  // Nova sorts stably three times; the last sort has the highest priority.
  const avail = (c: NovaHostCell) => c.memory - c.memory_usage;
  const freeP = (c: NovaHostCell) => {
    const p = new Set(c.pinned_cpus);
    return c.pcpuset.filter((x) => !p.has(x)).length;
  };
  let out = [...cells].sort((a, b) => (pack ? avail(a) - avail(b) : avail(b) - avail(a)));
  const p0 = inst.cells[0]!.cpu_policy;
  if (p0 === null || p0 === 'shared') out = out.sort((a, b) => (pack ? b.cpu_usage - a.cpu_usage : a.cpu_usage - b.cpu_usage));
  else out = out.sort((a, b) => (pack ? freeP(a) - freeP(b) : freeP(b) - freeP(a)));
  return out;
}

/** Nova `_numa_cells_support_network_metadata`. */
function networkOk(all: NovaHostCell[], chosen: NovaHostCell[], limits: NovaLimits | null): boolean {
  const nm = limits?.network_metadata;
  if (!nm) return true;
  const need = new Set(nm.physnets);
  if (need.size > 0) {
    for (const c of chosen) for (const p of c.network_metadata?.physnets ?? []) need.delete(p);
    for (const c of all) if ((c.network_metadata?.physnets ?? []).some((p) => need.has(p))) return false;
  }
  if (nm.tunneled) {
    if (chosen.some((c) => c.network_metadata?.tunneled)) return true;
    if (all.some((c) => c.network_metadata?.tunneled)) return false;
  }
  return true;
}

function emulatorReserve(inst: NovaInstance, i: number): number {
  return inst.emulator_threads_policy === 'isolate' && i === 0 ? 1 : 0;
}

function cellAnswer(i: number, host: NovaHostCell, f: Extract<CellFit, { ok: true }>): NovaCellAnswer {
  return { instance_cell: i, host_cell: host.id, pinning: f.pinning, cpuset_reserved: f.reserved, pagesize: f.pagesize };
}

/** The bug-free search under one semantics. */
export function searchNovaHost(c: Extract<NovaCase, { kind: 'fit_host' }>, sem: NovaSemantics): FitHostResult {
  const inst = c.instance;
  const k = inst.cells.length;
  if (c.host.cells.length < k) {
    return { fits: false, steps: 0, reasons: [`guest has ${k} NUMA cells, host only ${c.host.cells.length}`] };
  }
  const order = orderHostCells(c.host.cells, inst, c.config?.packing_host_numa_cells_allocation_strategy === true);
  const n = order.length;
  const fits: CellFit[][] = inst.cells.map((cell, i) => order.map((h) => fitNovaCell(h, cell, c.limits, emulatorReserve(inst, i), sem)));
  const allowed = fits.map((row) => row.map((f) => f.ok));
  const hasNet = Boolean(c.limits?.network_metadata);
  const found = assignCells(
    allowed,
    n,
    hasNet
      ? (pick) =>
          networkOk(
            c.host.cells,
            pick.map((h) => order[h]!),
            c.limits,
          )
      : undefined,
  );
  const steps = k * n + found.steps;
  const pick = found.pick;
  if (!pick) {
    const reasons = inst.cells.map((_, i) => {
      const ok = order.filter((_, h) => allowed[i]![h]).map((h) => h.id);
      if (ok.length > 0) return `guest cell ${i}: fits host cells ${ok.join(',')}`;
      return `guest cell ${i}: fits no host cell (${order.map((h, j) => `${h.id}: ${(fits[i]![j] as { why: string }).why}`).join('; ')})`;
    });
    const none = inst.cells.some((_, i) => !allowed[i]!.some(Boolean));
    if (!none)
      reasons.push(
        hasNet
          ? 'no assignment of distinct host cells satisfies the network NUMA affinity'
          : 'guest cells cannot each get a distinct host cell that fits (no perfect matching)',
      );
    return { fits: false, steps, reasons };
  }
  const cells = pick.map((h, i) => cellAnswer(i, order[h]!, fits[i]![h] as Extract<CellFit, { ok: true }>));
  const reasons = pick.map((h, i) => `guest cell ${i} -> host cell ${order[h]!.id}: ${(fits[i]![h] as { why: string }).why}`);
  return { fits: true, cells, steps, reasons };
}

/**
 * Nova 26.2.2's own walk, bugs included (fit cache keyed on the guest cell id that a fit
 * overwrites; page size written back by a failed attempt), capped at `maxPerms` permutations.
 * Used only to tell the user where Nova would answer differently. Returns null when capped.
 */
export function emulateNovaSearch(c: Extract<NovaCase, { kind: 'fit_host' }>, maxPerms = 20000): { fits: boolean; hostCells: number[] } | null {
  const inst = c.instance;
  const k = inst.cells.length;
  if (c.host.cells.length < k) return { fits: false, hostCells: [] };
  const order = orderHostCells(c.host.cells, inst, c.config?.packing_host_numa_cells_allocation_strategy === true);
  const ids = inst.cells.map((cell, i) => cell.id ?? i);
  const pagesizes = inst.cells.map((cell) => cell.pagesize);
  const notFit = new Set<string>();
  const fit = new Set<string>();
  let perms = 0;
  const idx: number[] = [];
  const used = order.map(() => false);
  let result: { fits: boolean; hostCells: number[] } | null = { fits: false, hostCells: [] };
  const tryPerm = (): boolean => {
    const chosen: NovaHostCell[] = [];
    for (let i = 0; i < k; i++) {
      const h = order[idx[i]!]!;
      const key = `${h.id},${ids[i]}`;
      if (notFit.has(key)) return false;
      if (fit.has(key)) {
        ids[i] = h.id;
        chosen.push(h);
        continue;
      }
      const f = fitNovaCell(
        h,
        { ...inst.cells[i]!, pagesize: pagesizes[i]! },
        c.limits,
        chosen.length === 0 && inst.emulator_threads_policy === 'isolate' ? 1 : 0,
        ZED_SEMANTICS,
      );
      if (f.pagesize) pagesizes[i] = f.pagesize;
      if (!f.ok) {
        if (f.packed) ids[i] = h.id;
        notFit.add(key);
        return false;
      }
      ids[i] = h.id;
      chosen.push(h);
      fit.add(key);
    }
    return networkOk(c.host.cells, chosen, c.limits);
  };
  // itertools.permutations order: lexicographic over positions in `order`.
  const walk = (d: number): boolean => {
    if (d === k) {
      if (++perms > maxPerms) {
        result = null;
        return true;
      }
      if (tryPerm()) {
        result = { fits: true, hostCells: idx.map((j) => order[j]!.id) };
        return true;
      }
      return false;
    }
    for (let j = 0; j < order.length; j++) {
      if (used[j]) continue;
      used[j] = true;
      idx.push(j);
      const stop = walk(d + 1);
      idx.pop();
      used[j] = false;
      if (stop) return true;
    }
    return false;
  };
  walk(0);
  return result;
}

const BUG_NOTES: [keyof NovaSemantics, string][] = [
  [
    'pinnedMemoryUsesFreePages',
    'Nova 26.2.2 checks a pinned guest without a page size against the total (not free) small pages, so it overcommits pinned memory (bug 1811886, fixed in Nova 30)',
  ],
  [
    'emptyPinningOk',
    'Nova 26.2.2 rejects a mixed guest cell with no dedicated vCPUs because the empty pinning counts as failure (bug 1994526, fixed in Nova 28)',
  ],
  [
    'isolateEmulatorWholeCore',
    "Nova 26.2.2 takes the isolate guest's emulator CPU from a half-used core; its own claim then pins that whole core and fails with CPUPinningInvalid (nova.virt.hardware _pack_instance_onto_cores reserves the emulator pCPU per thread, not per core; not reported upstream, unchanged on master)",
  ],
];

/** Answer a fit_host case: kvcpu's (bug-free) answer, with `nova_bug` saying where and why Nova 26.2.2 differs. */
export function fitNovaHost(c: Extract<NovaCase, { kind: 'fit_host' }>, opts: FitHostOptions = {}): FitHostResult {
  const sem = opts.semantics ?? FIXED_SEMANTICS;
  const res = searchNovaHost(c, sem);
  if (opts.explainNovaBugs === false) return res;
  const notes: string[] = [];
  for (const [flag, text] of BUG_NOTES) {
    if (sem[flag] === ZED_SEMANTICS[flag]) continue;
    const other = searchNovaHost(c, { ...sem, [flag]: ZED_SEMANTICS[flag] });
    if (other.fits !== res.fits) notes.push(`${text}: Nova answers fits=${other.fits}`);
  }
  const nova = emulateNovaSearch(c);
  if (nova) {
    const zed = searchNovaHost(c, ZED_SEMANTICS);
    const zedCells = zed.cells?.map((x) => x.host_cell) ?? [];
    if (nova.fits !== zed.fits || nova.hostCells.join(',') !== zedCells.join(',')) {
      notes.push(
        `Nova 26.2.2's permutation search caches fit results on the guest cell id, which a successful fit overwrites (nova.virt.hardware.numa_fit_instance_to_host: the cache added for bug 1978372 is keyed on instance_cell.id, and a failed attempt leaves its resolved page size behind; not reported upstream, unchanged on master): Nova answers fits=${nova.fits}${nova.fits ? ` on host cells ${nova.hostCells.join(',')}` : ''}, the correct first fit is ${zed.fits ? `host cells ${zedCells.join(',')}` : 'no fit'}`,
      );
    }
  }
  return notes.length ? { ...res, nova_bug: notes.join('; ') } : res;
}

/**
 * Claim accounting (Nova numa_usage_from_instance_numa, notes §6): per host cell, memory and
 * floating-vCPU usage grow, pinned CPUs plus the emulator CPU are claimed, whole sibling groups
 * under `isolate`. Returns null if a CPU would be claimed twice (Nova: CPUPinningInvalid).
 */
export function claimNovaHost(c: Extract<NovaCase, { kind: 'fit_host' }>, cells: NovaCellAnswer[]): NovaHostAfter[] | null {
  const out: NovaHostAfter[] = [];
  for (const h of c.host.cells) {
    const pinned = new Set(h.pinned_cpus);
    let cpu = h.cpu_usage;
    let mem = h.memory_usage;
    for (const a of cells) {
      if (a.host_cell !== h.id) continue;
      const ic = c.instance.cells[a.instance_cell]!;
      mem += ic.memory;
      cpu += ic.cpuset.length;
      if (ic.cpu_policy !== 'dedicated' && ic.cpu_policy !== 'mixed') continue;
      const claim = [...(a.pinning ?? []).map(([, p]) => p), ...(a.cpuset_reserved ?? [])];
      const all = ic.cpu_thread_policy === 'isolate' ? claim.flatMap((p) => h.siblings.find((g) => g.includes(p)) ?? [p]) : claim;
      for (const p of new Set(all)) {
        if (pinned.has(p)) return null;
        pinned.add(p);
      }
    }
    out.push({ id: h.id, pinned_cpus: [...pinned].sort((x, y) => x - y), cpu_usage: Math.max(0, cpu), memory_usage: Math.max(0, mem) });
  }
  return out;
}

/** Answer a fit_cell case (one guest cell onto one host cell). */
export function fitNovaSingleCell(c: Extract<NovaCase, { kind: 'fit_cell' }>, sem: NovaSemantics = FIXED_SEMANTICS): NovaAnswer {
  const f = fitNovaCell(c.host_cell, c.instance_cell, c.limits, c.cpuset_reserved, sem);
  if (!f.ok) return { fits: false, reasons: [f.why] };
  return { fits: true, cells: [cellAnswer(0, c.host_cell, f)], reasons: [f.why] };
}

/** Answer any supported Nova case in the `kvcpu plan nova` output shape. */
export function answerNovaCase(c: NovaCase, opts: FitHostOptions = {}): NovaAnswer {
  if (c.kind === 'fit_cell') {
    const sem = opts.semantics ?? FIXED_SEMANTICS;
    const a = fitNovaSingleCell(c, sem);
    if (opts.explainNovaBugs !== false) {
      const z = fitNovaSingleCell(c, ZED_SEMANTICS);
      if (z.fits !== a.fits)
        return {
          ...a,
          nova_bug: `Nova 26.2.2 answers fits=${z.fits} here (nova.virt.hardware._numa_fit_instance_cell; fixed upstream: bug 1811886 in Nova 30.0.0, bug 1994526 in Nova 28.0.0)`,
        };
    }
    return a;
  }
  const { steps: _steps, ...rest } = fitNovaHost(c, opts);
  if (rest.fits && rest.cells) {
    const after = claimNovaHost(c, rest.cells);
    if (after) rest.host_after = after;
  }
  return rest;
}
