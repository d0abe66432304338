import { newPlanState, planGuest, refloatLegacy } from './plan-guests.ts';
import { DEFAULT_PLAN_OPTIONS, type GuestPlan, type GuestRequest, type PlanHost, type PlanOptions, type PlanState } from './plan-types.ts';

export interface FleetPlacement {
  guest: string;
  /** Host name, or null when no host could take the guest. */
  host: string | null;
  plan: GuestPlan;
}

export interface FleetResult {
  placements: FleetPlacement[];
  placed: number;
  refused: number;
  /** Per host: guests placed and dedicated CPUs left. */
  hosts: { name: string; guests: number; freeDedicated: number }[];
}

/**
 * Bin-pack guests onto hosts with the single-host rules (plan-guests.ts): first fit decreasing
 * (largest guests first, pinned before floating, each onto the first host that takes it). A
 * cheap capacity filter (free dedicated CPUs, floating-vCPU room, memory) skips hosts that
 * cannot take a guest before the full NUMA/thread-policy fit runs, so 10,000 guests × 1,000
 * hosts stays well under a second per thousand guests.
 */
export function planFleet(hosts: PlanHost[], guests: GuestRequest[], opts: Partial<PlanOptions> = {}): FleetResult {
  const o = { ...DEFAULT_PLAN_OPTIONS, ...opts };
  const states: PlanState[] = hosts.map(() => newPlanState());
  const freeDed = hosts.map((h) => h.dedicated.length);
  const sharedRoom = hosts.map((h) => Math.floor(h.shared.length * o.cpuAllocationRatio));
  const memFree = hosts.map((h) => h.nodes.reduce((s, n) => s + (n.memoryMiB ?? Infinity), 0));
  const count = hosts.map(() => 0);
  // Free dedicated CPUs of each host's fullest-free NUMA node: a one-node guest needs that much.
  const nodeFree = (h: number) => {
    const pinned = states[h]!.pinned;
    return Math.max(0, ...hosts[h]!.nodes.map((n) => n.cpus.filter((c) => !pinned.has(c) && dedicatedSets[h]!.has(c)).length));
  };
  const dedicatedSets = hosts.map((h) => new Set(h.dedicated));
  const bestNodeFree = hosts.map((_, h) => nodeFree(h));
  // Hosts only fill up during one run, so a host that refused a guest shape refuses it for good.
  const refusedShapes = hosts.map(() => new Set<string>());
  // Pinned guests first, mixed next, floating last (as planGuests), largest first within each.
  const rank = (g: GuestRequest) => (g.policy === 'dedicated' ? 0 : g.policy === 'mixed' ? 1 : 2);
  const order = guests.map((_, i) => i).sort((a, b) => rank(guests[a]!) - rank(guests[b]!) || guests[b]!.vcpus - guests[a]!.vcpus || a - b);
  const placements: FleetPlacement[] = new Array(guests.length);
  const placedOn = new Array<number>(guests.length).fill(-1);
  let placed = 0;
  for (const gi of order) {
    const g = guests[gi]!;
    const ded = g.policy === 'dedicated' ? g.vcpus : g.policy === 'mixed' ? (g.dedicatedVcpus?.length ?? 0) : 0;
    const needDed = ded + (g.emulator === 'isolate' ? 1 : 0);
    const needShared = g.vcpus - ded;
    let done: FleetPlacement | null = null;
    let last: GuestPlan | null = null;
    const shape = `${g.policy}/${g.threads}/${g.emulator}/${g.numa}/${g.vcpus}/${g.memoryMiB}/${g.l3}/${(g.dedicatedVcpus ?? []).join(':')}`;
    for (let h = 0; h < hosts.length; h++) {
      if (freeDed[h]! < needDed || sharedRoom[h]! < needShared || memFree[h]! < g.memoryMiB) continue;
      if (refusedShapes[h]!.has(shape)) continue;
      if (g.numa === 1 && bestNodeFree[h]! < needDed) continue;
      const before = states[h]!.pinned.size;
      const plan = planGuest(hosts[h]!, states[h]!, g, o);
      last = plan;
      if (!plan.fits) {
        refusedShapes[h]!.add(shape);
        continue;
      }
      freeDed[h]! -= states[h]!.pinned.size - before;
      sharedRoom[h]! -= needShared;
      memFree[h]! -= g.memoryMiB;
      count[h]!++;
      bestNodeFree[h] = nodeFree(h);
      done = { guest: g.name, host: hosts[h]!.name, plan };
      placedOn[gi] = h;
      break;
    }
    if (done) placed++;
    placements[gi] = done ?? {
      guest: g.name,
      host: null,
      plan: last ?? { name: g.name, fits: false, request: g, failed: 'no host has the free CPUs and memory for it', reasons: [] },
    };
  }
  // Legacy hosts: floating vCPUs float over what no pin took in the end.
  const perHost = hosts.map((): GuestPlan[] => []);
  placedOn.forEach((h, gi) => {
    if (h >= 0) perHost[h]!.push(placements[gi]!.plan);
  });
  hosts.forEach((h, i) => {
    if (h.legacy) refloatLegacy(h, states[i]!, perHost[i]!);
  });
  return {
    placements,
    placed,
    refused: guests.length - placed,
    hosts: hosts.map((h, i) => ({ name: h.name, guests: count[i]!, freeDedicated: freeDed[i]! })),
  };
}
