import { describe, expect, it } from 'vitest';
import type { HostSnapshot } from '../host/types.ts';
import { buildPlanHost, syntheticPlanHost } from './build-plan-host.ts';
import { checkGuestPlan } from './check-plan.ts';
import { parseGuestSpec, guestsFromJson } from './parse-guest-spec.ts';
import { planFleet } from './plan-fleet.ts';
import { newPlanState, planGuest, planGuests } from './plan-guests.ts';
import type { GuestPlanOk, GuestRequest } from './plan-types.ts';
import { renderPlan, toPinPlanJson } from './render-plan.ts';
import { PinPlanSchema } from './pin-plan.ts';

const g = (spec: string): GuestRequest => parseGuestSpec(spec);
const ok = (p: ReturnType<typeof planGuest>): GuestPlanOk => {
  if (!p.fits) throw new Error(`refused: ${p.failed}`);
  return p;
};
const cpusOf = (p: GuestPlanOk) => p.vcpus.flatMap((v) => (v.dedicated ? v.cpus : []));

describe('parseGuestSpec', () => {
  it('reads every key, with mask lists containing commas', () => {
    expect(parseGuestSpec('name=g1,vcpus=4,policy=mixed,mask=0-1,3,threads=require,emulator=isolate,numa=auto,l3=false,memory=2048,iothreads=2')).toEqual({
      name: 'g1',
      vcpus: 4,
      memoryMiB: 2048,
      policy: 'mixed',
      threads: 'require',
      emulator: 'isolate',
      numa: 'auto',
      l3: false,
      dedicatedVcpus: [0, 1, 3],
      iothreads: 2,
    });
    expect(parseGuestSpec('vcpus=4,policy=mixed,mask=^0').dedicatedVcpus).toEqual([1, 2, 3]);
  });
  it('refuses unknown keys and bad values with E_BAD_INPUT', () => {
    expect(() => parseGuestSpec('vcpus=4,colour=red')).toThrow(/unknown key "colour"/);
    expect(() => parseGuestSpec('vcpus=4,threads=maybe')).toThrow(/threads=maybe/);
    expect(() => parseGuestSpec('name=x')).toThrow(/vcpus= is required/);
    expect(() => guestsFromJson({ nope: 1 })).toThrow(/expected an array/);
  });
});

describe('buildPlanHost keeps the CPU sets coherent with the host', () => {
  const snap = {
    root: '/x',
    cpus: { online: '0-7', isolated: '4-7', offline: '', possible: '0-7', present: '0-7', kernelMax: null },
    numa: { nodes: [{ id: 0, cpus: '0-7', memoryKb: 8 << 20, distances: null }] },
    topology: { coreGroups: ['0,4', '1,5', '2,6', '3,7'], l3Domains: ['0-7'] },
  } as unknown as HostSnapshot;
  it('keeps isolcpus out of the shared set and housekeeping out of both', () => {
    const h = buildPlanHost(snap, { reserved: '0' });
    expect(h.shared).toEqual([1, 2, 3]);
    expect(h.dedicated).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(h.notes.join(' ')).toMatch(/isolcpus 4-7 kept out of the shared set/);
  });
  it('refuses overlapping or offline sets (E_PLAN_SETS)', () => {
    expect(() => buildPlanHost(snap, { shared: '3-4' })).toThrow(/overlaps isolcpus/);
    expect(() => buildPlanHost(snap, { dedicated: '1-3', shared: '3' })).toThrow(/overlap: CPUs 3/);
    expect(() => buildPlanHost(snap, { reserved: '9' })).toThrow(/not online/);
  });
});

describe('planGuest rules', () => {
  const smt = () =>
    syntheticPlanHost({
      nodes: 2,
      coresPerNode: 4,
      threads: 2,
      numbering: 'split',
      reserved: [0, 8],
      dedicated: [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15],
      shared: [],
    });

  it('prefer packs sibling pairs and mirrors them as threads=2', () => {
    const p = ok(planGuest(smt(), newPlanState(), g('name=a,vcpus=4')));
    // split numbering: core k = {k, k+8}; node 1 (more free CPUs) is tried first.
    expect(cpusOf(p)).toEqual([4, 12, 5, 13]);
    expect(p.topology).toMatchObject({ sockets: 1, cores: 2, threads: 2 });
  });

  it('isolate takes whole cores (also on an SMT host with a dedicated set) and never hands out their siblings', () => {
    const host = smt();
    const s = newPlanState();
    const a = ok(planGuest(host, s, g('name=a,vcpus=3,threads=isolate')));
    expect(a.topology.threads).toBe(1);
    for (const c of cpusOf(a)) expect(s.pinned.has(c < 8 ? c + 8 : c - 8)).toBe(true);
    const b = ok(planGuest(host, s, g('name=b,vcpus=4,threads=prefer')));
    for (const c of cpusOf(b)) expect(cpusOf(a).map((x) => (x < 8 ? x + 8 : x - 8))).not.toContain(c);
  });

  it('require refuses a host without SMT, naming the constraint', () => {
    const flat = syntheticPlanHost({ nodes: 1, coresPerNode: 8, threads: 1 });
    const p = planGuest(flat, newPlanState(), g('name=r,vcpus=2,threads=require'));
    expect(p.fits).toBe(false);
    expect(!p.fits && p.failed).toMatch(/require: host cell has no SMT siblings/);
  });

  it('emulator=isolate takes one extra dedicated CPU with guest node 0', () => {
    const s = newPlanState();
    const p = ok(planGuest(smt(), s, g('name=e,vcpus=2,emulator=isolate,numa=2')));
    expect(p.emulator).toHaveLength(1);
    expect(cpusOf(p)).not.toContain(p.emulator![0]);
    expect(s.pinned.size).toBe(3);
    expect(p.vcpus.find((v) => v.vcpu === 0)!.node).toBe(p.cells[0]!.hostNode);
  });

  it('mixed splits dedicated and floating vCPUs; floating ones respect the allocation ratio', () => {
    const host = syntheticPlanHost({ nodes: 1, coresPerNode: 4, threads: 1, shared: [0, 1], dedicated: [2, 3] });
    const s = newPlanState();
    const m = ok(planGuest(host, s, g('name=m,vcpus=3,policy=mixed,mask=0'), { placement: 'spread', cpuAllocationRatio: 2, ramAllocationRatio: 1 }));
    expect(m.vcpus.map((v) => [v.dedicated, v.cpus])).toEqual([
      [true, [2]],
      [false, [0, 1]],
      [false, [0, 1]],
    ]);
    // 2 shared CPUs × ratio 2 = 4 floating vCPUs; 2 are used, so 2 more fit and a third does not.
    ok(planGuest(host, s, g('name=s1,vcpus=2,policy=shared'), { placement: 'spread', cpuAllocationRatio: 2, ramAllocationRatio: 1 }));
    const no = planGuest(host, s, g('name=s2,vcpus=1,policy=shared'), { placement: 'spread', cpuAllocationRatio: 2, ramAllocationRatio: 1 });
    expect(!no.fits && no.failed).toMatch(/cpu_allocation_ratio/);
  });

  it('spread puts guests on different NUMA nodes, pack on the same one', () => {
    const host = syntheticPlanHost({ nodes: 2, coresPerNode: 4, threads: 1 });
    const spread = planGuests(host, [g('name=a,vcpus=2'), g('name=b,vcpus=2')], { placement: 'spread' }).guests as GuestPlanOk[];
    expect(new Set(spread.map((p) => p.cells[0]!.hostNode)).size).toBe(2);
    const pack = planGuests(host, [g('name=a,vcpus=2'), g('name=b,vcpus=2')], { placement: 'pack' }).guests as GuestPlanOk[];
    expect(new Set(pack.map((p) => p.cells[0]!.hostNode)).size).toBe(1);
  });

  it('numa=auto picks the fewest guest nodes that fit', () => {
    const host = syntheticPlanHost({ nodes: 4, coresPerNode: 4, threads: 1 });
    expect(ok(planGuest(host, newPlanState(), g('name=a,vcpus=4,numa=auto'))).cells).toHaveLength(1);
    expect(ok(planGuest(host, newPlanState(), g('name=a,vcpus=8,numa=auto'))).cells).toHaveLength(2);
    expect(planGuest(host, newPlanState(), g('name=a,vcpus=8')).fits).toBe(false);
  });

  it('keeps a guest inside one L3 domain when one can hold it, even if another node is emptier', () => {
    const host = syntheticPlanHost({ nodes: 2, coresPerNode: 8, threads: 1, l3PerNode: 2 });
    const s = newPlanState([0, 1, 2, 4, 5, 6]); // node 0: each L3 (0-3, 4-7) has 1 free CPU
    s.pinned.add(8); // node 1: L3 8-11 has 3 free, 12-15 has 4
    const p = ok(planGuest(host, s, g('name=a,vcpus=4')));
    expect(cpusOf(p)).toEqual([12, 13, 14, 15]);
    expect(p.cells[0]!.l3).toEqual([12, 13, 14, 15]);
  });

  it('refuses a guest that cannot fit with the failed constraint as a value', () => {
    const p = planGuest(syntheticPlanHost({ nodes: 1, coresPerNode: 2, threads: 1 }), newPlanState(), g('name=big,vcpus=3'));
    expect(p).toMatchObject({ fits: false, failed: expect.stringMatching(/3 dedicated CPUs > 2/) });
  });

  it('renders a pin plan the schema accepts, and libvirt XML with the same CPUs', () => {
    const r = planGuests(smt(), [g('name=a,vcpus=2,emulator=isolate'), g('name=b,vcpus=99')]);
    const j = PinPlanSchema.parse(toPinPlanJson(r));
    expect(j.guests.map((x) => x.name)).toEqual(['a']);
    const xml = renderPlan(r, 'libvirt');
    for (const [v, c] of Object.entries(j.guests[0]!.vcpus)) expect(xml).toContain(`<vcpupin vcpu='${v}' cpuset='${c}'/>`);
    expect(xml).toContain('guest b refused');
  });
});

describe('planFleet', () => {
  it('bin-packs guests onto hosts with the single-host rules, never double-claiming a CPU', () => {
    const hosts = Array.from({ length: 20 }, (_, i) => syntheticPlanHost({ name: `h${i}`, nodes: 2, coresPerNode: 4, threads: 2, l3PerNode: 1 }));
    const guests = Array.from({ length: 200 }, (_, i) =>
      i % 7 === 6
        ? g(`name=g${i},vcpus=2,policy=shared`)
        : i % 7 === 5
          ? g(`name=g${i},vcpus=3,policy=mixed,mask=0`)
          : g(`name=g${i},vcpus=${[1, 2, 4][i % 3]},threads=${['prefer', 'isolate', 'require'][i % 3]}`),
    );
    const r = planFleet(hosts, guests);
    expect(r.placed + r.refused).toBe(200);
    expect(r.placed).toBeGreaterThan(60);
    const claimed = new Map<string, Set<number>>();
    for (const p of r.placements) {
      if (!p.host) continue;
      const set = claimed.get(p.host) ?? new Set();
      const host = hosts.find((h) => h.name === p.host)!;
      const chk = checkGuestPlan(host, set, p.plan);
      expect(chk.errors).toEqual([]);
      chk.claims.forEach((c) => set.add(c));
      claimed.set(p.host, set);
    }
    // Legacy hosts: no floating vCPU floats over a CPU some guest pinned.
    for (const p of r.placements) {
      if (!p.host || !p.plan.fits) continue;
      for (const v of p.plan.vcpus) if (!v.dedicated) for (const c of v.cpus) expect(claimed.get(p.host)!.has(c)).toBe(false);
    }
  });
});
