import { describe, expect, it } from 'vitest';
import { baselineCpus } from './baseline-cpus.ts';
import { compareCpu } from './compare-cpu.ts';
import type { CpuDef } from './cpu-def.ts';
import { parseCpuXml } from './parse-cpu-xml.ts';
import { readSnapshotCpuMap } from './read-cpu-map.ts';
import { haveReference, readRef, refToDef, SKIP_REASON, type RefCpu } from './reference.test-helpers.ts';
import { indexCpuMap, namesToBits } from './x86-map.ts';
import { decodeCpu } from './decode-cpu.ts';

const x = indexCpuMap(readSnapshotCpuMap());

/** The invariant that makes a baseline migration-safe: every input can run it. */
function expectSafe(defs: CpuDef[], cpu: { model: string; vendor: string | null; require: string[]; disable: string[] }) {
  const guest: CpuDef = {
    ...refToDef({ model: cpu.model, require: cpu.require, disable: cpu.disable, ...(cpu.vendor ? { vendor: cpu.vendor } : {}) }, 'result', null, 'guest'),
  };
  for (const d of defs) {
    const host = { ...d, vendor: d.vendor ?? (d.model ? (x.modelByName.get(d.model)?.def.vendor ?? null) : null) };
    const r = compareCpu(x, host, guest);
    expect.soft(r.result, `${d.label} must run the baseline (${r.message})`).not.toBe('incompatible');
  }
}

describe.skipIf(!haveReference)('baseline vs libvirt 9.0 own test cases (baseline-cases.json)', () => {
  if (!haveReference) it.skip(SKIP_REASON, () => {});
  const cases = haveReference ? readRef('baseline-cases.json').baseline_cases : [];
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(20));
  for (const c of cases as any[]) {
    it(c.id, () => {
      const defs = (c.inputs as RefCpu[]).map((i, n) => refToDef(i, `in${n}`));
      const opts = { expandFeatures: !!c.flags.expand_features, migratable: !!c.flags.migratable, qemuFilter: false };
      if (c.expected.error) {
        expect(() => baselineCpus(x, defs, opts)).toThrowError(/vendors do not match/);
        return;
      }
      const r = baselineCpus(x, defs, opts);
      expect(r.cpu.model).toBe(c.expected.model);
      expect(r.cpu.vendor).toBe(c.expected.vendor ?? null);
      expect(r.cpu.fallback).toBe(c.expected.fallback);
      expect(r.cpu.require).toEqual(c.expected.require ?? []);
      expect(r.cpu.disable).toEqual(c.expected.disable ?? []);
      expectSafe(defs, r.cpu);
    });
  }
});

describe.skipIf(!haveReference)('baseline vs live virsh cpu-baseline answers (libvirt-oracle-cases.json)', () => {
  const cases = haveReference ? (readRef('libvirt-oracle-cases.json').cases as any[]).filter((c) => c.kind === 'cpu-baseline') : [];
  it('has cases', () => expect(cases.length).toBeGreaterThan(40));
  for (const c of cases) {
    it(c.id, () => {
      // Parse exactly the XML virsh was given.
      const defs = parseCpuXml(c.input_xml, c.id);
      const opts = {
        expandFeatures: c.argv.includes('--features'),
        migratable: c.argv.includes('--migratable'),
        // test:///default has no QEMU feature filter; the QEMU driver drops osxsave & co.
        qemuFilter: !String(c.uri).startsWith('test:'),
      };
      if (c.rc !== 0) {
        expect(() => baselineCpus(x, defs, opts)).toThrowError(/vendor/i);
        return;
      }
      const r = baselineCpus(x, defs, opts);
      expect({ model: r.cpu.model, vendor: r.cpu.vendor, fallback: r.cpu.fallback, require: r.cpu.require, disable: r.cpu.disable }).toEqual({
        model: c.output.model,
        vendor: c.output.vendor ?? null,
        fallback: c.output.fallback,
        require: c.output.require ?? [],
        disable: c.output.disable ?? [],
      });
      expectSafe(defs, r.cpu);
    });
  }
});

describe.skipIf(!haveReference)('compare vs libvirt 9.0 (compare cases + live virsh answers)', () => {
  const cases = haveReference ? (readRef('baseline-cases.json').compare_cases as any[]) : [];
  it('has compare cases and live virsh answers', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(live.length).toBeGreaterThanOrEqual(40);
  });
  for (const c of cases) {
    it(c.id, () => {
      const host = refToDef(c.host, 'host', c.host_arch, 'host');
      const guest = refToDef(c.cpu, 'guest', c.cpu_arch, c.cpu_arch ? 'host' : 'guest');
      if (c.expected === 'error') {
        expect(() => compareCpu(x, host, guest)).toThrowError(/unknown CPU (model|feature)/);
        return;
      }
      const r = compareCpu(x, host, guest);
      expect(r.result).toBe(c.expected);
      if (c.ref_message && r.message) expect(r.message).toBe(c.ref_message);
    });
  }
  const oracle = haveReference ? readRef('libvirt-oracle-cases.json') : null;
  const live = oracle ? (oracle.cases as any[]).filter((c) => c.kind === 'cpu-compare' || c.kind === 'hypervisor-cpu-compare') : [];
  for (const c of live) {
    it(`live ${c.id}`, () => {
      const hostRef = c.kind === 'cpu-compare' ? oracle.this_host : oracle.hypervisor_host_model[c.argv[c.argv.indexOf('--virttype') + 1]];
      const host = refToDef(hostRef, 'host', null, c.kind === 'cpu-compare' ? 'host' : 'guest');
      const [guest] = parseCpuXml(c.input_xml, c.id);
      const r = compareCpu(x, host, guest!);
      expect(r.result).toBe(c.result);
      if (r.result === 'incompatible') expect(c.message).toContain(r.message);
    });
  }
});

describe('baseline invariants on synthetic hosts', () => {
  it('every libvirt model, paired with each other model of its vendor, gives a safe baseline', () => {
    const byVendor = new Map<string, string[]>();
    for (const m of x.models) if (m.def.vendor) byVendor.set(m.def.vendor, [...(byVendor.get(m.def.vendor) ?? []), m.def.name]);
    let n = 0;
    for (const [vendor, names] of byVendor) {
      for (const a of names) {
        for (const b of names) {
          const defs = [a, b].map((m, i) => refToDef({ model: m, vendor }, `h${i}`));
          const r = baselineCpus(x, defs);
          expectSafe(defs, r.cpu);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('rejects mixed vendors with E_CPU_VENDOR_MISMATCH and no input with E_CPU_NO_INPUT', () => {
    const defs = [refToDef({ model: 'Skylake-Client', vendor: 'Intel' }, 'a'), refToDef({ model: 'EPYC', vendor: 'AMD' }, 'b')];
    expect(() => baselineCpus(x, defs)).toThrowError(expect.objectContaining({ code: 'E_CPU_VENDOR_MISMATCH' }));
    expect(() => baselineCpus(x, [])).toThrowError(expect.objectContaining({ code: 'E_CPU_NO_INPUT' }));
  });

  it('--migratable drops invtsc and xsaves', () => {
    const defs = [refToDef({ model: 'Skylake-Client', vendor: 'Intel', require: ['invtsc', 'xsaves'] }, 'a')];
    expect(baselineCpus(x, defs).cpu.require).toEqual(['xsaves', 'invtsc']);
    expect(baselineCpus(x, defs, { migratable: true }).cpu.require).toEqual([]);
  });
});

describe.skipIf(!haveReference)('decode of real CPUs (real-cpus.json libvirt_expected)', () => {
  const cpus = haveReference ? (readRef('real-cpus.json').cpus as any[]) : [];
  const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  for (const c of cpus) {
    const expected = parse(c.libvirt_expected)?.host_decode;
    if (!expected || c.origin !== 'libvirt-9.0.0') continue;
    it(`host decode ${c.name}`, () => {
      const feats = parse(c.features_libvirt) as string[];
      const data = namesToBits(x, feats);
      const d = decodeCpu(x, data, c.vendor, { type: 'host', signature: { family: c.family, model: c.model, stepping: c.stepping } });
      expect(d.model).toBe(expected.model);
      expect(d.require).toEqual(expected.require ?? []);
    });
  }
});

describe.skipIf(!haveReference)('safety property: random pools of real CPUs', () => {
  it('every input of 300 random same-vendor pools compares superset/identical to their baseline', () => {
    const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    const hosts = (readRef('real-cpus.json').cpus as any[])
      .map((c) => ({ name: c.name as string, hd: parse(c.libvirt_expected)?.host_decode }))
      .filter((h) => h.hd?.model && x.modelByName.has(h.hd.model));
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let checked = 0;
    for (let t = 0; t < 300; t++) {
      const vendor = rnd() < 0.7 ? 'Intel' : 'AMD';
      const pool = hosts.filter((h) => h.hd.vendor === vendor);
      const n = 2 + Math.floor(rnd() * 6);
      const defs = Array.from({ length: n }, (_, i) => {
        const h = pool[Math.floor(rnd() * pool.length)]!;
        return refToDef({ model: h.hd.model, vendor: h.hd.vendor, require: h.hd.require ?? [] }, `${h.name}#${i}`, 'x86_64');
      });
      for (const migratable of [false, true]) {
        const r = baselineCpus(x, defs, { migratable });
        expectSafe(defs, r.cpu);
        checked += defs.length;
      }
    }
    expect(checked).toBeGreaterThan(1500);
  });
});

describe.skipIf(!haveReference)('hypervisor-cpu-baseline (live virsh answers with the QEMU context they were made in)', () => {
  const oracle = haveReference ? readRef('libvirt-oracle-cases.json') : null;
  const cases = oracle ? (oracle.cases as any[]).filter((c) => c.kind === 'hypervisor-cpu-baseline') : [];
  it('has cases', () => expect(cases.length).toBeGreaterThan(10));
  for (const c of cases) {
    it(c.id, () => {
      const virttype = c.argv[c.argv.indexOf('--virttype') + 1];
      const ctx = oracle.hypervisor_context[virttype];
      const hypervisor = {
        features: ctx.qemu_feature_names as string[],
        models: new Map(Object.entries(ctx.models as Record<string, { blockers: string[] }>).map(([k, v]) => [k, v.blockers])),
        nonMigratable: ctx.non_migratable_props as string[],
      };
      const defs = parseCpuXml(c.input_xml, c.id);
      const r = baselineCpus(x, defs, { hypervisor, migratable: c.argv.includes('--migratable'), expandFeatures: c.argv.includes('--features') });
      expect({ model: r.cpu.model, fallback: r.cpu.fallback, require: r.cpu.require, disable: r.cpu.disable }).toEqual({
        model: c.output.model,
        fallback: c.output.fallback,
        require: c.output.require ?? [],
        disable: c.output.disable ?? [],
      });
    });
  }
});
