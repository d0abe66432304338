/**
 * Independent checker for native plans (property tests, `kvcpu plan` self-check). It does not
 * import the planner: it re-derives cores, nodes and claims from the host description alone.
 */
import { KvcpuError } from '../core/errors.ts';
import { planOrder } from './plan-guests.ts';
import type { GuestPlan, GuestRequest, PlanHost, PlanResult } from './plan-types.ts';

export interface GuestCheck {
  errors: string[];
  /** CPUs this guest claims, by the rules: dedicated vCPU CPUs, an isolated emulator CPU, and
   * under threads=isolate every thread of the cores those sit on. */
  claims: number[];
}

export function checkGuestPlan(host: PlanHost, pinnedBefore: ReadonlySet<number>, plan: GuestPlan): GuestCheck {
  const errors: string[] = [];
  if (!plan.fits) {
    if (!plan.failed) errors.push(`${plan.name}: refusal without a reason`);
    return { errors, claims: [] };
  }
  const req = plan.request;
  const name = plan.name;
  const coreOf = new Map<number, number[]>();
  for (const g of host.cores) for (const c of g) coreOf.set(c, g);
  const nodeOf = new Map<number, number>();
  for (const n of host.nodes) for (const c of n.cpus) nodeOf.set(c, n.id);
  const dedicatedSet = new Set(host.dedicated);
  const sharedSet = new Set(host.shared);
  const reserved = new Set(host.reserved);
  const isolated = new Set(host.isolated);
  // vCPU count and ids.
  const ids = plan.vcpus.map((v) => v.vcpu).sort((a, b) => a - b);
  if (ids.length !== req.vcpus || ids.some((v, i) => v !== i)) errors.push(`${name}: vCPUs ${ids.join(',')} != 0..${req.vcpus - 1}`);
  const wantDedicated = new Set(req.policy === 'dedicated' ? ids : req.policy === 'mixed' ? (req.dedicatedVcpus ?? []) : []);
  const pinnedCpus: number[] = [];
  for (const v of plan.vcpus) {
    if (v.dedicated !== wantDedicated.has(v.vcpu)) errors.push(`${name}: vCPU ${v.vcpu} dedicated=${v.dedicated}, policy says ${wantDedicated.has(v.vcpu)}`);
    if (v.cpus.length === 0) errors.push(`${name}: vCPU ${v.vcpu} has no CPU`);
    for (const c of v.cpus) {
      if (reserved.has(c)) errors.push(`${name}: vCPU ${v.vcpu} on housekeeping CPU ${c}`);
      if (nodeOf.get(c) !== v.node) errors.push(`${name}: vCPU ${v.vcpu} on CPU ${c} outside its node ${v.node}`);
    }
    if (v.dedicated) {
      if (v.cpus.length !== 1) errors.push(`${name}: dedicated vCPU ${v.vcpu} on ${v.cpus.length} CPUs`);
      const c = v.cpus[0]!;
      if (!dedicatedSet.has(c)) errors.push(`${name}: dedicated vCPU ${v.vcpu} on CPU ${c} outside the dedicated set`);
      if (pinnedBefore.has(c)) errors.push(`${name}: dedicated vCPU ${v.vcpu} on CPU ${c}, already claimed`);
      pinnedCpus.push(c);
    } else {
      for (const c of v.cpus) {
        if (!sharedSet.has(c)) errors.push(`${name}: floating vCPU ${v.vcpu} on CPU ${c} outside the shared set`);
        if (isolated.has(c)) errors.push(`${name}: floating vCPU ${v.vcpu} on isolcpus CPU ${c}`);
      }
    }
  }
  if (new Set(pinnedCpus).size !== pinnedCpus.length) errors.push(`${name}: two dedicated vCPUs on one CPU`);
  // Emulator.
  const emu = plan.emulator ?? [];
  const claims = new Set(pinnedCpus);
  if (req.emulator === 'isolate') {
    if (emu.length !== 1) errors.push(`${name}: emulator=isolate but ${emu.length} emulator CPUs`);
    for (const c of emu) {
      if (!dedicatedSet.has(c) || pinnedBefore.has(c) || claims.has(c)) errors.push(`${name}: isolated emulator CPU ${c} not a free dedicated CPU of its own`);
      if (reserved.has(c)) errors.push(`${name}: isolated emulator CPU ${c} is housekeeping`);
      if (nodeOf.get(c) !== plan.cells[0]?.hostNode) errors.push(`${name}: emulator CPU ${c} not with guest node 0`);
      claims.add(c);
    }
  }
  // Thread policies.
  const byCore = new Map<number[], number>();
  for (const c of pinnedCpus) byCore.set(coreOf.get(c) ?? [c], (byCore.get(coreOf.get(c) ?? [c]) ?? 0) + 1);
  if (req.policy !== 'shared' && req.threads === 'isolate') {
    const emuCores = req.emulator === 'isolate' ? emu.map((c) => coreOf.get(c) ?? [c]) : [];
    for (const [core, n] of byCore) {
      if (n > 1) errors.push(`${name}: isolate but core ${core.join(',')} holds ${n} vCPUs`);
      if (emuCores.includes(core)) errors.push(`${name}: isolate but the emulator shares core ${core.join(',')}`);
    }
    for (const core of [...byCore.keys(), ...emuCores]) {
      for (const sib of core) {
        if (!dedicatedSet.has(sib)) continue;
        if (pinnedBefore.has(sib)) errors.push(`${name}: isolate core ${core.join(',')} has sibling ${sib} claimed by another guest`);
        claims.add(sib);
      }
    }
  }
  if (req.policy !== 'shared' && req.threads === 'require') {
    if (!host.cores.some((g) => g.length > 1)) errors.push(`${name}: require on a host without SMT`);
    // Nova packs k ≥ 2 threads per core; only the last core of each guest node may hold fewer.
    for (const cell of plan.cells) {
      const per = new Map<number[], number>();
      for (const v of plan.vcpus)
        if (v.dedicated && cell.vcpus.includes(v.vcpu)) per.set(coreOf.get(v.cpus[0]!) ?? [], (per.get(coreOf.get(v.cpus[0]!) ?? []) ?? 0) + 1);
      const counts = [...per.values()];
      const k = Math.max(0, ...counts);
      const short = counts.filter((n) => n < k).length;
      const nDed = counts.reduce((a, b) => a + b, 0);
      if ((nDed > 1 && k < 2) || short > 1) {
        errors.push(
          `${name}: require but guest node ${cell.guestCell} uses cores with ${counts.join('/')} vCPUs (want k ≥ 2 per core, one short core at most)`,
        );
      }
    }
  }
  // Topology mirrors the placement: threads > 1 only on real sibling sets.
  const t = plan.topology;
  if (t.sockets * t.dies * t.clusters * t.cores * t.threads !== req.vcpus) errors.push(`${name}: topology product != vcpus`);
  if (t.threads > 1) {
    for (let v = 0; v < req.vcpus; v += t.threads) {
      const cores = new Set<number[]>();
      for (let j = 0; j < t.threads; j++) {
        const pv = plan.vcpus.find((x) => x.vcpu === v + j);
        if (!pv?.dedicated) errors.push(`${name}: threads=${t.threads} but vCPU ${v + j} is not pinned`);
        else cores.add(coreOf.get(pv.cpus[0]!) ?? []);
      }
      if (cores.size !== 1) errors.push(`${name}: guest core of vCPUs ${v}-${v + t.threads - 1} spans host cores`);
    }
  }
  // NUMA: one host node per guest node, distinct.
  const hostNodes = plan.cells.map((c) => c.hostNode);
  if (new Set(hostNodes).size !== hostNodes.length) errors.push(`${name}: two guest nodes on one host node`);
  return { errors, claims: [...claims] };
}

/** The L3 promise, checkable without a planner for a prefer guest on one node without an isolated
 * emulator: if, before the claim, some node had an L3 domain with enough free dedicated CPUs
 * (and the node had the memory), the guest's pinned CPUs must sit in one L3 domain. */
export function checkL3Kept(host: PlanHost, pinnedBefore: ReadonlySet<number>, memUsedBefore: ReadonlyMap<number, number>, plan: GuestPlan): string[] {
  if (!plan.fits) return [];
  const req = plan.request;
  if (req.policy !== 'dedicated' || req.threads !== 'prefer' || req.emulator !== 'share' || plan.cells.length !== 1 || !req.l3 || host.l3.length === 0)
    return [];
  const ded = new Set(host.dedicated);
  const possible = host.nodes.some((n) => {
    const mem = n.memoryMiB === null ? Infinity : n.memoryMiB - (memUsedBefore.get(n.id) ?? 0);
    if (mem < req.memoryMiB) return false;
    const inNode = new Set(n.cpus);
    return host.l3.some((d) => d.filter((c) => inNode.has(c) && ded.has(c) && !pinnedBefore.has(c)).length >= req.vcpus);
  });
  if (!possible) return [];
  const cpus = plan.vcpus.map((v) => v.cpus[0]!);
  const inOne = host.l3.some((d) => cpus.every((c) => d.includes(c)));
  return inOne ? [] : [`${plan.name}: an L3 domain could hold it, but its CPUs ${cpus.join(',')} span L3 domains`];
}

/**
 * Self-check of a planner answer with this independent checker, guest by guest in planning order:
 * a violation is a planner bug, never output (E_INTERNAL; `hint` says what to report).
 */
export function assertPlanValid(host: PlanHost, guests: GuestRequest[], result: PlanResult, pinned: Iterable<number>, hint: string): void {
  const claimed = new Set(pinned);
  for (const i of planOrder(guests)) {
    const chk = checkGuestPlan(host, claimed, result.guests[i]!);
    if (chk.errors.length) throw new KvcpuError('E_INTERNAL', `planner produced an invalid plan: ${chk.errors.join('; ')}`, { hint });
    chk.claims.forEach((c) => claimed.add(c));
  }
}
