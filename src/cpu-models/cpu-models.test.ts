import { describe, expect, it } from 'vitest';
import { isKvcpuError } from '../core/errors.ts';
import { buildFeatureTable, linuxNameFor, parseLibvirtFeatures } from './build-feature-table.ts';
import { loadCatalog, machineCpuVersionKind, resolveModel } from './catalog.ts';
import { explainCpu, parseCpuString, suggestFeature } from './cpu-string.ts';
import { adviseFeatures } from './feature-advice.ts';
import { cpuinfoFlagsToQemu, predictCpuinfoFlags, toLibvirtName, toLinuxName, toQemuName } from './feature-names.ts';
import { kvmFeaturesFromCpuinfo, modelFeaturesFor, modelRunnability, tcgFeatures, unavailableFeatures } from './runnability.ts';
import type { AccelFeatures } from './runnability.ts';
import { guestOsSupport, x86Level } from './x86-levels.ts';

const tcg = tcgFeatures();

function err(fn: () => unknown): { code: string; hint: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (isKvcpuError(e)) return { code: e.code, hint: e.hint };
    throw e;
  }
  throw new Error('expected an error');
}

describe('catalog', () => {
  it('has QEMU 7.2 models with versions and aliases', () => {
    const c = loadCatalog();
    expect(c.qemu.version).toMatch(/^7\.2\./);
    expect(c.models.find((m) => m.name === 'Skylake-Client-v1')?.kind).toBe('versioned');
    expect(c.models.find((m) => m.name === 'Skylake-Client-IBRS')?.aliasOf).toBe('Skylake-Client-v2');
    expect(c.features).toContain('avx512vnni');
    expect(c.aliases.sse4_1).toBe('sse4.1');
  });
  it('resolves unversioned names to v1 on 4.1+ machines and reports legacy types', () => {
    expect(resolveModel('Cascadelake-Server').resolved).toBe('Cascadelake-Server-v1');
    expect(resolveModel('EPYC-IBPB', 'pc-q35-7.2').aliasOf).toBe('EPYC-v2');
    const legacy = resolveModel('Skylake-Client', 'pc-i440fx-4.0');
    expect(legacy.aliasOf).toBeNull();
    expect(legacy.features).toEqual(resolveModel('Skylake-Client-v1').features);
    expect(machineCpuVersionKind('pc-i440fx-4.1')).toBe('v1');
    expect(machineCpuVersionKind('pc-q35-3.1')).toBe('legacy');
  });
  it('unknown model names are errors with a suggestion (QEMU names are case-sensitive)', () => {
    const e = err(() => resolveModel('haswell'));
    expect(e.code).toBe('E_CPU_MODEL_UNKNOWN');
    expect(e.hint).toContain('Haswell');
  });
});

describe('-cpu string semantics (QEMU 7.2 x86_cpu_parse_featurestr)', () => {
  it('parses +f/-f verbatim and rewrites _ to - only in key=value', () => {
    const p = parseCpuString('-cpu Haswell,+lahf_lm,-sse4_1,avx512_vnni=off,enforce');
    expect(p.model).toBe('Haswell');
    expect(p.plus).toEqual(['lahf_lm']);
    expect(p.minus).toEqual(['sse4_1']);
    expect(p.props.map((x) => [x.name, x.value])).toEqual([
      ['avx512-vnni', 'off'],
      ['enforce', 'on'],
    ]);
  });
  it('-f beats +f in either order; +/- beat f=on|off; f=on|off last wins', () => {
    expect(explainCpu('qemu64,+aes,-aes', { supported: tcg }).final).not.toContain('aes');
    expect(explainCpu('qemu64,-aes,+aes', { supported: tcg }).final).not.toContain('aes');
    expect(explainCpu('qemu64,aes=off,aes=on', { supported: tcg }).final).toContain('aes');
    expect(explainCpu('qemu64,aes=on,aes=off', { supported: tcg }).final).not.toContain('aes');
    const amb = explainCpu('qemu64,-pni,pni=on', { supported: tcg });
    expect(amb.final).not.toContain('pni');
    expect(amb.warnings.join()).toMatch(/Ambiguous/);
  });
  it('Linux and libvirt spellings are errors that suggest the QEMU name', () => {
    expect(err(() => explainCpu('qemu64,+avx512_vnni', { supported: tcg })).hint).toContain("'avx512vnni'");
    expect(err(() => explainCpu('qemu64,+sha_ni', { supported: tcg })).hint).toContain("'sha-ni'");
    // key=value gets _→- (feat2prop), so `sha_ni=on` IS accepted by QEMU, while `+sha_ni` is not.
    expect(explainCpu('qemu64,sha_ni=on', { supported: tcg }).requested).toContain('sha-ni');
    expect(err(() => explainCpu('qemu64,+tsc_deadline_timer', { supported: tcg })).hint).toContain("'tsc-deadline'");
    expect(err(() => explainCpu('qemu64,+nosuchthing', { supported: tcg })).code).toBe('E_CPU_FEATURE_UNKNOWN');
    expect(suggestFeature('pclmuldq')).toBe('pclmulqdq');
  });
  it('check drops what the accelerator lacks; enforce fails; dependencies clear children', () => {
    const chk = explainCpu('Westmere,+x2apic', { supported: tcg });
    expect(chk.unavailable).toEqual(['x2apic']);
    expect(chk.final).not.toContain('x2apic');
    expect(chk.fails).toBe(false);
    expect(explainCpu('Westmere,+x2apic,enforce', { supported: tcg }).fails).toBe(true);
    expect(explainCpu('Westmere,+x2apic,check=off', { supported: tcg }).mode).toBe('silent');
    const dep = explainCpu('Opteron_G2,+npt,-svm', { supported: tcg });
    expect(dep.final).not.toContain('npt');
    expect(dep.droppedByDependency).toContainEqual({ feature: 'npt', parent: 'svm' });
  });
  it('accepts non-feature knobs (pmu, level, vendor) and rejects bad booleans', () => {
    expect(explainCpu('qemu64,pmu=off,level=13', { supported: tcg }).knobs.map((k) => k.name)).toEqual(['pmu', 'level']);
    expect(err(() => explainCpu('qemu64,aes=maybe', { supported: tcg })).code).toBe('E_BAD_INPUT');
  });
});

describe('runnability', () => {
  it('TCG unavailable features equal QEMU’s own answer stored in the catalog', () => {
    const c = loadCatalog();
    for (const r of modelRunnability(tcg)) expect(r.unavailable, r.name).toEqual(c.unavailableTcg[r.name]);
  });
  it('KVM: topoext is never reported; kvm default props are applied to named models', () => {
    const host: AccelFeatures = { accel: 'kvm', source: 'qemu-live', exact: true, features: new Set(['fpu']), notes: [] };
    expect(unavailableFeatures(['topoext', 'sse'], host)).toEqual(['sse']);
    const epyc = loadCatalog().models.find((m) => m.name === 'EPYC-v1')!;
    const kvm = modelFeaturesFor(epyc, 'kvm');
    expect(kvm).toContain('x2apic');
    expect(kvm).toContain('kvmclock');
    expect(kvm).not.toContain('monitor');
    expect(kvm).not.toContain('svm');
  });
  it('a cpuinfo estimate is marked inexact', () => {
    const est = kvmFeaturesFromCpuinfo(['fpu', 'sse', 'sse2', 'pni', 'ibpb'], 'AuthenticAMD');
    expect(est.exact).toBe(false);
    expect(est.features.has('pni')).toBe(true);
    expect(est.features.has('ibpb')).toBe(true);
  });
});

describe('feature names', () => {
  it('translates between QEMU, libvirt and Linux by bit', () => {
    expect(toQemuName('avx512_vnni')).toBe('avx512vnni');
    expect(toQemuName('pclmuldq', 'libvirt')).toBe('pclmulqdq');
    expect(toQemuName('sse4_1')).toBe('sse4.1');
    expect(toLibvirtName('lahf-lm')).toBe('lahf_lm');
    expect(toLibvirtName('tsc_deadline_timer', 'linux')).toBe('tsc-deadline');
    expect(toLinuxName('tsc-deadline')).toBe('tsc_deadline_timer');
    expect(toLinuxName('ds')).toBe('dts');
    expect(toLinuxName('spec-ctrl')).toBeNull(); // hidden in cpuinfo
    expect(toQemuName('constant_tsc')).toBeNull();
  });
  it('maps synthetic cpuinfo flags by vendor', () => {
    expect(cpuinfoFlagsToQemu(['ibpb', 'stibp'], 'GenuineIntel').qemu).toEqual(['spec-ctrl', 'stibp']);
    expect(cpuinfoFlagsToQemu(['ibpb', 'stibp'], 'AuthenticAMD').qemu).toEqual(['amd-stibp', 'ibpb']);
  });
  it('predicts Linux-added flags on AMD', () => {
    expect(predictCpuinfoFlags(['lm', 'fpu'], 'AuthenticAMD').linuxAdded).toEqual(['3dnowprefetch']);
    expect(predictCpuinfoFlags(['lm', 'fpu'], 'GenuineIntel').shown).toEqual(['fpu', 'lm']);
  });
  it('builds rows from libvirt XML and the QEMU-only words', () => {
    const xml = `<cpus><feature name='lahf_lm'><cpuid eax_in='0x80000001' ecx='0x00000001'/></feature>
      <feature name='invtsc' migratable='no'><cpuid eax_in='0x80000007' edx='0x00000100'/></feature>
      <feature name='mds-no'><msr index='0x10a' edx='0x00000000' eax='0x00000020'/></feature></cpus>`;
    expect(parseLibvirtFeatures(xml).map((f) => f.name)).toEqual(['lahf_lm', 'invtsc', 'mds-no']);
    const { table, unmappedQemu } = buildFeatureTable({
      libvirtXml: xml,
      qemuFeatures: ['lahf-lm', 'invtsc', 'mds-no', 'kvmclock', 'xstore', 'nosuch'],
      qemuAliases: { lahf_lm: 'lahf-lm' },
      sources: { qemu: 'test', libvirt: 'test', linux: 'test' },
    });
    const byKey = Object.fromEntries(table.rows.map((r) => [r.key, r]));
    expect(byKey['cpuid:0x80000001:0:ecx:0']).toMatchObject({ qemu: 'lahf-lm', libvirt: 'lahf_lm', qemuAliases: ['lahf_lm'] });
    expect(byKey['cpuid:0x80000007:0:edx:8']?.libvirtMigratable).toBe(false);
    expect(byKey['msr:0x10a:5']?.linux.flag).toBeNull();
    expect(byKey['cpuid:0xc0000001:0:edx:2']?.linux.flag).toBe('rng');
    expect(table.rows.filter((r) => r.qemu === 'kvmclock')).toHaveLength(2);
    expect(unmappedQemu).toEqual(['nosuch']);
    expect(linuxNameFor('sgxlc', { type: 'cpuid', leaf: 7, subleaf: 0, reg: 'ecx', bit: 30 }).flag).toBe('sgx_lc');
  });
});

describe('x86-64 levels', () => {
  it('classifies models like the psABI table', () => {
    const lv = (m: string) => x86Level(resolveModel(m).features).level;
    expect(lv('qemu32')).toBe(0);
    expect(lv('qemu64')).toBe(1);
    expect(lv('Nehalem')).toBe(2);
    expect(lv('Haswell')).toBe(3);
    expect(lv('Skylake-Server')).toBe(4);
    expect(x86Level(resolveModel('qemu64').features).missingForNext).toContain('popcnt');
  });
  it('says which guest OS boots', () => {
    const os = guestOsSupport(2);
    expect(os.find((o) => o.os.startsWith('RHEL 9'))?.ok).toBe(true);
    expect(os.find((o) => o.os.startsWith('RHEL 10'))?.ok).toBe(false);
  });
});

describe('feature advice', () => {
  it('adds what host and pool have, with dependencies, and never outside the pool', () => {
    const a = adviseFeatures({
      model: 'Nehalem',
      modelFeatures: resolveModel('Nehalem').features,
      hostFeatures: [...resolveModel('Nehalem').features, 'avx', 'avx2', 'xsave', 'aes', 'avx512f'],
      poolFeatures: [...resolveModel('Nehalem').features, 'avx', 'xsave', 'aes', 'avx2'],
    });
    expect(a.add).toEqual(['aes', 'avx', 'avx2', 'xsave']);
    expect(a.cpuString).toBe('Nehalem,+aes,+avx,+avx2,+xsave,enforce');
    expect(a.hostOnly).toContain('avx512f');
    // avx without xsave in the pool is not offered
    const b = adviseFeatures({ model: 'Nehalem', modelFeatures: [], hostFeatures: ['avx'], poolFeatures: ['avx'] });
    expect(b.add).toEqual([]);
  });
});
