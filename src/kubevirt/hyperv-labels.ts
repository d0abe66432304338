import { loadNative, type KvmHypervExtensions } from '../io/native.ts';

/** What /dev/kvm answers to the two questions of KubeVirt's Hyper-V probe. */
export interface KvmHypervAnswers {
  /** KVM_CHECK_EXTENSION result per capability (> 0: supported). */
  extensions: KvmHypervExtensions;
  /** KVM_GET_MSR_INDEX_LIST. */
  msrs: number[];
}

type Ext = keyof KvmHypervAnswers['extensions'];

// KubeVirt v1.9.0 kvm-caps-info-plugin_amd64.go CapsDesc, in its order: label, extension, MSR.
const CAPS: { name: string; ext?: Ext; msr?: number }[] = [
  { name: 'base', ext: 'hyperv' },
  { name: 'time', ext: 'hypervTime' },
  { name: 'vpindex', ext: 'hypervVpIndex', msr: 0x40000002 }, // HV_X64_MSR_VP_INDEX
  { name: 'tlbflush', ext: 'hypervTlbflush' },
  { name: 'ipi', ext: 'hypervSendIpi' },
  { name: 'synic', ext: 'hypervSynic', msr: 0x40000080 }, // HV_X64_MSR_SCONTROL
  { name: 'synic2', ext: 'hypervSynic2', msr: 0x40000080 },
  { name: 'frequencies', msr: 0x40000022 }, // HV_X64_MSR_TSC_FREQUENCY
  { name: 'reset', msr: 0x40000003 }, // HV_X64_MSR_RESET
  { name: 'runtime', msr: 0x40000010 }, // HV_X64_MSR_VP_RUNTIME
  { name: 'synictimer', msr: 0x400000b0 }, // HV_X64_MSR_STIMER0_CONFIG
  { name: 'reenlightenment', msr: 0x40000106 }, // HV_X64_MSR_REENLIGHTENMENT_CONTROL
];

/**
 * exposeCapabilities: a capability with an MSR is exposed when KVM lists the MSR; one with an
 * extension when KVM_CHECK_EXTENSION answers > 0 — and when it has both, the extension's answer
 * replaces the MSR's (the Go code assigns shouldExpose twice), so vpindex/synic/synic2 follow
 * their extensions only.
 */
export function hypervCapabilities(a: KvmHypervAnswers): string[] {
  const msrs = new Set(a.msrs);
  const out: string[] = [];
  for (const c of CAPS) {
    let expose = false;
    if (c.msr !== undefined) expose = msrs.has(c.msr);
    if (c.ext !== undefined) expose = a.extensions[c.ext] > 0;
    if (expose) out.push(c.name);
  }
  return out;
}

/** Ask /dev/kvm through the native addon; null when there is no addon or /dev/kvm does not open (KubeVirt then sets no hyperv label either). */
export function readKvmHyperv(path = '/dev/kvm'): KvmHypervAnswers | null {
  const addon = loadNative();
  if (!addon?.kvmHypervCaps) return null;
  const r = addon.kvmHypervCaps(path);
  if (r.openErrno !== 0 || !r.extensions || r.msrErrno !== 0) return null;
  return { extensions: r.extensions, msrs: r.msrs ?? [] };
}
