/**
 * Name translations kvcpu's baseline needs between libvirt 9.0, QEMU 7.2 and Linux /proc/cpuinfo.
 * Joined by CPUID bit (see ../shared/notes/cpu-models.md §5–6): libvirt x86_features.xml, QEMU
 * target/i386/cpu.c feature_word_info, Linux arch/x86/include/asm/cpufeatures.h (6.1).
 */

/** libvirt spelling → QEMU property where they differ (libvirt src/cpu/cpu_x86.c translation table). */
export const LIBVIRT_TO_QEMU: Readonly<Record<string, string>> = {
  cmp_legacy: 'cmp-legacy',
  ds_cpl: 'ds-cpl',
  fxsr_opt: 'fxsr-opt',
  kvm_pv_eoi: 'kvm-pv-eoi',
  kvm_pv_unhalt: 'kvm-pv-unhalt',
  lahf_lm: 'lahf-lm',
  nodeid_msr: 'nodeid-msr',
  pclmuldq: 'pclmulqdq',
  perfctr_core: 'perfctr-core',
  perfctr_nb: 'perfctr-nb',
  tsc_adjust: 'tsc-adjust',
};

/**
 * libvirt features QEMU 7.2 has no `-cpu` property for: OS state or monitoring bits, and AMD's
 * cvt16 (0x80000001 ECX[18]), which QEMU never named.
 */
export const LIBVIRT_ONLY = new Set(['osxsave', 'ospke', 'cmt', 'mbm_total', 'mbm_local', 'pconfig', 'cvt16']);

export function libvirtToQemu(name: string): string | null {
  if (LIBVIRT_ONLY.has(name)) return null;
  return LIBVIRT_TO_QEMU[name] ?? name;
}

/**
 * Linux 6.1 cpuinfo flag → libvirt name where the spellings differ (same CPUID bit).
 * Flags with equal spelling need no entry.
 */
export const LINUX_TO_LIBVIRT: Readonly<Record<string, string>> = {
  pclmulqdq: 'pclmuldq',
  sse4_1: 'sse4.1',
  sse4_2: 'sse4.2',
  tsc_deadline_timer: 'tsc-deadline',
  dts: 'ds',
  cqm: 'cmt',
  intel_pt: 'intel-pt',
  sha_ni: 'sha-ni',
  avx512_vbmi2: 'avx512vbmi2',
  avx512_vnni: 'avx512vnni',
  avx512_bitalg: 'avx512bitalg',
  avx512_vpopcntdq: 'avx512-vpopcntdq',
  bus_lock_detect: 'bus-lock-detect',
  sgx_lc: 'sgxlc',
  avx512_4vnniw: 'avx512-4vnniw',
  avx512_4fmaps: 'avx512-4fmaps',
  avx512_vp2intersect: 'avx512-vp2intersect',
  md_clear: 'md-clear',
  tsxldtrk: 'tsx-ldtrk',
  arch_lbr: 'arch-lbr',
  amx_bf16: 'amx-bf16',
  avx512_fp16: 'avx512-fp16',
  amx_tile: 'amx-tile',
  amx_int8: 'amx-int8',
  arch_capabilities: 'arch-capabilities',
  avx_vnni: 'avx-vnni',
  avx512_bf16: 'avx512-bf16',
  cqm_mbm_total: 'mbm_total',
  cqm_mbm_local: 'mbm_local',
  cr8_legacy: 'cr8legacy',
  virt_ssbd: 'virt-ssbd',
  svm_lock: 'svm-lock',
  nrip_save: 'nrip-save',
  tsc_scale: 'tsc-scale',
  vmcb_clean: 'vmcb-clean',
  pausefilter: 'pause-filter',
  v_vmsave_vmload: 'v-vmsave-vmload',
  // MSR IA32_ARCH_CAPABILITIES bit 1 (Linux: X86_FEATURE_IBRS_ENHANCED).
  ibrs_enhanced: 'ibrs-all',
};

const LIBVIRT_TO_LINUX: Record<string, string> = Object.fromEntries(
  Object.entries(LINUX_TO_LIBVIRT).map(([l, v]) => [v, l]),
);

const QEMU_TO_LIBVIRT: Record<string, string> = Object.fromEntries(Object.entries(LIBVIRT_TO_QEMU).map(([l, q]) => [q, l]));

/** QEMU property → libvirt name (identity except the 11 renamed ones). */
export function qemuToLibvirtName(name: string): string {
  return QEMU_TO_LIBVIRT[name] ?? name;
}

/** Linux cpuinfo flag → libvirt name for flags with a 1:1 CPUID bit (identity when spelled alike). */
export function linuxToLibvirtName(name: string): string {
  return LINUX_TO_LIBVIRT[name] ?? name;
}

/** libvirt name → the Linux cpuinfo spelling (same name when Linux prints it alike or hides it). */
export function libvirtToLinux(name: string): string {
  return LIBVIRT_TO_LINUX[name] ?? name;
}

/**
 * Features /proc/cpuinfo can never show (MSR bits, hidden CPUID bits): a host described by its
 * cpuinfo looks like it lacks them, so a baseline over cpuinfo inputs may pick an older model
 * than libvirt would from the raw CPUID (Linux cpufeatures.h: quoted "" names, MSR features).
 */
export const CPUINFO_INVISIBLE = [
  'core-capability',
  'xfd',
  'sgx1',
  'sgx2',
  'svme-addr-chk',
  'amd-no-ssb',
  'split-lock-detect',
  'rdctl-no',
  'rsba',
  'skip-l1dfl-vmentry',
  'ssb-no',
  'mds-no',
  'pschange-mc-no',
  'tsx-ctrl',
  'taa-no',
];

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
    const name = LINUX_TO_LIBVIRT[f] ?? f;
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
  notes.push(`cpuinfo cannot show ${CPUINFO_INVISIBLE.length} libvirt features (MSR bits such as mds-no, rdctl-no; hidden CPUID bits such as core-capability): they count as missing`);
  return { features: [...out], ignored, notes };
}
