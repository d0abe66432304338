import type { KvmProbeResult } from '../io/native.ts';
import type { CheckId } from './check-ids.ts';
/**
 * Types of `kvcpu check`: plain facts in (CheckFacts, gathered by gather-check-facts.ts under a
 * root prefix), verdicts out (Check). Verdict functions are pure so unit tests feed them
 * hand-made facts and captured trees go through the same code as the live host.
 */

/** PASS = ready; WARN = works but worth a look; FAIL = blocks KVM guests; SKIP = not applicable or not checkable here. */
export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

export interface Check {
  /** Stable id (`kvm.usable`, `cpu.vmx.ept`, ...): scripts match on it. */
  id: CheckId;
  status: CheckStatus;
  /** One line saying what was found. */
  summary: string;
  /** The facts the verdict rests on (file: value, probe results). */
  evidence: string[];
  /** A concrete action for WARN/FAIL (BIOS menu, kernel args, command), null when nothing to do. */
  fix: string | null;
}

/** The CPU facts a verdict needs (a slice of HostSnapshot, see hostFactsFrom). */
export interface CheckHostFacts {
  arch: string;
  vendor: string | null;
  modelName: string | null;
  flags: string[];
  /** x86 `vmx flags` line (Linux >= 5.8), empty when absent. */
  vmxFlags: string[];
  hwVirtualization: 'vmx' | 'svm' | 'sie' | null;
  hypervisorFlag: boolean;
  cpus: {
    possible: string | null;
    present: string | null;
    online: string;
    offline: string;
    isolated: string | null;
  };
}

/** A kernel module's view in /sys/module/NAME. */
export interface ModuleFacts {
  /** No `initstate` file: compiled into the kernel (still has `parameters/`). */
  builtin: boolean;
  /** parameters/* contents, trimmed. */
  params: Record<string, string>;
}

/** stat() of a device node (live host only). */
export interface DeviceNodeFacts {
  path: string;
  exists: boolean;
  kind: 'char' | 'block' | 'file' | 'directory' | 'other' | null;
  major: number | null;
  minor: number | null;
  /** Permission bits (mode & 0o7777), null when absent. */
  mode: number | null;
  uid: number | null;
  gid: number | null;
  owner: string | null;
  group: string | null;
  /** The current process may open it read-write (access(2) R_OK|W_OK). */
  accessible: boolean;
}

/** Who runs kvcpu (for the /dev/kvm permission verdict). */
export interface UserFacts {
  uid: number;
  name: string;
  /** Supplementary group ids of this process. */
  gids: number[];
  /** Users listed in the device's group in /etc/group (null when unknown). */
  deviceGroupMembers: string[] | null;
}

/** What the KVM probe found (see probe-kvm.ts). */
// The ioctl answers (nrVcpus = KVM_CAP_NR_VCPUS recommended, maxVcpus = KVM_CAP_MAX_VCPUS hard
// limit, errnos of open/KVM_CREATE_VM/KVM_CREATE_VCPU) are the native probe's fields, optional here
// because the QEMU fallback cannot fill them.
export interface KvmProbeFacts extends Partial<KvmProbeResult> {
  /** native = ioctls through the addon; qemu = started qemu-system-x86_64 -accel kvm; none = could not probe. */
  method: 'native' | 'qemu' | 'none';
  /** true: a VM was created; false: it could not be; null: unknown. */
  usable: boolean | null;
  path: string;
  /** QEMU fallback: binary and what it said. */
  qemuBinary?: string;
  qemuOutput?: string;
  /** Why the probe is unknown or how it was done. */
  note?: string;
}

export interface IommuFacts {
  /** ACPI DMAR (Intel VT-d) / IVRS (AMD-Vi) / IORT (Arm SMMU) table present; null = tables dir not captured. */
  dmar: boolean | null;
  ivrs: boolean | null;
  iort: boolean | null;
  /** /sys/class/iommu entries (dmar0, ivhd0, ...); null = directory absent. */
  classDevices: string[] | null;
  /** Number of /sys/kernel/iommu_groups entries; null = directory absent. */
  groups: number | null;
  /** Count of iommu_groups/N/type values (identity = passthrough, DMA / DMA-FQ = translated); null = unknown. */
  groupTypes: Record<string, number> | null;
}

export interface PciFunctionFacts {
  bdf: string;
  vendor: string | null;
  device: string | null;
  class: string | null;
  totalVfs: number;
  numVfs: number;
  driver: string | null;
  numaNode: string | null;
  /** Network interfaces of this function (net/*). */
  netdevs: string[];
}

export interface NetInterfaceFacts {
  name: string;
  /** PCI address behind the interface, null for virtual ones. */
  pci: string | null;
  driver: string | null;
  rxQueues: number;
  txQueues: number;
}

export interface CheckFacts {
  root: string;
  /** True for the live host: device stat, probe, kernel log and process list are real. */
  live: boolean;
  host: CheckHostFacts;
  /** /proc/cmdline, null when absent. */
  cmdline: string | null;
  /** /proc/version (its `#1 SMP ...` part is `uname -v`), null when absent. */
  procVersion: string | null;
  /** KVM-related modules found in /sys/module (kvm, kvm_intel, kvm_amd, kvm_pvm, ...); null = no /sys/module under root. */
  modules: Record<string, ModuleFacts> | null;
  /** /proc/misc lists `232 kvm` (the kvm misc device is registered); null when /proc/misc is absent. */
  miscKvm: boolean | null;
  /** KVM/IOMMU-related kernel log lines (live only; null when not read). */
  kernelLog: string[] | null;
  /** /dev/kvm (live only). */
  kvmDevice: DeviceNodeFacts | null;
  user: UserFacts | null;
  probe: KvmProbeFacts | null;
  iommu: IommuFacts;
  /** SR-IOV capable PCI functions; null = no /sys/bus/pci/devices under root. */
  sriov: PciFunctionFacts[] | null;
  /** Network interfaces from /sys/class/net; null = not captured. */
  net: NetInterfaceFacts[] | null;
  /** PIDs whose comm is irqbalance; null = no process list under root (captured tree). */
  irqbalancePids: number[] | null;
  /** /sys/devices/system/cpu/nohz_full, null when absent. */
  nohzFull: string | null;
}
