import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuinfoFlagsToLibvirt, cpuinfoInvisible, libvirtToLinux, libvirtToQemu, linuxToLibvirtTable } from './feature-names.ts';
import { readSnapshotCpuMap } from './read-cpu-map.ts';
import { indexCpuMap } from './x86-map.ts';

const x = indexCpuMap(readSnapshotCpuMap());
const known = new Set(x.featureNames);

describe('feature names', () => {
  it('every Linux rename targets a real libvirt feature and round-trips', () => {
    // Counted: the generated table has the renames the hand table had (sse4_2, tsc_deadline_timer...).
    expect(linuxToLibvirtTable().size).toBeGreaterThanOrEqual(38);
    expect(linuxToLibvirtTable().get('ibrs_enhanced')).toBe('ibrs-all');
    expect(linuxToLibvirtTable().has('split_lock_detect')).toBe(false);
    expect(libvirtToQemu('kvm_pv_eoi')).toBe('kvm-pv-eoi');
    expect(cpuinfoInvisible()).toEqual(expect.arrayContaining(['mds-no', 'rdctl-no', 'core-capability', 'split-lock-detect']));
    expect(cpuinfoInvisible()).not.toContain('invtsc');
    for (const [linux, lv] of linuxToLibvirtTable()) {
      expect(known.has(lv), lv).toBe(true);
      expect(libvirtToLinux(lv)).toBe(linux);
    }
  });

  it('maps synthetic cpuinfo flags by vendor, and never claims an ambiguous bit', () => {
    const flags = ['fpu', 'sse4_2', 'ibrs', 'ibpb', 'stibp', 'ssbd', 'xsave', 'constant_tsc', 'nonstop_tsc', 'arch_perfmon'];
    const intel = cpuinfoFlagsToLibvirt(flags, 'Intel', known);
    expect(intel.features).toEqual(expect.arrayContaining(['fpu', 'sse4.2', 'spec-ctrl', 'stibp', 'ssbd', 'osxsave', 'invtsc']));
    expect(intel.features).not.toContain('ibrs'); // libvirt's ibrs is the AMD 0x80000008 bit
    expect(intel.ignored).toEqual(['constant_tsc', 'nonstop_tsc', 'arch_perfmon']);
    const amd = cpuinfoFlagsToLibvirt(flags, 'AMD', known);
    expect(amd.features).toEqual(expect.arrayContaining(['ibrs', 'ibpb', 'amd-stibp']));
    expect(amd.features).not.toContain('amd-ssbd');
    expect(amd.features).not.toContain('spec-ctrl');
  });

  // The other source of names in kvcpu: src/cpu-models' generated feature table (by CPUID bit).
  const table = new URL('../cpu-models/data/feature-names.json', import.meta.url);
  it.skipIf(!existsSync(table))('agrees with src/cpu-models feature-name table (libvirt ↔ QEMU ↔ Linux)', async () => {
    const fn = await import('../cpu-models/feature-names.ts');
    for (const f of x.featureNames) {
      const theirs = fn.toQemuName(f, 'libvirt');
      expect(libvirtToQemu(f), f).toBe(theirs);
    }
    for (const [linux, lv] of linuxToLibvirtTable()) {
      if (linux === 'ibrs_enhanced') continue; // MSR bit: Linux-only synthetic name
      expect(fn.toLibvirtName(linux, 'linux'), linux).toBe(lv);
    }
  });
});
