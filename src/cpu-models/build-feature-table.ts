import { XMLParser } from 'fast-xml-parser';
import { KvcpuError } from '../core/errors.ts';
import type { FeatureLocation, FeatureRow, FeatureTable, LinuxName } from './types.ts';

/**
 * Build the feature-name table: one row per CPUID/MSR bit joining QEMU, libvirt and Linux names.
 *
 * Join key = the bit. Sources: libvirt's x86_features.xml gives every libvirt feature's bit; the
 * QEMU name of a libvirt bit is found by spelling rules checked against the live QEMU's canonical
 * feature list (same name, libvirt's own `<alias source='qemu'>`, or `_`→`-`); bits QEMU has and
 * libvirt lacks come from QEMU_ONLY_BITS below. Linux /proc/cpuinfo names follow a rule
 * (QEMU name with `-`/`.` → `_`) with an explicit rename list where Linux's cpufeatures.h differs.
 */

// QEMU 7.2 target/i386/cpu.c feature_word_info: words libvirt 9.0's cpu_map does not describe.
// (FEAT_KVM = CPUID 0x40000001 EAX, FEAT_KVM_HINTS = EDX; FEAT_C000_0001_EDX = VIA PadLock;
// FEAT_PERF_CAPABILITIES = MSR 0x345; FEAT_VMX_* = VMX capability MSRs 0x480-0x491, where QEMU
// numbers control bits by their position in the allowed-1 half, as its feat_names arrays do.)
const QEMU_ONLY_WORDS: { loc: (bit: number) => FeatureLocation; names: Record<number, string> }[] = [
  {
    loc: (bit) => ({ type: 'cpuid', leaf: 0x40000001, subleaf: 0, reg: 'eax', bit }),
    // bits 0 and 3 are both `kvmclock` (old and new clocksource MSRs): one property, two bits.
    names: {
      0: 'kvmclock',
      1: 'kvm-nopiodelay',
      2: 'kvm-mmu',
      3: 'kvmclock',
      4: 'kvm-asyncpf',
      5: 'kvm-steal-time',
      6: 'kvm-pv-eoi',
      7: 'kvm-pv-unhalt',
      9: 'kvm-pv-tlb-flush',
      11: 'kvm-pv-ipi',
      12: 'kvm-poll-control',
      13: 'kvm-pv-sched-yield',
      14: 'kvm-asyncpf-int',
      15: 'kvm-msi-ext-dest-id',
      24: 'kvmclock-stable-bit',
    },
  },
  { loc: (bit) => ({ type: 'cpuid', leaf: 0x40000001, subleaf: 0, reg: 'edx', bit }), names: { 0: 'kvm-hint-dedicated' } },
  {
    loc: (bit) => ({ type: 'cpuid', leaf: 0xc0000001, subleaf: 0, reg: 'edx', bit }),
    names: { 2: 'xstore', 3: 'xstore-en', 6: 'xcrypt', 7: 'xcrypt-en', 8: 'ace2', 9: 'ace2-en', 10: 'phe', 11: 'phe-en', 12: 'pmm', 13: 'pmm-en' },
  },
  { loc: (bit) => ({ type: 'msr', index: 0x345, bit }), names: { 13: 'full-width-write' } },
  { loc: (bit) => ({ type: 'msr', index: 0x480, bit }), names: { 54: 'vmx-ins-outs', 55: 'vmx-true-ctls' } },
  {
    loc: (bit) => ({ type: 'msr', index: 0x485, bit }),
    names: {
      5: 'vmx-store-lma',
      6: 'vmx-activity-hlt',
      7: 'vmx-activity-shutdown',
      8: 'vmx-activity-wait-sipi',
      29: 'vmx-vmwrite-vmexit-fields',
      30: 'vmx-zero-len-inject',
    },
  },
  {
    loc: (bit) => ({ type: 'msr', index: 0x48b, bit }),
    names: {
      0: 'vmx-apicv-xapic',
      1: 'vmx-ept',
      2: 'vmx-desc-exit',
      3: 'vmx-rdtscp-exit',
      4: 'vmx-apicv-x2apic',
      5: 'vmx-vpid',
      6: 'vmx-wbinvd-exit',
      7: 'vmx-unrestricted-guest',
      8: 'vmx-apicv-register',
      9: 'vmx-apicv-vid',
      10: 'vmx-ple',
      11: 'vmx-rdrand-exit',
      12: 'vmx-invpcid-exit',
      13: 'vmx-vmfunc',
      14: 'vmx-shadow-vmcs',
      15: 'vmx-encls-exit',
      16: 'vmx-rdseed-exit',
      17: 'vmx-pml',
      20: 'vmx-xsaves',
      25: 'vmx-tsc-scaling',
    },
  },
  {
    loc: (bit) => ({ type: 'msr', index: 0x48c, bit }),
    // 7.2 names bit 41 `vmx-invept-single-context` too (a typo for invvpid single-context): the
    // property then controls both bits 25 and 41.
    names: {
      0: 'vmx-ept-execonly',
      6: 'vmx-page-walk-4',
      7: 'vmx-page-walk-5',
      16: 'vmx-ept-2mb',
      17: 'vmx-ept-1gb',
      20: 'vmx-invept',
      21: 'vmx-eptad',
      22: 'vmx-ept-advanced-exitinfo',
      25: 'vmx-invept-single-context',
      26: 'vmx-invept-all-context',
      32: 'vmx-invvpid',
      40: 'vmx-invvpid-single-addr',
      41: 'vmx-invept-single-context',
      42: 'vmx-invvpid-all-context',
      43: 'vmx-invept-single-context-noglobals',
    },
  },
  {
    loc: (bit) => ({ type: 'msr', index: 0x48d, bit }),
    names: { 0: 'vmx-intr-exit', 3: 'vmx-nmi-exit', 5: 'vmx-vnmi', 6: 'vmx-preemption-timer', 7: 'vmx-posted-intr' },
  },
  {
    loc: (bit) => ({ type: 'msr', index: 0x48e, bit }),
    names: {
      2: 'vmx-vintr-pending',
      3: 'vmx-tsc-offset',
      7: 'vmx-hlt-exit',
      9: 'vmx-invlpg-exit',
      10: 'vmx-mwait-exit',
      11: 'vmx-rdpmc-exit',
      12: 'vmx-rdtsc-exit',
      15: 'vmx-cr3-load-noexit',
      16: 'vmx-cr3-store-noexit',
      19: 'vmx-cr8-load-exit',
      20: 'vmx-cr8-store-exit',
      21: 'vmx-flexpriority',
      22: 'vmx-vnmi-pending',
      23: 'vmx-movdr-exit',
      24: 'vmx-io-exit',
      25: 'vmx-io-bitmap',
      27: 'vmx-mtf',
      28: 'vmx-msr-bitmap',
      29: 'vmx-monitor-exit',
      30: 'vmx-pause-exit',
      31: 'vmx-secondary-ctls',
    },
  },
  {
    loc: (bit) => ({ type: 'msr', index: 0x48f, bit }),
    names: {
      2: 'vmx-exit-nosave-debugctl',
      12: 'vmx-exit-load-perf-global-ctrl',
      15: 'vmx-exit-ack-intr',
      18: 'vmx-exit-save-pat',
      19: 'vmx-exit-load-pat',
      20: 'vmx-exit-save-efer',
      21: 'vmx-exit-load-efer',
      22: 'vmx-exit-save-preemption-timer',
      23: 'vmx-exit-clear-bndcfgs',
      25: 'vmx-exit-clear-rtit-ctl',
      29: 'vmx-exit-load-pkrs',
    },
  },
  {
    loc: (bit) => ({ type: 'msr', index: 0x490, bit }),
    names: {
      2: 'vmx-entry-noload-debugctl',
      9: 'vmx-entry-ia32e-mode',
      13: 'vmx-entry-load-perf-global-ctrl',
      14: 'vmx-entry-load-pat',
      15: 'vmx-entry-load-efer',
      16: 'vmx-entry-load-bndcfgs',
      18: 'vmx-entry-load-rtit-ctl',
      22: 'vmx-entry-load-pkrs',
    },
  },
  { loc: (bit) => ({ type: 'msr', index: 0x491, bit }), names: { 0: 'vmx-eptp-switching' } },
];

// Linux arch/x86/include/asm/cpufeatures.h spells these bits differently from the rule
// (QEMU/libvirt name with `-` and `.` turned into `_`). Key: QEMU name, or libvirt name when QEMU has none.
const LINUX_RENAMES: Record<string, string> = {
  'tsc-deadline': 'tsc_deadline_timer', // X86_FEATURE_TSC_DEADLINE_TIMER
  ds: 'dts', // X86_FEATURE_DS is printed "dts" (debug store; `ds` would clash with nothing, history)
  avx512vbmi2: 'avx512_vbmi2', // QEMU drops the separator Linux keeps
  avx512vnni: 'avx512_vnni',
  avx512bitalg: 'avx512_bitalg',
  sgxlc: 'sgx_lc',
  'tsx-ldtrk': 'tsxldtrk', // the other way round: Linux has no separator
  cr8legacy: 'cr8_legacy',
  'pause-filter': 'pausefilter',
  xstore: 'rng', // VIA PadLock: Linux uses the marketing names
  'xstore-en': 'rng_en',
  xcrypt: 'ace',
  'xcrypt-en': 'ace_en',
  cmt: 'cqm', // libvirt-only (QEMU 7.2 has no property): Intel RDT monitoring
  mbm_total: 'cqm_mbm_total',
  mbm_local: 'cqm_mbm_local',
};

// Bits Linux knows but does not print in `flags` (cpufeatures.h comment `""`), with the reason.
const LINUX_HIDDEN: Record<string, string> = {
  osxsave: 'hidden OSXSAVE (OS state bit: shows as usable xsave)',
  'spec-ctrl': 'hidden SPEC_CTRL; shows as synthetic ibrs + ibpb',
  stibp: 'hidden INTEL_STIBP; shows as synthetic stibp',
  ssbd: 'hidden SPEC_CTRL_SSBD; shows as synthetic ssbd',
  'core-capability': 'hidden CORE_CAPABILITIES',
  xfd: 'hidden XFD',
  sgx1: 'hidden SGX1',
  sgx2: 'hidden SGX2',
  ibpb: 'hidden AMD_IBPB; shows as synthetic ibpb (same word as the Intel bit)',
  ibrs: 'hidden AMD_IBRS; shows as synthetic ibrs',
  'amd-stibp': 'hidden AMD_STIBP; shows as synthetic stibp',
  'amd-ssbd': 'hidden AMD_SSBD; shows as synthetic ssbd',
  'amd-no-ssb': 'hidden AMD_SSB_NO',
  'svme-addr-chk': 'hidden SVME_ADDR_CHK',
};

// Bits with no /proc/cpuinfo flag at all (Linux does not define them, or they are MSR bits).
const LINUX_NONE: Record<string, string> = {
  pcommit: 'not defined by Linux (instruction withdrawn)',
  pks: 'not in cpufeatures.h (kernel uses it internally)',
  invtsc: 'shows as constant_tsc + nonstop_tsc',
  cvt16: 'not defined by Linux',
  'intel-pt-lip': 'Intel PT sub-leaf bit: not a flag',
};

/** cpuinfo flags that are kernel software state or synthetic bits (no QEMU/libvirt feature by bit). */
export const LINUX_ONLY_FLAGS = [
  'acc_power',
  'amd_dcm',
  'amd_lbr_v2',
  'amd_ppin',
  'aperfmperf',
  'arch_perfmon',
  'art',
  'bts',
  'cat_l2',
  'cat_l3',
  'cdp_l2',
  'cdp_l3',
  'centaur_mcr',
  'constant_tsc',
  'cpb',
  'cpuid',
  'cpuid_fault',
  'cqm_llc',
  'cqm_occup_llc',
  'cxmmx',
  'cyrix_arr',
  'dtherm',
  'enqcmd',
  'epb',
  'ept',
  'ept_ad',
  'extd_apicid',
  'flexpriority',
  'flush_l1d',
  'hfi',
  'hw_pstate',
  'hwp',
  'hwp_act_window',
  'hwp_epp',
  'hwp_notify',
  'hwp_pkg_req',
  'ibrs_enhanced',
  'ibt',
  'ida',
  'intel_ppin',
  'invpcid_single',
  'irperf',
  'k6_mtrr',
  'k7',
  'k8',
  'lfence_rdtsc',
  'longrun',
  'lrti',
  'mba',
  'nonstop_tsc',
  'nonstop_tsc_s3',
  'nopl',
  'overflow_recov',
  'p3',
  'p4',
  'pebs',
  'perfmon_v2',
  'pln',
  'proc_feedback',
  'pti',
  'pts',
  'rapl',
  'rdt_a',
  'recovery',
  'rep_good',
  'ring3mwait',
  'sdbg',
  'sev',
  'sev_es',
  'smca',
  'sme',
  'split_lock_detect',
  'succor',
  'tdx_guest',
  'tme',
  'tpr_shadow',
  'tsc_known_freq',
  'tsc_reliable',
  'up',
  'user_shstk',
  'v_spec_ctrl',
  'vmmcall',
  'vnmi',
  'vpid',
  'x2avic',
  'xtopology',
];

/** Synthetic cpuinfo flags that stand for different QEMU features per vendor. */
export const LINUX_SYNTHETIC: FeatureTable['linuxSynthetic'] = {
  ibrs: { intel: ['spec-ctrl'], amd: ['ibrs'], note: 'Intel SPEC_CTRL (7.0.EDX[26]) or AMD 0x80000008.EBX[14]' },
  ibpb: { intel: ['spec-ctrl'], amd: ['ibpb'], note: 'Intel SPEC_CTRL or AMD 0x80000008.EBX[12]' },
  stibp: { intel: ['stibp'], amd: ['amd-stibp'], note: 'Intel 7.0.EDX[27] or AMD 0x80000008.EBX[15]' },
  ssbd: { intel: ['ssbd'], amd: ['amd-ssbd', 'virt-ssbd'], note: 'Intel 7.0.EDX[31], AMD 0x80000008.EBX[24] or VIRT_SSBD [25]' },
  constant_tsc: { intel: ['invtsc'], amd: ['invtsc'], note: 'invariant TSC 0x80000007.EDX[8] (also set by family): approximate' },
  nonstop_tsc: { intel: ['invtsc'], amd: ['invtsc'], note: 'invariant TSC 0x80000007.EDX[8]' },
  ibrs_enhanced: { intel: ['ibrs-all'], amd: [], note: 'MSR 0x10a bit 1' },
  split_lock_detect: { intel: ['split-lock-detect'], amd: [], note: 'MSR 0xcf bit 5 (or a model list)' },
};

export function locationKey(loc: FeatureLocation): string {
  return loc.type === 'cpuid' ? `cpuid:0x${loc.leaf.toString(16)}:${loc.subleaf}:${loc.reg}:${loc.bit}` : `msr:0x${loc.index.toString(16)}:${loc.bit}`;
}

function bitOf(mask: number): number[] {
  const bits: number[] = [];
  for (let b = 0; b < 32; b++) if (((mask >>> b) & 1) === 1) bits.push(b);
  return bits;
}

interface LibvirtFeature {
  name: string;
  loc: FeatureLocation;
  migratable: boolean;
  aliases: { name: string; source: string }[];
}

/** Parse libvirt's x86_features.xml (9.0 layout: `<cpuid eax_in ecx_in REG=mask>` / `<msr index edx eax>`). */
export function parseLibvirtFeatures(xml: string): LibvirtFeature[] {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (n) => ['feature', 'alias', 'cpuid', 'msr'].includes(n),
  });
  let doc: { cpus?: { feature?: Record<string, unknown>[] } };
  try {
    doc = parser.parse(xml) as typeof doc;
  } catch (e) {
    throw new KvcpuError('E_BAD_XML', `x86_features.xml: ${(e as Error).message}`, { cause: e });
  }
  const out: LibvirtFeature[] = [];
  for (const f of doc.cpus?.feature ?? []) {
    const name = String(f.name);
    const aliases = ((f.alias as Record<string, string>[] | undefined) ?? []).map((a) => ({ name: a.name!, source: a.source ?? '' }));
    const migratable = f.migratable !== 'no';
    for (const c of (f.cpuid as Record<string, string>[] | undefined) ?? []) {
      const leaf = Number(c.eax_in);
      const subleaf = c.ecx_in === undefined ? 0 : Number(c.ecx_in);
      for (const reg of ['eax', 'ebx', 'ecx', 'edx'] as const) {
        if (c[reg] === undefined) continue;
        for (const bit of bitOf(Number(c[reg]))) out.push({ name, loc: { type: 'cpuid', leaf, subleaf, reg, bit }, migratable, aliases });
      }
    }
    for (const m of (f.msr as Record<string, string>[] | undefined) ?? []) {
      const index = Number(m.index);
      for (const bit of bitOf(Number(m.eax ?? 0))) out.push({ name, loc: { type: 'msr', index, bit }, migratable, aliases });
      for (const bit of bitOf(Number(m.edx ?? 0))) out.push({ name, loc: { type: 'msr', index, bit: bit + 32 }, migratable, aliases });
    }
  }
  return out;
}

/** The Linux /proc/cpuinfo name of a bit, from its QEMU (or libvirt) name by rule + exceptions. */
export function linuxNameFor(name: string, loc: FeatureLocation): LinuxName {
  if (LINUX_HIDDEN[name]) return { flag: null, hidden: true, note: LINUX_HIDDEN[name] };
  if (LINUX_NONE[name]) return { flag: null, hidden: false, note: LINUX_NONE[name] };
  if (loc.type === 'msr') return { flag: null, hidden: false, note: 'MSR bit: never in the flags line' };
  if (loc.leaf === 0x40000001) return { flag: null, hidden: false, note: 'KVM paravirt bit: not a cpuinfo flag' };
  if (loc.leaf === 0x12) return { flag: null, hidden: false, note: 'SGX sub-leaf bit: not a cpuinfo flag' };
  const renamed = LINUX_RENAMES[name];
  if (renamed) return { flag: renamed, hidden: false, note: `Linux spells it ${renamed}` };
  return { flag: name.replace(/[-.]/g, '_'), hidden: false };
}

function locSortKey(loc: FeatureLocation): [number, number, number, number, number] {
  if (loc.type === 'cpuid') return [0, loc.leaf, loc.subleaf, ['eax', 'ebx', 'ecx', 'edx'].indexOf(loc.reg), loc.bit];
  return [1, loc.index, 0, 0, loc.bit];
}

export interface BuildFeatureTableInput {
  /** x86_features.xml text, or null when libvirt is not installed (then QEMU names come only from QEMU_ONLY_WORDS and libvirt columns stay empty). */
  libvirtXml: string | null;
  /** Canonical QEMU feature names (static expansion keys). */
  qemuFeatures: string[];
  /** QEMU property aliases (alias → canonical). */
  qemuAliases: Record<string, string>;
  sources: FeatureTable['sources'];
}

export function buildFeatureTable(input: BuildFeatureTableInput): { table: FeatureTable; unmappedQemu: string[] } {
  const qemuSet = new Set(input.qemuFeatures);
  const aliasesOf = new Map<string, string[]>();
  for (const [a, c] of Object.entries(input.qemuAliases)) aliasesOf.set(c, [...(aliasesOf.get(c) ?? []), a].sort());
  const rows = new Map<string, FeatureRow>();

  const qemuNameForLibvirt = (f: LibvirtFeature): string | null => {
    // libvirt and QEMU mostly agree; else libvirt's own qemu alias (pclmuldq → pclmulqdq),
    // else QEMU's underscore→dash spelling (lahf_lm → lahf-lm, fxsr_opt → fxsr-opt).
    const candidates = [f.name, ...f.aliases.filter((a) => a.source === 'qemu').map((a) => a.name), f.name.replace(/_/g, '-')];
    for (const c of candidates) {
      if (qemuSet.has(c)) return c;
      const target = input.qemuAliases[c];
      if (target && qemuSet.has(target)) return target;
    }
    return null;
  };

  if (input.libvirtXml !== null) {
    for (const f of parseLibvirtFeatures(input.libvirtXml)) {
      const key = locationKey(f.loc);
      const qemu = qemuNameForLibvirt(f);
      rows.set(key, {
        key,
        loc: f.loc,
        qemu,
        qemuAliases: qemu ? (aliasesOf.get(qemu) ?? []) : [],
        libvirt: f.name,
        libvirtAliases: f.aliases,
        libvirtMigratable: f.migratable,
        linux: linuxNameFor(qemu ?? f.name, f.loc),
      });
    }
  }
  for (const w of QEMU_ONLY_WORDS) {
    for (const [bitStr, name] of Object.entries(w.names)) {
      const loc = w.loc(Number(bitStr));
      const key = locationKey(loc);
      const existing = rows.get(key);
      if (existing) {
        if (!existing.qemu && qemuSet.has(name)) existing.qemu = name;
        continue;
      }
      if (!qemuSet.has(name)) continue; // not a property of this QEMU build
      rows.set(key, {
        key,
        loc,
        qemu: name,
        qemuAliases: aliasesOf.get(name) ?? [],
        libvirt: null,
        libvirtAliases: [],
        libvirtMigratable: true,
        linux: linuxNameFor(name, loc),
      });
    }
  }
  const sorted = [...rows.values()].sort((a, b) => {
    const ka = locSortKey(a.loc);
    const kb = locSortKey(b.loc);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
  const mapped = new Set(sorted.map((r) => r.qemu).filter((q): q is string => q !== null));
  const unmappedQemu = input.qemuFeatures.filter((f) => !mapped.has(f));
  return {
    table: {
      schema: 'kvcpu/feature-names/1',
      sources: input.sources,
      rows: sorted,
      linuxOnlyFlags: LINUX_ONLY_FLAGS,
      linuxSynthetic: LINUX_SYNTHETIC,
    },
    unmappedQemu,
  };
}
