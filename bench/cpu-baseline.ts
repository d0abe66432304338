// Benchmark: migration-safe baseline (`kvcpu cpu baseline`) over 10,000 host CPUs drawn from real
// CPU data (../shared/reference/cpu/real-cpus.json: libvirt's host decode of 64 real CPUs; without
// it, libvirt's own models serve as synthetic hosts), side by side with
// `virsh -c test:///default cpu-baseline` (no daemon needed) on the same inputs when virsh exists.
// Run: node --import tsx bench/cpu-baseline.ts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTable } from '../src/cli/output.ts';
import { baselineCpus } from '../src/cpu-baseline/baseline-cpus.ts';
import { parseCpuXml } from '../src/cpu-baseline/parse-cpu-xml.ts';
import { planPools } from '../src/cpu-baseline/plan-pools.ts';
import { loadCpuMap } from '../src/cpu-baseline/read-cpu-map.ts';
import { renderLibvirtXml } from '../src/cpu-baseline/render-baseline.ts';
import { indexCpuMap } from '../src/cpu-baseline/x86-map.ts';
import { mulberry32 } from '../src/core/seeded-random.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const realCpus = path.resolve(repoRoot, '../shared/reference/cpu/real-cpus.json');
const x = indexCpuMap(loadCpuMap());

interface HostCpu {
  name: string;
  vendor: string;
  model: string;
  features: string[];
}

function loadHosts(): { hosts: HostCpu[]; source: string } {
  if (existsSync(realCpus)) {
    const data = JSON.parse(readFileSync(realCpus, 'utf8')) as { cpus: { name: string; vendor: string; libvirt_expected: unknown }[] };
    const hosts: HostCpu[] = [];
    for (const c of data.cpus) {
      const exp = typeof c.libvirt_expected === 'string' ? JSON.parse(c.libvirt_expected) : c.libvirt_expected;
      const hd = exp?.host_decode;
      if (!hd?.model || !x.modelByName.has(hd.model)) continue;
      hosts.push({ name: c.name, vendor: hd.vendor ?? c.vendor, model: hd.model, features: hd.require ?? [] });
    }
    return { hosts, source: `${hosts.length} real CPUs (real-cpus.json, libvirt host decode)` };
  }
  const hosts = x.models.filter((m) => m.def.vendor).map((m) => ({ name: m.def.name, vendor: m.def.vendor!, model: m.def.name, features: [] }));
  return { hosts, source: `${hosts.length} libvirt models as synthetic hosts (real-cpus.json missing)` };
}

// Deterministic draw (mulberry32) so every run baselines the same fleet.
const rng = mulberry32;

function draw(pool: HostCpu[], n: number, seed: number): HostCpu[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => pool[Math.floor(r() * pool.length)]!);
}

function toXml(hosts: HostCpu[]): string {
  return hosts
    .map((h) =>
      [
        '<cpu>',
        '  <arch>x86_64</arch>',
        `  <model>${h.model}</model>`,
        `  <vendor>${h.vendor}</vendor>`,
        ...h.features.map((f) => `  <feature name='${f}'/>`),
        '</cpu>',
      ].join('\n'),
    )
    .join('\n');
}

function timeIt<T>(fn: () => T, reps: number): { ms: number; value: T } {
  let value!: T;
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    value = fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, value };
}

function kvcpuBaseline(xml: string) {
  const defs = parseCpuXml(xml, 'bench');
  // test:///default has no QEMU feature filter: compare like with like.
  return baselineCpus(x, defs, { qemuFilter: false });
}

const virshOk = spawnSync('virsh', ['--version'], { encoding: 'utf8' }).status === 0;
const kvcpuBin = path.join(repoRoot, 'bin/kvcpu.js');
// The whole CLI as a process (node + tsx startup included), once `cpu baseline` is wired in.
const cliOk = /Usage: kvcpu cpu baseline/.test(spawnSync(process.execPath, [kvcpuBin, 'cpu', 'baseline', '--help'], { encoding: 'utf8' }).stdout ?? '');

function cliMs(file: string): number | null {
  if (!cliOk) return null;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [kvcpuBin, 'cpu', 'baseline', '-q', file], { encoding: 'utf8', timeout: 300_000 });
  return r.status === 0 ? performance.now() - t0 : null;
}
const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-bench-'));
try {
  const { hosts, source } = loadHosts();
  const intel = hosts.filter((h) => h.vendor === 'Intel');
  process.stdout.write(`host CPUs drawn from ${source}; ${intel.length} Intel CPUs for the single-vendor pools\n`);
  process.stdout.write(`libvirt CPU map: ${x.map.source.libvirt} (${x.map.source.path})\n\n`);

  const rows: (string | number | null)[][] = [];
  for (const n of [100, 1000, 10_000]) {
    const fleet = draw(intel, n, n);
    const xml = toXml(fleet);
    const file = path.join(dir, `fleet-${n}.xml`);
    writeFileSync(file, xml);
    const reps = n >= 10_000 ? 3 : 7;
    const k = timeIt(() => kvcpuBaseline(xml), reps);
    const defs = parseCpuXml(xml, 'bench');
    const kOnly = timeIt(() => baselineCpus(x, defs, { qemuFilter: false }), reps);
    let virshMs: number | null = null;
    let agree = '-';
    if (virshOk) {
      const times: number[] = [];
      let out = '';
      for (let i = 0; i < (n >= 10_000 ? 1 : 3); i++) {
        const t0 = performance.now();
        const r = spawnSync('virsh', ['-c', 'test:///default', 'cpu-baseline', file], { encoding: 'utf8', timeout: 300_000 });
        times.push(performance.now() - t0);
        out = r.status === 0 ? r.stdout : '';
      }
      times.sort((a, b) => a - b);
      virshMs = times[Math.floor(times.length / 2)]!;
      agree = out.trim() === renderLibvirtXml(k.value.cpu).trim() ? 'same XML' : out ? 'DIFFERENT' : 'virsh failed';
    }
    const cli = cliMs(file);
    rows.push([
      n,
      k.value.cpu.model,
      k.ms.toFixed(1),
      kOnly.ms.toFixed(2),
      cli === null ? 'n/a' : cli.toFixed(0),
      virshMs === null ? 'n/a (no virsh)' : virshMs.toFixed(1),
      virshMs === null ? '-' : `${(virshMs / k.ms).toFixed(1)}x`,
      agree,
    ]);
  }
  process.stdout.write(
    renderTable(
      ['HOSTS', 'MODEL', 'KVCPU MS (parse+baseline)', 'KVCPU MS (baseline)', 'KVCPU CLI MS', 'VIRSH MS (test:///default)', 'VIRSH/KVCPU', 'OUTPUT'],
      rows,
      { right: [0, 2, 3, 4, 5, 6] },
    ),
  );

  // Pools over a mixed-vendor fleet of 10,000 (virsh has no equivalent).
  const mixed = draw(hosts, 10_000, 7);
  const mixedDefs = parseCpuXml(toXml(mixed), 'mixed');
  const p = timeIt(() => planPools(x, mixedDefs), 1);
  process.stdout.write(
    `\npools over 10,000 mixed-vendor hosts (${new Set(mixed.map((h) => h.name)).size} distinct CPUs): ${p.ms.toFixed(0)} ms, ` +
      `${p.value.tradeoff.length} merge steps, chosen ${p.value.chosen} pool(s): ${p.value.pools.map((pl) => `${pl.vendor} ${pl.baseline.model} (${pl.hosts.length})`).join(', ')}\n`,
  );
  if (!virshOk) process.stdout.write('virsh not installed: apt-get install libvirt-clients to compare\n');
  process.stdout.write('VIRSH/KVCPU: virsh process time / kvcpu in-process parse+baseline time (same input, same run)\n');
  if (!cliOk) process.stdout.write('KVCPU CLI MS: n/a until `cpu baseline` is wired into bin/kvcpu.js\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
