// Compare kvcpu's Nova request parsing with Nova itself over seeded random inputs: flavor + image
// → guest NUMA request (numa_get_constraints, with its error class and message), flavor + image →
// guest CPU topology (preferred, limits, every candidate ranked: _get_desirable_cpu_topologies)
// and parse_cpu_spec's CPython set order. Needs Debian's python3-nova (apt-get install -y
// python3-nova; run with /usr/bin/python3, which sees Debian's packages). Not part of `npm test`
// (python3-nova pulls ~240 Python packages); the unit tests carry answers recorded from it.
//   node --import tsx scripts/oracle-nova.ts [seed] [count]
import { spawnSync } from 'node:child_process';
import { getNovaNumaConstraints, parseNovaCpuSpec, type NovaFlavorRequest } from '../src/plan/nova-numa-constraints.ts';
import { mulberry32 } from '../src/core/seeded-random.ts';
import { chooseNovaTopology, type NovaTopologyRequest } from '../src/topology/nova-topology.ts';

const PY = '/usr/bin/python3';
const seed = Number(process.argv[2] ?? 1);
const count = Number(process.argv[3] ?? 5000);
const rnd = mulberry32(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const maybe = (p: number) => rnd() < p;

const NOVA_SNIPPET = `
import sys, json
from nova import objects
objects.register_all()
from nova.virt import hardware
def cell(c):
    return {"id": c.id, "cpuset": sorted(c.cpuset), "pcpuset": sorted(c.pcpuset), "memory": c.memory,
            "pagesize": c.pagesize, "cpu_policy": c.cpu_policy, "cpu_thread_policy": c.cpu_thread_policy}
for line in sys.stdin:
    d = json.loads(line)
    if "spec" in d:
        print(json.dumps(list(hardware.parse_cpu_spec(d["spec"]))), flush=True)
        continue
    if "topology" in d:
        t = d["topology"]
        try:
            fl = objects.Flavor(vcpus=t["vcpus"], memory_mb=1024, extra_specs=t["flavorExtraSpecs"], name="f")
            im = objects.ImageMeta.from_dict({"properties": dict(t["imageProperties"]), "name": "i"})
            pref, maxi = hardware.get_cpu_topology_constraints(fl, im)
            ranked = hardware._get_desirable_cpu_topologies(fl, im, t["allowThreads"])
            out = {"preferred": [pref.sockets, pref.cores, pref.threads], "maximum": [maxi.sockets, maxi.cores, maxi.threads],
                   "ranked": [[x.sockets, x.cores, x.threads] for x in ranked]}
        except Exception as e:
            out = {"error": type(e).__name__}
        print(json.dumps(out), flush=True)
        continue
    try:
        fl = objects.Flavor(vcpus=d["vcpus"], memory_mb=d["memory_mb"], extra_specs=d["flavor_extra_specs"], name="f")
        im = objects.ImageMeta.from_dict({"properties": dict(d["image_properties"]), "name": "i"})
        t = hardware.numa_get_constraints(fl, im)
        out = {"instance": None if t is None else {"cells": [cell(c) for c in t.cells], "emulator_threads_policy": t.emulator_threads_policy}}
    except Exception as e:
        out = {"error": type(e).__name__, "message": str(e)}
    print(json.dumps(out), flush=True)
`;

const MASKS = ['0', '1', '0-1', '^0', '^0-1', '1,3', '0-3,^2', '^3-5', '0-7', ' ^1', '5,8', '0-2,^1', 'x', '2-1', '^', '1_0', '0-', '3,^3', '', '0,2-3'];
const CELL_CPUS = [...MASKS.slice(0, 12), '0-3', '4-7', '0-2', '3-5', '6-8', '0-16', '8-15'];
const PAGES = ['small', 'large', 'any', '2048', '2MB', '1GB', '4k', '4KiB', '512B', '0', 'foo', '1048576', '16b', '2Mi'];

/** A flavor + image mixing valid settings with the mistakes operators make. */
function randomRequest(): NovaFlavorRequest {
  const vcpus = pick([1, 2, 3, 4, 6, 8, 9, 12, 16]);
  const memory_mb = pick([512, 1000, 1024, 2048, 3000, 4096]);
  const f: Record<string, string> = {};
  const im: Record<string, unknown> = {};
  if (maybe(0.5)) f['hw:cpu_policy'] = pick(['dedicated', 'shared', 'mixed', 'mixed', 'foo', '']);
  if (maybe(0.15)) im.hw_cpu_policy = pick(['dedicated', 'shared', 'mixed', 'bar']);
  if (maybe(0.25)) f['hw:cpu_thread_policy'] = pick(['prefer', 'isolate', 'require', 'foo', '']);
  if (maybe(0.1)) im.hw_cpu_thread_policy = pick(['prefer', 'isolate', 'require']);
  if (maybe(0.25)) f['hw:emulator_threads_policy'] = pick(['share', 'isolate', 'foo', '']);
  if (maybe(0.3)) f['hw:cpu_dedicated_mask'] = pick(MASKS);
  if (maybe(0.2)) f['hw:cpu_realtime'] = pick(['yes', 'no', 'true', '1', 'on', 'maybe']);
  if (maybe(0.2)) f['hw:cpu_realtime_mask'] = pick(MASKS);
  if (maybe(0.05)) im.hw_cpu_realtime_mask = pick(MASKS);
  if (maybe(0.4)) f['hw:numa_nodes'] = pick(['1', '2', '3', '4', '0', '-1', 'x', '02', ' 2', '']);
  if (maybe(0.08)) im.hw_numa_nodes = pick([1, 2, 3, '2', 0]);
  if (maybe(0.25)) {
    const n = pick([1, 2, 3]);
    const gap = maybe(0.3);
    for (let k = 0; k < n; k++) {
      if (gap && k === 1) continue;
      f[`hw:numa_cpus.${k}`] = pick(CELL_CPUS);
      if (maybe(0.85)) f[`hw:numa_mem.${k}`] = pick(['512', '1024', String(memory_mb / n), 'abc', '256']);
    }
  }
  if (maybe(0.05)) {
    im['hw_numa_cpus.0'] = pick(['0-1', '0-3']);
    im['hw_numa_mem.0'] = pick([512, 1024, '2048']);
  }
  if (maybe(0.2)) f['hw:mem_page_size'] = pick(PAGES);
  if (maybe(0.08)) im.hw_mem_page_size = pick(PAGES);
  if (maybe(0.08)) f['hw:locked_memory'] = pick(['true', 'false', 'yes']);
  if (maybe(0.05)) im.hw_locked_memory = pick([true, false, 'true']);
  if (maybe(0.05)) f['hw:pmem'] = pick(['2GB', '2GB,4GB', ' , ']);
  if (maybe(0.1)) f[pick(['resources:PCPU', 'resources:VCPU', 'resources1:PCPU', 'resources:PCPUX'])] = pick([String(vcpus), String(vcpus + 1), '0', 'x', '2']);
  if (maybe(0.08)) f[pick(['trait:HW_CPU_HYPERTHREADING', 'trait1:HW_CPU_HYPERTHREADING'])] = pick(['forbidden', 'required', 'other']);
  if (maybe(0.04)) im['trait:HW_CPU_HYPERTHREADING'] = 'required';
  return { vcpus, memory_mb, flavor_extra_specs: f, image_properties: im };
}

/** hw:cpu_* / hw_cpu_* preferences and limits, some out of range, some not integers. */
function randomTopologyRequest(): NovaTopologyRequest {
  const vcpus = pick([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]);
  const dims = ['sockets', 'cores', 'threads'];
  const f: Record<string, string> = {};
  const im: Record<string, string | number> = {};
  for (const d of dims) {
    if (maybe(0.25)) f[`hw:cpu_${d}`] = pick(['1', '2', '3', '4', '8', '0', '16']);
    if (maybe(0.25)) f[`hw:cpu_max_${d}`] = pick(['1', '2', '4', '8', '0', '-1', 'x', '2.0', ' 4', '1_0']);
    if (maybe(0.15)) im[`hw_cpu_${d}`] = pick([1, 2, 4, 8, '2', 0]);
    if (maybe(0.15)) im[`hw_cpu_max_${d}`] = pick([1, 2, 4, 8, '4', 0]);
  }
  if (maybe(0.05)) f['hw:max_cpu_sockets'] = '2';
  return { vcpus, flavorExtraSpecs: f, imageProperties: im, allowThreads: maybe(0.9) };
}

/** A CPU spec with ranges, exclusions and ids past the 8-slot table (where set order bends). */
function randomSpec(): string {
  const parts: string[] = [];
  for (let k = 0, n = 1 + Math.floor(rnd() * 6); k < n; k++) {
    const a = Math.floor(rnd() * (maybe(0.5) ? 20 : 300));
    const len = Math.floor(rnd() * (maybe(0.5) ? 3 : 60));
    const neg = maybe(0.25) ? '^' : '';
    parts.push(maybe(0.5) ? `${neg}${a}` : `${neg}${a}-${a + len}`);
  }
  return parts.join(',');
}

const probe = spawnSync(PY, ['-c', 'import nova.virt.hardware'], { encoding: 'utf8' });
if (probe.status !== 0) {
  process.stdout.write('Nova not importable with /usr/bin/python3 (apt-get install -y python3-nova): nothing compared\n');
  process.exit(0);
}
const reqs = Array.from({ length: count }, randomRequest);
const specs = Array.from({ length: count }, randomSpec);
const topos = Array.from({ length: count }, randomTopologyRequest);
const input =
  [...reqs.map((r) => JSON.stringify(r)), ...specs.map((spec) => JSON.stringify({ spec })), ...topos.map((topology) => JSON.stringify({ topology }))].join(
    '\n',
  ) + '\n';
const py = spawnSync(PY, ['-c', NOVA_SNIPPET], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
if (py.status !== 0) throw new Error(`Nova oracle failed: ${py.stderr}`);
const answers = py.stdout
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

let diff = 0;
const byClass = new Map<string, number>();
reqs.forEach((r, i) => {
  const want = answers[i];
  const got = getNovaNumaConstraints(r);
  const cls = want.error ?? (want.instance ? 'topology' : 'no topology');
  byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    if (++diff <= 10) process.stdout.write(`DIFF ${JSON.stringify(r)}\n  kvcpu ${JSON.stringify(got)}\n  nova  ${JSON.stringify(want)}\n`);
  }
});
let orderDiff = 0;
specs.forEach((s, i) => {
  if (JSON.stringify(parseNovaCpuSpec(s).values()) !== JSON.stringify(answers[count + i])) orderDiff++;
});
let topoDiff = 0;
topos.forEach((t, i) => {
  const want = answers[2 * count + i];
  const got = chooseNovaTopology(t);
  const mine = got.ok ? { preferred: got.preferred, maximum: got.maximum, ranked: got.ranked } : { error: got.error };
  if (JSON.stringify(mine) !== JSON.stringify(want)) {
    if (++topoDiff <= 10) process.stdout.write(`DIFF ${JSON.stringify(t)}\n  kvcpu ${JSON.stringify(mine)}\n  nova  ${JSON.stringify(want)}\n`);
  }
});
process.stdout.write(`numa_get_constraints: ${count - diff}/${count} identical (class and message); ${diff} differ (seed ${seed})\n`);
process.stdout.write(
  `  answers: ${[...byClass]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}\n`,
);
process.stdout.write(`parse_cpu_spec set order: ${count - orderDiff}/${count} identical\n`);
process.stdout.write(`topology (preferred, limits, ranked candidates): ${count - topoDiff}/${count} identical\n`);
process.exit(diff || orderDiff || topoDiff ? 1 : 0);
