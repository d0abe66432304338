import { describe, expect, it } from 'vitest';
import { syntheticPlanHost } from './build-plan-host.ts';
import { checkGuestPlan, checkL3Kept } from './check-plan.ts';
import { clonePlanState, newPlanState, planGuest, planGuests } from './plan-guests.ts';
import type { GuestRequest, PlanHost } from './plan-types.ts';
import { mulberry32 } from '../core/seeded-random.ts';

/** mulberry32: small seeded PRNG so failures replay. */
function rng(seed: number) {
  const next = mulberry32(seed);
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

function randomHost(r: ReturnType<typeof rng>): { host: PlanHost; pinned: number[] } {
  const nodes = r.int(1, 4);
  const coresPerNode = r.int(1, 8);
  const threads = r.pick([1, 2, 2, 4] as const);
  const base = syntheticPlanHost({
    nodes,
    coresPerNode,
    threads,
    numbering: r.pick(['split', 'adjacent'] as const),
    l3PerNode: r.int(1, 2),
    memoryMiBPerNode: r.pick([2048, 8192, 65536]),
  });
  const online = base.online;
  const reserved = online.filter(() => r.next() < 0.1);
  const mode = r.pick(['legacy', 'sets'] as const);
  let host: PlanHost;
  if (mode === 'legacy') host = syntheticPlanHost({ nodes, coresPerNode, threads, l3PerNode: 1, reserved, memoryMiBPerNode: base.nodes[0]!.memoryMiB! });
  else {
    const rest = online.filter((c) => !reserved.includes(c));
    const shared = rest.filter(() => r.next() < 0.3);
    host = syntheticPlanHost({
      nodes,
      coresPerNode,
      threads,
      l3PerNode: r.int(1, 2),
      reserved,
      shared,
      dedicated: rest.filter((c) => !shared.includes(c)),
      memoryMiBPerNode: base.nodes[0]!.memoryMiB!,
    });
  }
  const pinned = host.dedicated.filter(() => r.next() < 0.15);
  return { host, pinned };
}

function randomGuest(r: ReturnType<typeof rng>, i: number): GuestRequest {
  const policy = r.pick(['dedicated', 'dedicated', 'shared', 'mixed'] as const);
  const numa = r.pick([1, 1, 1, 2, 'auto'] as const);
  let vcpus = r.int(1, 12);
  if (typeof numa === 'number') vcpus = Math.max(numa, vcpus - (vcpus % numa));
  if (policy === 'mixed' && vcpus < 2) vcpus = 2;
  const dedicatedVcpus = policy === 'mixed' ? Array.from({ length: r.int(1, vcpus - 1) }, (_, j) => j) : undefined;
  return {
    name: `g${i}`,
    vcpus,
    memoryMiB: r.pick([256, 1024, 4096]),
    policy,
    threads: policy === 'shared' ? 'prefer' : r.pick(['prefer', 'prefer', 'isolate', 'require'] as const),
    emulator: policy === 'shared' ? 'share' : r.pick(['share', 'isolate'] as const),
    numa,
    l3: r.next() < 0.8,
    ...(dedicatedVcpus ? { dedicatedVcpus } : {}),
    iothreads: r.int(0, 1),
  };
}

describe('native planner invariants (seeded random hosts and guests)', () => {
  it('holds on every plan of 2,500 hosts', () => {
    let plans = 0;
    let placed = 0;
    let l3Checked = 0;
    const failures: string[] = [];
    for (let seed = 1; seed <= 2500; seed++) {
      const r = rng(seed);
      const { host, pinned } = randomHost(r);
      const state = newPlanState(pinned);
      const guests = r.int(1, 6);
      for (let i = 0; i < guests; i++) {
        const g = randomGuest(r, i);
        const before = clonePlanState(state);
        const plan = planGuest(host, state, g);
        plans++;
        const { errors, claims } = checkGuestPlan(host, before.pinned, plan);
        if (plan.fits) {
          placed++;
          // The planner's own claim must be exactly what the rules say: no more, no less.
          const added = [...state.pinned].filter((c) => !before.pinned.has(c)).sort((a, b) => a - b);
          const want = [...new Set(claims)].sort((a, b) => a - b);
          if (added.join(',') !== want.join(',')) errors.push(`${g.name}: planner claimed ${added.join(',')}, rules say ${want.join(',')}`);
          const l3 = checkL3Kept(host, before.pinned, before.memoryMiB, plan);
          if (g.policy === 'dedicated' && g.threads === 'prefer' && g.emulator === 'share') l3Checked++;
          errors.push(...l3);
        } else if (g.policy === 'dedicated' && g.threads === 'prefer' && g.emulator === 'share' && g.numa === 1) {
          // Completeness for the simple case: prefer packs onto any free CPUs, so a refusal means no node had room.
          const room = host.nodes.some((n) => {
            const free = host.dedicated.filter((c) => n.cpus.includes(c) && !before.pinned.has(c)).length;
            // Legacy layout with floating vCPUs on the node: pins must leave them room (a rule this bound does not model).
            if (host.legacy && (before.sharedVcpus.get(n.id) ?? 0) > 0) return false;
            return free >= g.vcpus && (n.memoryMiB ?? Infinity) - (before.memoryMiB.get(n.id) ?? 0) >= g.memoryMiB;
          });
          if (room) errors.push(`${g.name}: refused (${plan.failed}) although a node had room`);
        }
        if (errors.length) failures.push(`seed ${seed}: ${errors.join('; ')}`);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(plans).toBeGreaterThan(5000);
    expect(placed).toBeGreaterThan(plans / 4);
    expect(l3Checked).toBeGreaterThan(100);
  });

  it('planGuests: no CPU claimed twice across guests, and no floating vCPU over a pinned CPU', () => {
    const failures: string[] = [];
    for (let seed = 5001; seed <= 6000; seed++) {
      const r = rng(seed);
      const { host, pinned } = randomHost(r);
      const guests = Array.from({ length: r.int(2, 6) }, (_, i) => randomGuest(r, i));
      const res = planGuests(host, guests, {}, pinned);
      const dedicatedUse = new Map<number, string>();
      pinned.forEach((c) => dedicatedUse.set(c, 'pre-pinned'));
      for (const p of res.guests) {
        if (!p.fits) continue;
        const own = [...p.vcpus.filter((v) => v.dedicated).map((v) => v.cpus[0]!), ...(p.request.emulator === 'isolate' ? (p.emulator ?? []) : [])];
        for (const c of own) {
          if (dedicatedUse.has(c)) failures.push(`seed ${seed}: CPU ${c} claimed by ${p.name} and ${dedicatedUse.get(c)}`);
          dedicatedUse.set(c, p.name);
        }
      }
      for (const p of res.guests) {
        if (!p.fits) continue;
        for (const v of p.vcpus)
          if (!v.dedicated)
            for (const c of v.cpus)
              if (dedicatedUse.has(c)) failures.push(`seed ${seed}: ${p.name} vCPU ${v.vcpu} floats over ${c}, pinned by ${dedicatedUse.get(c)}`);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('the checker notices broken plans (double claim, isolate sibling, housekeeping CPU)', () => {
    const host = syntheticPlanHost({ nodes: 1, coresPerNode: 4, threads: 2, numbering: 'adjacent', reserved: [0, 1] });
    const state = newPlanState();
    const a = planGuest(host, state, {
      name: 'a',
      vcpus: 2,
      memoryMiB: 256,
      policy: 'dedicated',
      threads: 'isolate',
      emulator: 'share',
      numa: 1,
      l3: true,
      iothreads: 0,
    });
    expect(a.fits).toBe(true);
    if (!a.fits) return;
    expect(checkGuestPlan(host, new Set(), a).errors).toEqual([]);
    const sib = structuredClone(a);
    sib.vcpus[1]!.cpus = [sib.vcpus[0]!.cpus[0]! ^ 1];
    expect(checkGuestPlan(host, new Set(), sib).errors.join(' ')).toMatch(/isolate but core/);
    const twice = structuredClone(a);
    twice.vcpus[1]!.cpus = [...twice.vcpus[0]!.cpus];
    expect(checkGuestPlan(host, new Set(), twice).errors.join(' ')).toMatch(/two dedicated vCPUs on one CPU/);
    const hk = structuredClone(a);
    hk.vcpus[0]!.cpus = [0];
    expect(checkGuestPlan(host, new Set(), hk).errors.join(' ')).toMatch(/housekeeping/);
    expect(checkGuestPlan(host, new Set(a.vcpus[0]!.cpus), a).errors.join(' ')).toMatch(/already claimed/);
  });
});
