// Differential fuzzing against the real QEMU 7.2 (issue 18): seeded, grammar-generated `-cpu`
// strings (catalog models, feature edits, typed properties, check/enforce) go to both
// `explainCpu` and `qemu-system-x86_64 -machine pc -S` (TCG; KVM where /dev/kvm works); -smp specs
// for arm `virt` and s390x machine types go to both `parseSmp` and qemu-system-aarch64/-s390x.
// Compared: starts/refuses, QEMU's exact refusal line, the final feature set (qom-get of the
// realized vCPU), the features QEMU's filter warned about, the vendor. Every disagreement must be
// in KNOWN_DIVERGENCES (named, documented in docs/cpu-models.md); a new one is shrunk to its
// smallest failing string and reported as a regression case to add to
// src/cpu-models/cpu-string-regressions.test.ts.
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import { askQemuCpu, type QemuCpuAnswer } from '../../src/cpu-models/ask-qemu-cpu.ts';
import { loadCatalog } from '../../src/cpu-models/catalog.ts';
import { compareCpu, predictCpu, type CpuComparison } from '../../src/cpu-models/compare-cpu-with-qemu.ts';
import { explainCpu } from '../../src/cpu-models/cpu-string.ts';
import { adviseFeatures, settleSuggestion } from '../../src/cpu-models/feature-advice.ts';
import { generateCpuStrings } from '../../src/cpu-models/generate-cpu-strings.ts';
import { accelFeatures } from '../../src/cpu-models/live-catalog.ts';
import type { AccelFeatures } from '../../src/cpu-models/runnability.ts';
import type { Accel } from '../../src/cpu-models/types.ts';
import { readHost } from '../../src/host/read-host.ts';
import { defaultAccel } from '../../src/cpu-models/live-catalog.ts';
import { runCli } from '../support/run-cli.ts';
import { qemuAvailable } from '../../src/qmp/start-qemu.ts';
import { kvmUsable } from '../../src/check/probe-kvm.ts';
import { generateSmpCases } from '../../src/smp/generate-smp-cases.test-helpers.ts';
import { parseSmp } from '../../src/smp/parse-smp.ts';
import { askQemuSmp, compareWithQemu, qemuBinaryVersion } from '../../src/smp/verify-smp.ts';
import { mapLimit } from '../support/map-limit.ts';

const haveQemu = qemuAvailable();
const version = haveQemu ? await qemuBinaryVersion() : '';
const skipReason = !haveQemu ? 'qemu-system-x86_64 not installed' : !version.startsWith('7.2.') ? `installed QEMU is ${version}; kvcpu's rules model 7.2` : '';
const catalog = loadCatalog('7.2');
const hostVendor = readHost().cpu.vendor;
const SEED = 20261218;
const N_TCG = Number(process.env.KVCPU_CPU_DIFF_N ?? 240);
const N_KVM = Number(process.env.KVCPU_CPU_DIFF_KVM_N ?? 80);
const BUDGET_MS = 70_000;

/**
 * Differences kept on purpose or outside what a model of QEMU can know without running the
 * guest, each named and explained in docs/cpu-models.md ("Differential test against QEMU").
 */
const KNOWN_DIVERGENCES: { name: string; accel: Accel; matches: (input: string, c: CpuComparison, q: QemuCpuAnswer) => boolean }[] = [
  {
    // kvm_hyperv_expand_features / kvm_arch_init_vcpu: whether KVM takes the Hyper-V MSRs
    // (SynIC, stimer, VP_INDEX...) is a property of the running kernel; QEMU aborts in
    // kvm_buf_set_msrs. Not probed (one start per enlightenment).
    name: 'kvm-hyperv-msrs',
    accel: 'kvm',
    matches: (input, c, q) => /(^|,)hv-/.test(input) && c.kind !== undefined && /MSR 0x4000|HyperV|Hyper-V|hv-/.test(q.error ?? ''),
  },
];

async function compareOne(input: string, accel: Accel, supported: AccelFeatures) {
  const q = await askQemuCpu(input, { accel, features: catalog.features });
  const k = predictCpu(input, supported, catalog, { hostVendor });
  return { input, q, c: compareCpu(k, q, catalog.features) };
}

/** Greedy shrink: drop items (never the model) while kvcpu and QEMU still disagree the same way (≤ 30 starts). */
async function shrink(input: string, accel: Accel, supported: AccelFeatures, kind: string): Promise<string> {
  let items = input.split(',');
  let budget = 30;
  for (let i = items.length - 1; i >= 1 && budget > 0; i--) {
    const tryItems = items.filter((_, j) => j !== i);
    budget--;
    const r = await compareOne(tryItems.join(','), accel, supported);
    if (!r.c.agree && r.c.kind === kind) items = tryItems;
  }
  return items.join(',');
}

async function runDifferential(accel: Accel, n: number) {
  const supported = await accelFeatures(accel, { catalog });
  const inputs = generateCpuStrings(mulberry32(SEED + (accel === 'kvm' ? 1 : 0)), n, catalog);
  const results = await mapLimit(inputs, 2, (s) => compareOne(s, accel, supported), Date.now() + BUDGET_MS);
  const agree = results.filter((r) => r.c.agree).length;
  const known = results.filter((r) => !r.c.agree && KNOWN_DIVERGENCES.some((d) => d.accel === accel && d.matches(r.input, r.c, r.q)));
  const unexplained = results.filter((r) => !r.c.agree && !known.includes(r));
  const shrunk: string[] = [];
  for (const r of unexplained.slice(0, 3)) {
    const small = await shrink(r.input, accel, supported, r.c.kind!);
    shrunk.push(`regression case (${accel}, ${r.c.kind}): '${small}' — QEMU: ${r.q.ok ? 'starts' : r.q.error}; kvcpu: ${r.c.detail ?? ''}`);
  }
  console.info(
    `cpu differential ${accel}: ${agree} of ${results.length} agree with QEMU ${version}; known divergences ${known.length}; unexplained ${unexplained.length}`,
  );
  return { results, agree, known, unexplained, shrunk };
}

afterAll(() => {
  const r = spawnSync('pgrep', ['-P', String(process.pid), 'qemu-system'], { encoding: 'utf8' });
  expect(r.stdout.trim()).toBe('');
});

describe.skipIf(skipReason !== '')('cpu explain vs real QEMU 7.2: differential fuzz', () => {
  it(`TCG: agrees on every generated -cpu string (seed ${SEED}, ${N_TCG} strings)`, { timeout: 180_000 }, async () => {
    const { results, agree, unexplained, shrunk } = await runDifferential('tcg', N_TCG);
    expect(results.length).toBeGreaterThanOrEqual(Math.min(N_TCG, 150));
    expect(shrunk).toEqual([]);
    expect(unexplained).toEqual([]);
    expect(agree).toBe(results.length);
    // The generator must exercise every class issue 18 names: starts, refusals of several kinds, filtering.
    const starts = results.filter((r) => r.q.ok);
    const errors = results.map((r) => r.q.error ?? '');
    expect(starts.length).toBeGreaterThan(results.length * 0.3);
    for (const re of [/not found/, /expects|doesn't take value/, /doesn't support requested features/, /requires KVM/, /unable to find CPU model/]) {
      expect(
        errors.some((e) => re.test(e)),
        String(re),
      ).toBe(true);
    }
    expect(starts.some((r) => r.q.filtered.some((f) => f.startsWith('vmx-')))).toBe(true);
  });

  it('KVM: agrees on generated -cpu strings except the named divergences', { timeout: 180_000 }, async (ctx) => {
    if (!(await kvmUsable())) ctx.skip('/dev/kvm cannot create a VM here: the KVM half of the differential test needs a working KVM');
    const { results, agree, known, unexplained, shrunk } = await runDifferential('kvm', N_KVM);
    expect(results.length).toBeGreaterThanOrEqual(Math.min(N_KVM, 50));
    expect(shrunk).toEqual([]);
    expect(unexplained).toEqual([]);
    expect(agree + known.length).toBe(results.length);
  });

  it('every `cpu features` suggestion starts QEMU with enforce (TCG, and KVM where it works)', { timeout: 120_000 }, async () => {
    const accels: Accel[] = (await kvmUsable()) ? ['tcg', 'kvm'] : ['tcg'];
    let checked = 0;
    for (const accel of accels) {
      const supported = await accelFeatures(accel, { catalog });
      const explain = (cpu: string) => explainCpu(cpu, { supported, catalog, hostVendor });
      for (const model of ['qemu64', 'Skylake-Client-v4', 'EPYC-v3', 'Haswell-v4', 'kvm64', 'Nehalem']) {
        const plain = explain(model);
        const advice = adviseFeatures({ model, modelFeatures: plain.final, hostFeatures: [...supported.features] });
        const s = settleSuggestion(model, advice.add, explain);
        expect(s.cpuString, `${accel} ${model}: ${s.error}`).not.toBeNull();
        const q = await askQemuCpu(s.cpuString!, { accel, features: catalog.features });
        expect(q.ok, `${accel} -cpu ${s.cpuString}: ${q.error}`).toBe(true);
        // The guest really has what was added.
        for (const f of s.add) expect(q.final, `${accel} ${s.cpuString}`).toContain(f);
        checked++;
      }
    }
    expect(checked).toBe(accels.length * 6);
  });

  it("`kvcpu cpu features` (no --accel: the guest's default accelerator) suggests strings QEMU starts with enforce", { timeout: 120_000 }, async () => {
    const accel = await defaultAccel();
    for (const model of ['qemu64', 'Skylake-Client-v4', 'EPYC-v3']) {
      const r = await runCli(['cpu', 'features', '--model', model, '--json']);
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as { accel: Accel; cpuString: string | null; add: string[] };
      expect(j.accel).toBe(accel);
      expect(j.cpuString, `${model} on ${accel}`).not.toBeNull();
      expect(j.cpuString!.endsWith(',enforce')).toBe(true);
      const q = await askQemuCpu(j.cpuString!, { accel, features: catalog.features });
      expect(q.ok, `${accel} -cpu ${j.cpuString}: ${q.error}`).toBe(true);
      for (const f of j.add) expect(q.final).toContain(f);
    }
  });
});

const haveArm = qemuAvailable('qemu-system-aarch64');
const haveS390 = qemuAvailable('qemu-system-s390x');
describe.skipIf(skipReason !== '' || !haveArm || !haveS390)('smp vs real QEMU 7.2 for arm virt and s390x: differential fuzz', () => {
  it('agrees on generated -smp specs for virt-2.6…virt-7.2 and s390-ccw-virtio types', { timeout: 120_000 }, async () => {
    const rand = mulberry32(SEED);
    const machines = [
      'virt',
      'virt-2.6',
      'virt-2.11',
      'virt-2.12',
      'virt-3.0',
      'virt-6.2',
      'virt-7.2',
      's390-ccw-virtio',
      's390-ccw-virtio-7.1',
      's390-ccw-virtio-2.4',
    ];
    const base = generateSmpCases(rand, 70).map((c, i) => ({ smp: c.smp, machine: machines[i % machines.length]! }));
    // The per-version virt limit (255 up to virt-2.12) and several unknown keys (QEMU's key order).
    const extra = [
      { smp: '1,maxcpus=256', machine: 'virt-2.12' },
      { smp: '1,maxcpus=255', machine: 'virt-2.12' },
      { smp: '1,maxcpus=256', machine: 'virt-3.0' },
      { smp: '4,zz=1,aa=2,mm=3', machine: 'virt' },
      { smp: '4,mm=3,aa=2,zz=1', machine: 's390-ccw-virtio' },
      { smp: 'a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9', machine: 'virt' },
      { smp: '2,foo=1,bar=2,sockets=2', machine: 'virt-7.2' },
    ];
    const cases = [...base, ...extra];
    const results = await mapLimit(
      cases,
      2,
      async (c) => {
        const binary = c.machine.startsWith('virt') ? 'qemu-system-aarch64' : 'qemu-system-s390x';
        const parsed = parseSmp(c.smp, { machine: c.machine, accel: 'tcg' });
        const answer = await askQemuSmp([c.smp], { machine: c.machine, accel: 'tcg', binary, timeoutMs: 45_000 });
        return { c, diffs: compareWithQemu(parsed, answer) };
      },
      Date.now() + 90_000,
    );
    expect(results.length).toBeGreaterThanOrEqual(40);
    const agree = results.filter((r) => r.diffs.length === 0).length;
    console.info(`smp differential arm/s390x: ${agree} of ${results.length} agree`);
    expect(results.filter((r) => r.diffs.length).map((r) => `-M ${r.c.machine} -smp '${r.c.smp}': ${r.diffs.join('; ')}`)).toEqual([]);
  });
});
