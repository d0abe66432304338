import { formatCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import { assignCells } from './assign-cells.ts';
import { fitNovaCell, FIXED_SEMANTICS, type CellFit, type NovaSemantics } from './fit-nova-cell.ts';
import type { NovaHostCell, NovaInstanceCell, NovaLimits } from './nova-case.ts';
import {
  DEFAULT_PLAN_OPTIONS,
  type GuestPlan,
  type GuestPlanOk,
  type GuestRequest,
  type GuestTopologyChoice,
  type HostAfter,
  type PlanHost,
  type PlannedCell,
  type PlannedVcpu,
  type PlanOptions,
  type PlanResult,
  type PlanState,
} from './plan-types.ts';

/**
 * kvcpu's native planner. It reuses the Nova cell rules (fit-nova-cell.ts: memory, no
 * self-overcommit, free pCPUs, thread policies, emulator CPU, allocation ratios) and adds what
 * Nova does not do: housekeeping CPUs and isolcpus kept out (build-plan-host.ts), a guest node's
 * pinned CPUs kept inside one L3 domain when any node can do that, pack or spread across NUMA
 * nodes, "fewest NUMA nodes that fit", and `isolate` on SMT hosts meaning whole cores (Nova
 * refuses isolate there when cpu_dedicated_set is used, bug 1889633).
 */

// Native semantics: Nova's rules with its known defects fixed; isolate = whole cores on SMT hosts.
const NATIVE: NovaSemantics = { ...FIXED_SEMANTICS, isolateRefusesSmtDedicatedSet: false };
/** Nova models node memory; a host without per-node meminfo gets an effectively unlimited node. */
const UNKNOWN_MEMORY_MIB = 2 ** 40;

export function newPlanState(pinned: Iterable<number> = []): PlanState {
  return { pinned: new Set(pinned), sharedVcpus: new Map(), memoryMiB: new Map() };
}

export function clonePlanState(s: PlanState): PlanState {
  return { pinned: new Set(s.pinned), sharedVcpus: new Map(s.sharedVcpus), memoryMiB: new Map(s.memoryMiB) };
}

interface NodeView {
  node: PlanHost['nodes'][number];
  cell: NovaHostCell;
  /** Sibling groups of the node's dedicated CPUs. */
  groups: number[][];
  /** L3 domains ∩ this node's CPUs. */
  l3: number[][];
}

/** What never changes for a host during planning, computed once per host object. */
interface HostIndex {
  coreOf: Map<number, number>;
  nodeOf: Map<number, number>;
  nodes: { pcpuset: number[]; groups: number[][]; shared: number[]; l3: number[][] }[];
}
const indexes = new WeakMap<PlanHost, HostIndex>();

function indexHost(host: PlanHost): HostIndex {
  const cached = indexes.get(host);
  if (cached) return cached;
  const coreOf = new Map<number, number>();
  host.cores.forEach((g, i) => g.forEach((c) => coreOf.set(c, i)));
  const nodeOf = new Map<number, number>();
  host.nodes.forEach((n) => n.cpus.forEach((c) => nodeOf.set(c, n.id)));
  const dedicated = new Set(host.dedicated);
  const nodes = host.nodes.map((n) => {
    const inNode = new Set(n.cpus);
    const ded = new Set(host.dedicated.filter((c) => inNode.has(c)));
    return {
      pcpuset: [...ded].sort((a, b) => a - b),
      groups: host.cores.map((g) => g.filter((c) => ded.has(c))).filter((g) => g.length > 0),
      shared: host.shared.filter((c) => inNode.has(c)),
      l3: host.l3.map((d) => d.filter((x) => inNode.has(x))).filter((d) => d.length > 0 && d.some((c) => dedicated.has(c))),
    };
  });
  const idx = { coreOf, nodeOf, nodes };
  indexes.set(host, idx);
  return idx;
}

function nodeView(host: PlanHost, state: PlanState, nodeIdx: number): NodeView {
  const node = host.nodes[nodeIdx]!;
  const ix = indexHost(host);
  const n = ix.nodes[nodeIdx]!;
  const pinnedHere: number[] = [];
  for (const c of state.pinned) if (ix.nodeOf.get(c) === node.id) pinnedHere.push(c);
  const cell: NovaHostCell = {
    id: node.id,
    cpuset: host.legacy && state.pinned.size ? n.shared.filter((c) => !state.pinned.has(c)) : n.shared,
    pcpuset: n.pcpuset,
    siblings: n.groups,
    memory: node.memoryMiB ?? UNKNOWN_MEMORY_MIB,
    memory_usage: state.memoryMiB.get(node.id) ?? 0,
    cpu_usage: state.sharedVcpus.get(node.id) ?? 0,
    pinned_cpus: pinnedHere,
    mempages: [],
  };
  return { node, cell, groups: n.groups, l3: n.l3 };
}

/** The same cell limited to one L3 domain's dedicated CPUs (floating CPUs stay node-wide). */
function restrictCell(cell: NovaHostCell, domain: Set<number>): NovaHostCell {
  return {
    ...cell,
    pcpuset: cell.pcpuset.filter((c) => domain.has(c)),
    siblings: cell.siblings.map((g) => g.filter((c) => domain.has(c))).filter((g) => g.length > 0),
    pinned_cpus: cell.pinned_cpus.filter((c) => domain.has(c)),
  };
}

function freeCount(cell: NovaHostCell): number {
  const p = new Set(cell.pinned_cpus);
  return cell.pcpuset.filter((c) => !p.has(c)).length;
}

function instanceCells(req: GuestRequest, n: number): NovaInstanceCell[] {
  const per = req.vcpus / n;
  const dedicated = new Set(
    req.policy === 'dedicated' ? Array.from({ length: req.vcpus }, (_, i) => i) : req.policy === 'mixed' ? (req.dedicatedVcpus ?? []) : [],
  );
  const mem = Math.floor(req.memoryMiB / n);
  return Array.from({ length: n }, (_, i) => {
    const ids = Array.from({ length: per }, (_, j) => i * per + j);
    return {
      id: i,
      pcpuset: ids.filter((v) => dedicated.has(v)),
      cpuset: ids.filter((v) => !dedicated.has(v)),
      memory: i === n - 1 ? req.memoryMiB - mem * (n - 1) : mem,
      pagesize: null,
      cpu_policy: req.policy,
      cpu_thread_policy: req.policy === 'shared' ? null : req.threads,
    };
  });
}

/** Refuse requests Nova would refuse as invalid (nova/virt/hardware.py numa_get_constraints). */
export function validateGuestRequest(req: GuestRequest): void {
  const badReq = (msg: string, hint: string): never => {
    throw new KvcpuError('E_BAD_INPUT', `guest ${req.name}: ${msg}`, { hint });
  };
  if (!Number.isInteger(req.vcpus) || req.vcpus < 1) badReq(`vcpus must be a positive integer, got ${req.vcpus}`, 'e.g. vcpus=4');
  if (req.policy === 'shared' && req.threads !== 'prefer')
    badReq(`threads=${req.threads} needs policy dedicated or mixed`, 'thread policies apply to pinned vCPUs only (Nova CPUThreadPolicyConfigurationInvalid)');
  if (req.policy === 'shared' && req.emulator === 'isolate')
    badReq('emulator=isolate needs policy dedicated or mixed', 'an isolated emulator CPU is a pinned CPU (Nova BadRequirementEmulatorThreadsPolicy)');
  if (req.policy === 'mixed') {
    const m = req.dedicatedVcpus ?? [];
    if (m.length === 0 || m.length >= req.vcpus)
      badReq('policy=mixed needs mask= naming some, not all, dedicated vCPUs', 'e.g. mask=0-1 (Nova hw:cpu_dedicated_mask)');
    if (m.some((v) => v < 0 || v >= req.vcpus)) badReq(`mask names vCPUs outside 0-${req.vcpus - 1}`, 'vCPU ids start at 0');
  }
  if (typeof req.numa === 'number' && (req.numa < 1 || req.vcpus % req.numa !== 0)) {
    badReq(`${req.vcpus} vCPUs do not split evenly over numa=${req.numa} nodes`, 'pick a node count that divides vcpus (Nova ImageNUMATopologyAsymmetric)');
  }
}

function orderNodes(views: NodeView[], req: GuestRequest, pack: boolean): NodeView[] {
  // Nova's three stable sorts (notes §5) folded into one comparator: the last sort decides first.
  const keyed = views.map((v, i) => ({ v, i, mem: v.cell.memory - v.cell.memory_usage, free: freeCount(v.cell), usage: v.cell.cpu_usage }));
  const shared = req.policy === 'shared';
  keyed.sort((a, b) => {
    const primary = shared ? (pack ? b.usage - a.usage : a.usage - b.usage) : pack ? a.free - b.free : b.free - a.free;
    if (primary) return primary;
    const mem = pack ? a.mem - b.mem : b.mem - a.mem;
    return mem || a.i - b.i;
  });
  return keyed.map((k) => k.v);
}

type Fit = Extract<CellFit, { ok: true }> & { l3: number[] | null };

/** CPUs a fit claims in its node: pinned vCPUs, the emulator CPU, whole cores under isolate. */
function claimOf(view: NodeView, fit: Extract<CellFit, { ok: true }>, req: GuestRequest): Set<number> {
  const out = new Set<number>();
  for (const p of [...(fit.pinning ?? []).map(([, q]) => q), ...(fit.reserved ?? [])]) {
    if (req.threads === 'isolate') for (const q of view.groups.find((g) => g.includes(p)) ?? [p]) out.add(q);
    else out.add(p);
  }
  return out;
}

/** Floating vCPUs' CPUs: the node's shared set minus what this guest itself pins (legacy layout). */
function floatingSet(host: PlanHost, view: NodeView, fit: Extract<CellFit, { ok: true }>, req: GuestRequest): number[] {
  if (!host.legacy) return view.cell.cpuset;
  const own = claimOf(view, fit, req);
  return view.cell.cpuset.filter((c) => !own.has(c));
}

/**
 * Legacy layout (pinned and floating guests share CPUs): a pin must not take the CPUs floating
 * vCPUs live on. After this claim the node keeps enough unpinned shared CPUs for every floating
 * vCPU already there plus this guest's (allocation ratio), and at least one per floating vCPU of
 * this guest (no self-overcommit). Nova does not check this (notes §8 item 5).
 */
function legacyCheck(host: PlanHost, view: NodeView, cell: NovaInstanceCell, f: CellFit, req: GuestRequest, opts: PlanOptions): CellFit {
  if (!f.ok || !host.legacy) return f;
  const own = claimOf(view, f, req);
  if (own.size === 0) return f;
  const left = view.cell.cpuset.filter((c) => !own.has(c)).length;
  const floats = view.cell.cpu_usage + cell.cpuset.length;
  if (floats === 0) return f;
  if (cell.cpuset.length > left || floats > left * opts.cpuAllocationRatio || left === 0) {
    return {
      ok: false,
      why: `legacy layout: after pinning, ${left} unpinned CPUs would remain for ${floats} floating vCPUs on host node ${view.node.id}`,
      pagesize: null,
      packed: true,
    };
  }
  return f;
}

/** Guest topology that mirrors the pinning: threads=t only when each host core holds t consecutive vCPUs. */
function mirrorTopology(req: GuestRequest, cells: { vcpus: number[]; pinning: [number, number][] | null }[], coreOf: Map<number, number>): GuestTopologyChoice {
  const n = cells.length;
  const per = req.vcpus / n;
  let threads = 1;
  if (req.policy === 'dedicated') {
    const perCore = new Map<number, number[]>();
    for (const c of cells)
      for (const [v, p] of c.pinning ?? []) {
        const k = coreOf.get(p) ?? -1 - p;
        const list = perCore.get(k);
        if (list) list.push(v);
        else perCore.set(k, [v]);
      }
    const sizes = new Set([...perCore.values()].map((vs) => vs.length));
    const t = [...sizes][0] ?? 1;
    const consecutive = [...perCore.values()].every((vs) => {
      const s = [...vs].sort((a, b) => a - b);
      return s[0]! % t === 0 && s.every((v, i) => v === s[0]! + i);
    });
    if (sizes.size === 1 && t > 1 && per % t === 0 && consecutive) threads = t;
  }
  return { sockets: n, dies: 1, clusters: 1, cores: per / threads, threads };
}

/** Plan one guest on `host` given `state`; on success the claim is applied to `state`. */
export function planGuest(host: PlanHost, state: PlanState, req: GuestRequest, opts: PlanOptions = DEFAULT_PLAN_OPTIONS): GuestPlan {
  validateGuestRequest(req);
  const limits: NovaLimits = { cpu_allocation_ratio: opts.cpuAllocationRatio, ram_allocation_ratio: opts.ramAllocationRatio };
  const pack = opts.placement === 'pack';
  const views = orderNodes(
    host.nodes.map((_, i) => nodeView(host, state, i)),
    req,
    pack,
  );
  const counts = req.numa === 'auto' ? [1, 2, 3, 4, 6, 8, 12, 16, 32].filter((n) => n <= views.length && req.vcpus % n === 0) : [req.numa];
  const coreOf = indexHost(host).coreOf;
  let firstFailure: { failed: string; reasons: string[] } | null = null;
  for (const n of counts) {
    if (n > views.length) {
      firstFailure ??= { failed: `numa=${n}: host has ${views.length} NUMA node(s) with CPUs`, reasons: [] };
      continue;
    }
    const cells = instanceCells(req, n);
    const R = (i: number) => (req.emulator === 'isolate' && i === 0 ? 1 : 0);
    const fitCell = (v: NodeView, hostCell: NovaHostCell, c: NovaInstanceCell, i: number): CellFit =>
      legacyCheck(host, v, c, fitNovaCell(hostCell, c, limits, R(i), NATIVE), req, opts);
    const plain: CellFit[][] = cells.map((c, i) => views.map((v) => fitCell(v, v.cell, c, i)));
    const wantsL3 = req.l3 && host.l3.length > 0 && req.policy !== 'shared';
    let fits: (Fit | null)[][] = plain.map((row) => row.map((f) => (f.ok ? { ...f, l3: null } : null)));
    let pick: number[] | null = null;
    if (wantsL3) {
      const l3Fits = cells.map((c, i) =>
        views.map((v): Fit | null => {
          if (!plain[i]![views.indexOf(v)]!.ok) return null;
          const doms = v.l3;
          if (doms.length <= 1 && doms[0]?.length === v.node.cpus.length) {
            // One L3 for the whole node: any fit is L3-local.
            const f = plain[i]![views.indexOf(v)] as Extract<CellFit, { ok: true }>;
            return { ...f, l3: doms[0] ?? null };
          }
          const rc = doms.map((d) => {
            const cell = restrictCell(v.cell, new Set(d));
            return { d, cell, free: freeCount(cell) };
          });
          rc.sort((a, b) => (pack ? a.free - b.free : b.free - a.free));
          for (const { d, cell } of rc) {
            const f = fitCell(v, cell, c, i);
            if (f.ok) return { ...f, l3: d };
          }
          return null;
        }),
      );
      const found = assignCells(
        l3Fits.map((row) => row.map(Boolean)),
        views.length,
      ).pick;
      if (found) {
        pick = found;
        fits = l3Fits;
      }
    }
    const l3Kept = pick !== null;
    if (!pick)
      pick = assignCells(
        fits.map((row) => row.map(Boolean)),
        views.length,
      ).pick;
    if (!pick) {
      const reasons: string[] = [];
      let failed = '';
      cells.forEach((_, i) => {
        plain[i]!.forEach((f, h) => {
          if (!f.ok) {
            const line = `guest node ${i} on host node ${views[h]!.node.id}: ${f.why}`;
            reasons.push(line);
            if (!failed && !plain[i]!.some((g) => g.ok)) failed = line;
          }
        });
      });
      if (!failed) failed = `numa=${n}: the guest nodes cannot each get their own host node`;
      firstFailure ??= { failed, reasons };
      continue;
    }
    return commit(
      host,
      state,
      req,
      views,
      cells,
      pick.map((h, i) => ({ view: views[h]!, fit: fits[i]![h]! })),
      coreOf,
      wantsL3,
      l3Kept,
      pack,
    );
  }
  const f = firstFailure ?? { failed: 'no NUMA node count to try', reasons: [] };
  return { name: req.name, fits: false, request: req, failed: f.failed, reasons: f.reasons };
}

function commit(
  host: PlanHost,
  state: PlanState,
  req: GuestRequest,
  views: NodeView[],
  cells: NovaInstanceCell[],
  chosen: { view: NodeView; fit: Fit }[],
  coreOf: Map<number, number>,
  wantsL3: boolean,
  l3Kept: boolean,
  pack: boolean,
): GuestPlanOk {
  const vcpus: PlannedVcpu[] = [];
  const planned: PlannedCell[] = [];
  const reasons: string[] = [];
  let reservedCpus: number[] = [];
  reasons.push(`NUMA nodes tried ${pack ? 'fullest' : 'emptiest'} first (${orderWords(pack)}): ${views.map((v) => v.node.id).join(',')}`);
  chosen.forEach(({ view, fit }, i) => {
    const cell = cells[i]!;
    const pin = new Map(fit.pinning ?? []);
    for (const v of [...cell.pcpuset, ...cell.cpuset].sort((a, b) => a - b)) {
      const p = pin.get(v);
      vcpus.push(
        p === undefined
          ? { vcpu: v, cpus: floatingSet(host, view, fit, req), dedicated: false, node: view.node.id }
          : { vcpu: v, cpus: [p], dedicated: true, node: view.node.id },
      );
    }
    if (fit.reserved) reservedCpus = reservedCpus.concat(fit.reserved);
    const l3 = fit.l3;
    planned.push({
      guestCell: i,
      hostNode: view.node.id,
      vcpus: [...cell.pcpuset, ...cell.cpuset].sort((a, b) => a - b),
      memoryMiB: cell.memory,
      l3,
      why: fit.why,
    });
    reasons.push(`guest node ${i} -> host node ${view.node.id}: ${fit.why}${l3 ? `; inside L3 domain ${formatCpulist(l3)}` : ''}`);
  });
  if (wantsL3 && !l3Kept) reasons.push('L3: no single L3 domain can hold a guest node with these rules, so pinned CPUs span L3 domains');
  vcpus.sort((a, b) => a.vcpu - b.vcpu);
  // Emulator threads: isolate -> the reserved CPU; share -> the shared set, else housekeeping, else the guest's own CPUs.
  let emulator: number[] | null;
  const own = [...new Set(vcpus.flatMap((v) => v.cpus))].sort((a, b) => a - b);
  if (req.emulator === 'isolate') {
    emulator = reservedCpus;
    reasons.push(`emulator threads on their own CPU ${formatCpulist(reservedCpus)} (emulator=isolate), with guest node 0`);
  } else if (req.policy === 'shared') {
    emulator = own;
    reasons.push('emulator threads float with the vCPUs (shared guest)');
  } else {
    const sharedNow = host.shared.filter((c) => !(host.legacy && state.pinned.has(c)) && !vcpus.some((v) => v.dedicated && v.cpus[0] === c));
    if (!host.legacy && sharedNow.length) {
      emulator = sharedNow;
      reasons.push(`emulator threads on the shared set ${formatCpulist(sharedNow)} (emulator=share, like Nova with cpu_shared_set)`);
    } else if (host.reserved.length) {
      emulator = [...host.reserved];
      reasons.push(`emulator threads on housekeeping CPUs ${formatCpulist(host.reserved)} (emulator=share, no shared set)`);
    } else {
      emulator = own;
      reasons.push("emulator threads share the guest's own pinned CPUs (emulator=share, no shared set or housekeeping CPUs)");
    }
  }
  const iothreads: Record<string, number[]> = {};
  for (let i = 0; i < req.iothreads; i++) iothreads[`iothread${i}`] = emulator;
  // Claim (Nova numa_usage_from_instance_numa): pinned CPUs + emulator CPU; isolate claims whole cores.
  const claim: number[] = [];
  chosen.forEach(({ view, fit }) => {
    const cpus = [...(fit.pinning ?? []).map(([, p]) => p), ...(fit.reserved ?? [])];
    for (const p of cpus) {
      if (req.threads === 'isolate') claim.push(...(view.groups.find((g) => g.includes(p)) ?? [p]));
      else claim.push(p);
    }
  });
  for (const p of claim) {
    if (state.pinned.has(p)) throw new KvcpuError('E_INTERNAL', `planner bug: CPU ${p} claimed twice (guest ${req.name})`);
  }
  claim.forEach((p) => state.pinned.add(p));
  chosen.forEach(({ view }, i) => {
    const id = view.node.id;
    state.sharedVcpus.set(id, (state.sharedVcpus.get(id) ?? 0) + cells[i]!.cpuset.length);
    state.memoryMiB.set(id, (state.memoryMiB.get(id) ?? 0) + cells[i]!.memory);
  });
  if (req.threads === 'isolate') reasons.push(`isolate: whole cores claimed (${formatCpulist(claim)}), their sibling threads are never handed out`);
  const topology = mirrorTopology(
    req,
    chosen.map(({ fit }, i) => ({ vcpus: planned[i]!.vcpus, pinning: fit.pinning })),
    coreOf,
  );
  reasons.push(
    topology.threads > 1
      ? `topology: ${topology.sockets} socket(s) × ${topology.cores} cores × ${topology.threads} threads, because each host core holds ${topology.threads} consecutive vCPUs`
      : `topology: ${topology.sockets} socket(s) × ${topology.cores} cores × 1 thread (vCPUs are not pinned to real sibling pairs, so the guest must not think they are)`,
  );
  return { name: req.name, fits: true, request: req, vcpus, emulator, iothreads, cells: planned, topology, reasons };
}

function orderWords(pack: boolean): string {
  return pack ? 'pack: fewest free CPUs first' : 'spread: most free CPUs first';
}

export function hostAfter(host: PlanHost, state: PlanState, opts: PlanOptions = DEFAULT_PLAN_OPTIONS): HostAfter {
  return {
    pinned: formatCpulist(state.pinned),
    freeDedicated: formatCpulist(host.dedicated.filter((c) => !state.pinned.has(c))),
    nodes: host.nodes.map((n) => {
      const inNode = new Set(n.cpus);
      const shared = host.shared.filter((c) => inNode.has(c) && !(host.legacy && state.pinned.has(c)));
      return {
        id: n.id,
        sharedVcpus: state.sharedVcpus.get(n.id) ?? 0,
        sharedCapacity: Math.floor(shared.length * opts.cpuAllocationRatio),
        memoryUsedMiB: state.memoryMiB.get(n.id) ?? 0,
        memoryMiB: n.memoryMiB,
      };
    }),
  };
}

/** The order planGuests plans in: pinned claims first, so floating vCPUs see every pin and none
 * floats over a pinned CPU; input order otherwise. */
export function planOrder(guests: GuestRequest[]): number[] {
  const rank = (g: GuestRequest) => (g.policy === 'dedicated' ? 0 : g.policy === 'mixed' ? 1 : 2);
  return guests.map((_, i) => i).sort((a, b) => rank(guests[a]!) - rank(guests[b]!) || a - b);
}

/** Plan guests one after another on one host (each sees the claims of the ones before it). */
export function planGuests(
  host: PlanHost,
  guests: GuestRequest[],
  opts: Partial<PlanOptions> = {},
  pinned: Iterable<number> = [],
  /** Floating vCPUs already on each node (running guests, see running-usage.ts). */
  sharedVcpus: Map<number, number> = new Map(),
): PlanResult {
  const o = { ...DEFAULT_PLAN_OPTIONS, ...opts };
  const state = newPlanState(pinned);
  for (const [n, k] of sharedVcpus) state.sharedVcpus.set(n, k);
  const order = planOrder(guests);
  const plans: GuestPlan[] = new Array(guests.length);
  for (const i of order) plans[i] = planGuest(host, state, guests[i]!, o);
  if (host.legacy) refloatLegacy(host, state, plans);
  return { host: host.name, guests: plans, hostAfter: hostAfter(host, state, o), notes: host.notes };
}

/** Legacy layout: floating vCPUs float over the node's shared CPUs minus every final pin. */
export function refloatLegacy(host: PlanHost, state: PlanState, plans: GuestPlan[]): void {
  const byNode = new Map(host.nodes.map((n) => [n.id, host.shared.filter((c) => n.cpus.includes(c) && !state.pinned.has(c))]));
  for (const p of plans) {
    if (!p.fits) continue;
    for (const v of p.vcpus) {
      const now = byNode.get(v.node) ?? [];
      if (!v.dedicated && now.length) v.cpus = now;
    }
    if (p.request.policy === 'shared') p.emulator = [...new Set(p.vcpus.flatMap((v) => v.cpus))].sort((a, b) => a - b);
  }
}
