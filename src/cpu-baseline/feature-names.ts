import { canonicalQemuName, featureTable, rowsForQemu } from '../cpu-models/feature-names.ts';

/**
 * Name translations kvcpu's baseline needs between libvirt 9.0, QEMU 7.2 and Linux /proc/cpuinfo,
 * joined by CPUID bit (libvirt x86_features.xml, QEMU target/i386/cpu.c feature_word_info, Linux
 * arch/x86/include/asm/cpufeatures.h): a view of the generated table, plus the vendor rules.
 */

/**
 * One feature vocabulary: every name translation below is read from the generated feature table
 * (src/cpu-models/data/feature-names.json, joined by CPUID/MSR bit from QEMU, libvirt and Linux
 * sources by `npm run gen`), not kept by hand. Built on first use.
 */
interface BaselineNames {
  libvirtToQemu: Map<string, string>;
  libvirtOnly: Set<string>;
  linuxToLibvirt: Map<string, string>;
  libvirtToLinux: Map<string, string>;
  qemuToLibvirt: Map<string, string>;
  cpuinfoInvisible: string[];
}
let names: BaselineNames | undefined;
function baselineNames(): BaselineNames {
  if (names) return names;
  const t = featureTable();
  const libvirtToQemu = new Map<string, string>();
  const libvirtOnly = new Set<string>();
  const linuxToLibvirt = new Map<string, string>();
  const qemuToLibvirt = new Map<string, string>();
  for (const r of t.rows) {
    if (!r.libvirt) continue;
    if (r.qemu) {
      libvirtToQemu.set(r.libvirt, r.qemu);
      qemuToLibvirt.set(r.qemu, r.libvirt);
    } else libvirtOnly.add(r.libvirt);
    if (r.linux.flag && !linuxToLibvirt.has(r.linux.flag)) linuxToLibvirt.set(r.linux.flag, r.libvirt);
  }
  // Synthetic flags of one vendor that stand for exactly one feature bit and nothing else
  // (ibrs_enhanced = MSR IA32_ARCH_CAPABILITIES bit 1). Not split_lock_detect: Linux also sets it
  // from a model list (its note says "or"), so the flag does not prove the MSR bit. The
  // vendor-dependent ones (ibrs, ibpb, stibp, ssbd, invtsc) are handled in cpuinfoFlagsToLibvirt.
  for (const [flag, m] of Object.entries(t.linuxSynthetic)) {
    const all = [...new Set([...m.intel, ...m.amd])];
    const oneBit = all.length === 1 && (m.intel.length === 0 || m.amd.length === 0) && !/\bor\b/.test(m.note);
    const lv = oneBit ? rowsForQemu(all[0]!)[0]?.libvirt : undefined;
    if (lv && !linuxToLibvirt.has(flag)) linuxToLibvirt.set(flag, lv);
  }
  const libvirtToLinux = new Map([...linuxToLibvirt].map(([l, v]) => [v, l]));
  // What cpuinfo can never show: libvirt features with no printed flag, minus those the
  // translation below still recovers from other flags (synthetic, osxsave, invtsc).
  const recovered = new Set(['osxsave', 'invtsc', 'spec-ctrl', 'stibp', 'ssbd', 'ibrs', 'ibpb', 'amd-stibp', 'amd-ssbd', ...linuxToLibvirt.values()]);
  const cpuinfoInvisible = t.rows.filter((r) => r.libvirt && r.qemu && (r.linux.hidden || !r.linux.flag) && !recovered.has(r.libvirt)).map((r) => r.libvirt!);
  names = { libvirtToQemu, libvirtOnly, linuxToLibvirt, libvirtToLinux, qemuToLibvirt, cpuinfoInvisible };
  return names;
}

/** libvirt features QEMU has no `-cpu` property for (OS state, monitoring bits, AMD cvt16). */
export function libvirtOnlyFeatures(): ReadonlySet<string> {
  return baselineNames().libvirtOnly;
}

/** libvirt name → QEMU property (null: QEMU has none); names outside libvirt's map pass through QEMU's aliases. */
export function libvirtToQemu(name: string): string | null {
  const n = baselineNames();
  if (n.libvirtOnly.has(name)) return null;
  return n.libvirtToQemu.get(name) ?? canonicalQemuName(name) ?? name;
}

/** Linux cpuinfo flag → libvirt name, for every flag with a 1:1 bit where the spellings differ. */
export function linuxToLibvirtTable(): ReadonlyMap<string, string> {
  const n = baselineNames();
  return new Map([...n.linuxToLibvirt].filter(([l, v]) => l !== v));
}

/** QEMU property → libvirt name (identity where spelled alike or unknown to libvirt). */
export function qemuToLibvirtName(name: string): string {
  const n = baselineNames();
  return n.qemuToLibvirt.get(name) ?? n.qemuToLibvirt.get(canonicalQemuName(name) ?? '') ?? name;
}

/** Linux cpuinfo flag → libvirt name for flags with a 1:1 CPUID bit (identity when spelled alike). */
export function linuxToLibvirtName(name: string): string {
  return baselineNames().linuxToLibvirt.get(name) ?? name;
}

/** libvirt name → the Linux cpuinfo spelling (same name when Linux prints it alike or hides it). */
export function libvirtToLinux(name: string): string {
  return baselineNames().libvirtToLinux.get(name) ?? name;
}

/**
 * Features /proc/cpuinfo can never show (MSR bits, hidden CPUID bits): a host described by its
 * cpuinfo looks like it lacks them, so a baseline over cpuinfo inputs may pick an older model
 * than libvirt would from the raw CPUID (Linux cpufeatures.h: quoted "" names, MSR features).
 */
export function cpuinfoInvisible(): readonly string[] {
  return baselineNames().cpuinfoInvisible;
}

export interface CpuinfoTranslation {
  features: string[];
  /** Flags that are kernel state or have no libvirt feature (not CPU model features). */
  ignored: string[];
  notes: string[];
}

/**
 * Translate cpuinfo flags to libvirt features for a vendor. Synthetic flags are mapped only when
 * their CPUID source is unambiguous for that vendor (Linux arch/x86/kernel/cpu/bugs.c and
 * common.c): on Intel `ibrs`/`ibpb` come from SPEC_CTRL, `stibp` and `ssbd` from their 7.0.EDX
 * bits; on AMD `ibrs`/`ibpb`/`stibp` come from 0x80000008.EBX bits, but `ssbd` may come from
 * AMD_SSBD, VIRT_SSBD or an MSR-only variant, so it is not claimed (being safe beats being rich).
 */
export function cpuinfoFlagsToLibvirt(flags: string[], vendor: string | null, known: ReadonlySet<string>): CpuinfoTranslation {
  const have = new Set(flags);
  const out = new Set<string>();
  const ignored: string[] = [];
  const notes: string[] = [];
  const synthetic = new Set(['ibrs', 'ibpb', 'stibp', 'ssbd']);
  for (const f of flags) {
    if (synthetic.has(f)) continue;
    const name = linuxToLibvirtName(f);
    if (known.has(name)) out.add(name);
    else ignored.push(f);
  }
  if (vendor === 'Intel') {
    if (have.has('ibrs') || have.has('ibpb')) out.add('spec-ctrl');
    if (have.has('stibp')) out.add('stibp');
    if (have.has('ssbd')) out.add('ssbd');
  } else if (vendor === 'AMD' || vendor === 'Hygon') {
    if (have.has('ibrs')) out.add('ibrs');
    if (have.has('ibpb')) out.add('ibpb');
    if (have.has('stibp')) out.add('amd-stibp');
    if (have.has('ssbd') && !have.has('virt_ssbd')) notes.push('cpuinfo `ssbd` on AMD may come from AMD_SSBD, VIRT_SSBD or an MSR: amd-ssbd not assumed');
  }
  // OSXSAVE is hidden in cpuinfo, but Linux enables it whenever it uses XSAVE (and clears `xsave` otherwise).
  if (have.has('xsave') && known.has('osxsave')) out.add('osxsave');
  // invtsc: CPUID 0x80000007 EDX[8], shown by Linux as constant_tsc + nonstop_tsc.
  if (have.has('constant_tsc') && have.has('nonstop_tsc') && known.has('invtsc')) out.add('invtsc');
  notes.push(
    `cpuinfo cannot show ${cpuinfoInvisible().length} libvirt features (MSR bits such as mds-no, rdctl-no; hidden CPUID bits such as core-capability): they count as missing`,
  );
  return { features: [...out], ignored, notes };
}
