import type { Check, CheckFacts, PciFunctionFacts } from './types.ts';

/** PCI class codes (base+sub) worth naming, from the PCI Code and Assignment Specification. */
const PCI_CLASSES: Record<string, string> = {
  '0200': 'Ethernet controller',
  '0207': 'InfiniBand controller',
  '0280': 'Network controller',
  '0108': 'NVMe controller',
  '0300': 'VGA controller',
  '0302': '3D controller',
  '1200': 'Processing accelerator',
  '0b40': 'Co-processor',
};

export function pciClassName(cls: string | null): string {
  if (cls === null) return 'PCI function';
  const hex = cls.replace(/^0x/i, '').padStart(6, '0');
  return PCI_CLASSES[hex.slice(0, 4).toLowerCase()] ?? `class ${cls}`;
}

function describePf(p: PciFunctionFacts): string {
  const ids = p.vendor && p.device ? ` ${p.vendor.replace(/^0x/, '')}:${p.device.replace(/^0x/, '')}` : '';
  const nets = p.netdevs.length > 0 ? ` ${p.netdevs.join(',')}` : '';
  const drv = p.driver ? ` driver ${p.driver}` : '';
  const node = p.numaNode !== null && p.numaNode !== '-1' ? ` node ${p.numaNode}` : '';
  return `${p.bdf}${ids} ${pciClassName(p.class)}${nets}${drv}${node}: sriov_totalvfs=${p.totalVfs} sriov_numvfs=${p.numVfs}`;
}

/**
 * sriov (Intel VT-c / PCI-SIG SR-IOV): physical functions that can spawn virtual functions
 * (sriov_totalvfs > 0, drivers/pci/iov.c). VFs go to guests through VFIO, so an IOMMU is needed.
 */
export function checkSriov(f: CheckFacts): Check {
  const id = 'sriov';
  if (f.sriov === null) return { id, status: 'SKIP', summary: 'PCI devices not captured under this root', evidence: [], fix: null };
  if (f.sriov.length === 0) {
    return { id, status: 'SKIP', summary: 'no SR-IOV capable PCI function', evidence: ['/sys/bus/pci/devices/*/sriov_totalvfs: none'], fix: null };
  }
  const pfs = f.sriov;
  const total = pfs.reduce((s, p) => s + p.totalVfs, 0);
  const enabled = pfs.reduce((s, p) => s + p.numVfs, 0);
  const ev = pfs.map(describePf);
  if (enabled === 0) ev.push('no VFs enabled yet: echo N > /sys/bus/pci/devices/<BDF>/sriov_numvfs');
  const summary = `${pfs.length} SR-IOV physical function(s), up to ${total} VFs, ${enabled} enabled`;
  const iommuOff = f.iommu.classDevices !== null && f.iommu.classDevices.length === 0;
  if (iommuOff) {
    return {
      id,
      status: 'WARN',
      summary: `${summary}, but no IOMMU is active: VFs cannot be assigned to guests`,
      evidence: ev,
      fix: 'enable the IOMMU (see iommu.acpi / iommu.cmdline): VT-d/AMD-Vi in BIOS and intel_iommu=on iommu=pt',
    };
  }
  return { id, status: 'PASS', summary, evidence: ev, fix: null };
}

/**
 * Drivers of NICs with VMDq (Intel VT-c virtual machine device queues). Linux exposes no VMDq
 * attribute, so this goes by driver: igb (82576), ixgbe (82599/X5xx), i40e (X710/XL710),
 * ice (E810) implement VMDq pools (their ethtool/macvlan-offload paths); txgbe/ngbe likewise.
 */
const VMDQ_DRIVERS = new Set(['igb', 'ixgbe', 'i40e', 'ice', 'txgbe', 'ngbe']);

/** vmdq: NICs whose driver supports VMDq queue pools, with their queue counts where visible. */
export function checkVmdq(f: CheckFacts): Check {
  const id = 'vmdq';
  if (f.net === null) return { id, status: 'SKIP', summary: 'network interfaces not captured under this root', evidence: [], fix: null };
  const phys = f.net.filter((n) => n.pci !== null);
  const ev = phys.map((n) => `${n.name}: ${n.pci} driver ${n.driver ?? '?'} rx queues ${n.rxQueues} tx queues ${n.txQueues}`);
  const capable = phys.filter((n) => n.driver !== null && VMDQ_DRIVERS.has(n.driver));
  if (capable.length === 0) {
    return {
      id,
      status: 'SKIP',
      summary: phys.length === 0 ? 'no PCI network interface' : `no VMDq-capable NIC (drivers: ${[...new Set(phys.map((n) => n.driver ?? '?'))].join(', ')})`,
      evidence: ev,
      fix: null,
    };
  }
  const multi = capable.filter((n) => n.rxQueues > 1);
  return {
    id,
    status: 'PASS',
    summary: `VMDq-capable NIC(s): ${capable.map((n) => `${n.name} (${n.driver}, ${n.rxQueues} rx queues)`).join(', ')}`,
    evidence: [...ev, ...(multi.length < capable.length ? ['single-queue interfaces: raise queues with ethtool -L IFACE combined N'] : [])],
    fix: null,
  };
}
