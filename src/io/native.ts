import { packagePath } from '../core/package-root.ts';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

/** What /dev/kvm answered to the probe in native/kvcpu.c. */
export interface KvmProbeResult {
  openErrno: number;
  openError?: string;
  apiVersion?: number;
  nrVcpus?: number;
  maxVcpus?: number;
  maxVcpuId?: number;
  createErrno?: number;
  createError?: string;
  vcpuErrno?: number;
  vcpuError?: string;
}

/** KVM_CHECK_EXTENSION result per Hyper-V capability (> 0: supported), as kvmHypervCaps reports them. */
// A type alias (not an interface), so a plain Record<string, number> from a test oracle still converts.
export type KvmHypervExtensions = {
  hyperv: number;
  hypervTime: number;
  hypervVpIndex: number;
  hypervTlbflush: number;
  hypervSendIpi: number;
  hypervSynic: number;
  hypervSynic2: number;
};

export interface NativeAddon {
  affinityGet(tid: number): number[];
  affinitySet(tid: number, cpus: number[]): void;
  kvmProbe(path?: string): KvmProbeResult;
  /** CPUID 0x40000000 vendor signature when the hypervisor bit is set, else null (x86 only).
   * Optional: an addon built before it was added lacks it. */
  cpuidHypervisor?(): string | null;
  /** KubeVirt's Hyper-V probe: KVM_CHECK_EXTENSION of the Hyper-V caps and KVM_GET_MSR_INDEX_LIST.
   * Optional: an addon built before it was added lacks it. */
  kvmHypervCaps?(path?: string): {
    openErrno: number;
    openError?: string;
    msrErrno?: number;
    extensions?: KvmHypervExtensions;
    msrs?: number[];
  };
}

let cached: NativeAddon | null | undefined;

/**
 * The native addon built by `npm ci` (binding.gyp), or null when it was not built
 * (no compiler): callers then fall back to `taskset` / a QEMU probe.
 * KVCPU_NO_NATIVE=1 forces the fallback (tests use it to cover both paths).
 */
export function loadNative(): NativeAddon | null {
  if (cached !== undefined) return cached;
  if (process.env.KVCPU_NO_NATIVE === '1') return (cached = null);
  const path = packagePath('build/Release/kvcpu_native.node');
  if (!existsSync(path)) return (cached = null);
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch {
    cached = null;
  }
  return cached;
}
