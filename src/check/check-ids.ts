/** Every id `kvcpu check` can report (scripts match on them; a new check adds one here). */
export const CHECK_IDS = [
  'cpu.hwvirt',
  'cpu.vmx.ept',
  'cpu.vmx.vpid',
  'cpu.vmx.unrestricted_guest',
  'cpu.vmx.posted_interrupts',
  'cpu.svm.npt',
  'kvm.module',
  'kvm.nested',
  'kvm.device',
  'kvm.permissions',
  'kvm.usable',
  'kvm.vcpu_limits',
  'iommu.acpi',
  'iommu.enabled',
  'iommu.groups',
  'iommu.cmdline',
  'sriov',
  'vmdq',
  'smp.kernel',
  'cpus.online',
  'irqbalance',
  'isolation.cmdline',
] as const;

/** A check id: `Check.id` is typed with it, so a new check must be listed (and so reach the report schema). */
export type CheckId = (typeof CHECK_IDS)[number];
