/**
 * The lscpu summary fields beyond topology (util-linux 2.38 lscpu): `Address sizes`,
 * `Virtualization`, `Hypervisor vendor`, `Virtualization type`, the `L1d/L1i/L2/L3 cache` lines
 * and the `Vulnerability …` lines. Pure: takes the raw files read by host-tree.ts.
 */
import { parseCpulist, parseCpumask } from '../core/cpulist.ts';
import type { RawCpu, VirtHints } from './host-tree.ts';

export interface CacheSummary {
  /** lscpu's name: L1d, L1i, L2, L3, L4. */
  name: string;
  /** Sum of the sizes of every distinct instance (bytes). */
  bytes: number;
  instances: number;
}

export interface LscpuFields {
  /** cpuinfo `address sizes` (x86: "46 bits physical, 48 bits virtual"), null when absent. */
  addressSizes: string | null;
  /** VT-x | AMD-V (lscpu prints the line only for these), else null. */
  virtualization: string | null;
  /** KVM, Microsoft, VMware, Xen, IBM, Oracle…, null when this is no guest (or it cannot tell). */
  hypervisorVendor: string | null;
  /** full | para | none (Xen dom0), null with no hypervisor vendor. */
  virtualizationType: string | null;
  /** How the vendor was found: cpuid (live CPUID 0x40000000), xen (/proc/xen), sysinfo (s390), pci (device ids). */
  hypervisorFrom: 'cpuid' | 'xen' | 'sysinfo' | 'pci' | null;
  caches: CacheSummary[];
  /** sys/devices/system/cpu/vulnerabilities, lscpu-named (`Spectre v1`), sorted like lscpu. */
  vulnerabilities: { name: string; text: string }[];
}

/** CPUID hypervisor signatures → lscpu's vendor names (lscpu-virt.c hv_vendors / read_hypervisor_cpuid). */
const SIGNATURES: Record<string, string> = {
  XenVMMXenVMM: 'Xen',
  KVMKVMKVM: 'KVM',
  'Linux KVM Hv': 'KVM',
  'Microsoft Hv': 'Microsoft',
  VMwareVMware: 'VMware',
  UnisysSpar64: 'Spar',
  ACRNACRNACRN: 'ACRN',
  'bhyve bhyve ': 'bhyve',
  TCGTCGTCGTCG: 'TCG',
};

/** PCI vendor:device of paravirtual devices lscpu recognises (lscpu-virt.c: VirtualBox guest service, VMware SVGA). */
const PCI_HYPERVISORS: [RegExp, string][] = [
  [/^80eecafe$/i, 'Oracle'],
  [/^15ad0405$/i, 'VMware'],
  [/^15ad0710$/i, 'VMware'],
];

function hypervisor(h: VirtHints): Pick<LscpuFields, 'hypervisorVendor' | 'virtualizationType' | 'hypervisorFrom'> {
  const dom0 = /control_d/.test(h.xenCapabilities ?? '');
  if (h.cpuidSignature !== null) {
    const sig = h.cpuidSignature.replace(/\0+$/, '');
    const vendor = SIGNATURES[sig] ?? SIGNATURES[h.cpuidSignature] ?? (sig.trim() || null);
    if (vendor) return { hypervisorVendor: vendor, virtualizationType: vendor === 'Xen' && dom0 ? 'none' : 'full', hypervisorFrom: 'cpuid' };
  }
  if (h.xenDir) return { hypervisorVendor: 'Xen', virtualizationType: dom0 ? 'none' : 'para', hypervisorFrom: 'xen' };
  if (h.sysinfo !== null && /^(LPAR|VM\d\d) /m.test(h.sysinfo)) {
    // s390: under z/VM or KVM the guest level is listed as VMnn; otherwise it runs in an LPAR (PR/SM).
    const kvm = /^VM\d\d Control Program:\s*KVM/m.test(h.sysinfo);
    return { hypervisorVendor: kvm ? 'KVM' : 'IBM', virtualizationType: 'full', hypervisorFrom: 'sysinfo' };
  }
  for (const line of (h.pciDevices ?? '').split('\n')) {
    const id = line.split('\t')[1];
    if (!id) continue;
    for (const [re, vendor] of PCI_HYPERVISORS) if (re.test(id)) return { hypervisorVendor: vendor, virtualizationType: 'full', hypervisorFrom: 'pci' };
  }
  return { hypervisorVendor: null, virtualizationType: null, hypervisorFrom: null };
}

function sizeBytes(text: string | null): number | null {
  const m = /^(\d+)\s*([KMG]?)/i.exec(text ?? '');
  if (!m) return null;
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

/** lscpu's cache name: level 1 Data → L1d, Instruction → L1i, Unified → L<level>. */
function cacheName(level: string | null, type: string | null): string | null {
  if (!level) return null;
  if (type === 'Data') return `L${level}d`;
  if (type === 'Instruction') return `L${level}i`;
  return `L${level}`;
}

/**
 * Cache lines like lscpu: per cache name, the distinct instances among online CPUs (by cache id
 * with its shared CPUs, else by the shared CPU set) and the sum of their sizes.
 */
export function summarizeCaches(cpus: RawCpu[], online: Set<number>): CacheSummary[] {
  const by = new Map<string, Map<string, number>>();
  for (const c of cpus) {
    if (!online.has(c.cpu)) continue;
    for (const k of c.caches) {
      const name = cacheName(k.level, k.type);
      const bytes = sizeBytes(k.size);
      if (!name || bytes === null) continue;
      let shared: string;
      try {
        shared = k.sharedCpuList ? parseCpulist(k.sharedCpuList).join(',') : k.sharedCpuMap ? parseCpumask(k.sharedCpuMap).join(',') : String(c.cpu);
      } catch {
        shared = String(c.cpu);
      }
      const key = `${k.id ?? ''}|${shared}`;
      const m = by.get(name) ?? new Map<string, number>();
      m.set(key, bytes);
      by.set(name, m);
    }
  }
  const order = (n: string) => [Number(n.slice(1, 2)), n.endsWith('d') ? 0 : n.endsWith('i') ? 1 : 2];
  return [...by.entries()]
    .map(([name, m]) => ({ name, bytes: [...m.values()].reduce((a, b) => a + b, 0), instances: m.size }))
    .sort((a, b) => order(a.name)[0]! - order(b.name)[0]! || order(a.name)[1]! - order(b.name)[1]!);
}

/** util-linux size_to_human_string(SIZE_SUFFIX_3LETTER | SIZE_SUFFIX_SPACE): "64 KiB", "1.5 MiB". */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let e = 0;
  while (e < 50 && bytes >= 2 ** (e + 10)) e += 10;
  let dec = Math.floor(bytes / 2 ** e);
  let frac = e > 0 ? bytes - dec * 2 ** e : 0;
  if (frac) {
    frac = Math.floor((Math.floor(frac / 2 ** (e - 10)) + 50) / 100);
    if (frac === 10) {
      dec++;
      frac = 0;
    }
  }
  return `${dec}${frac ? `.${frac}` : ''} ${units[e / 10]}`;
}

/** `Vulnerability Spectre v1` from `spectre_v1` (lscpu: underscores to spaces, first letter up). */
function vulnerabilityName(file: string): string {
  const s = file.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function lscpuVulnerabilityText(t: string): string {
  return t.startsWith('Mitigation: ') ? `Mitigation; ${t.slice('Mitigation: '.length).replace(/:/g, '')}` : t;
}

export function buildLscpuFields(o: {
  firstCpuinfoRecord: Map<string, string> | null;
  flags: string[];
  cpus: RawCpu[];
  online: Set<number>;
  hints: VirtHints;
  vulnerabilities: Record<string, string> | null;
}): LscpuFields {
  const flags = new Set(o.flags);
  return {
    addressSizes: o.firstCpuinfoRecord?.get('address sizes') ?? null,
    virtualization: flags.has('vmx') ? 'VT-x' : flags.has('svm') ? 'AMD-V' : null,
    ...hypervisor(o.hints),
    caches: summarizeCaches(o.cpus, o.online),
    vulnerabilities: Object.entries(o.vulnerabilities ?? {})
      // lscpu prints "Mitigation; …" for the kernel's "Mitigation: …" and drops the other ':'
      // of such a line (lscpu.c), so the one ':' left separates the field name.
      .map(([file, text]) => ({ name: vulnerabilityName(file), text: lscpuVulnerabilityText(text.trim()) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}
