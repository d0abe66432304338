/**
 * libvirt's x86 CPU map (`/usr/share/libvirt/cpu_map/x86_*.xml`) as plain data.
 * Produced by parse-cpu-map.ts from the XML files; shipped as a snapshot in data/libvirt-cpu-map.json
 * (regenerate with `node --import tsx scripts/gen-libvirt-cpu-map.ts`).
 */

export interface CpuMapVendor {
  /** libvirt name (`Intel`, `AMD`, `Hygon`). */
  name: string;
  /** CPUID leaf 0 vendor string (`GenuineIntel`). */
  string: string;
}

export type CpuidReg = 'eax' | 'ebx' | 'ecx' | 'edx';

export interface CpuMapFeature {
  /** libvirt name (the only spelling libvirt 9.0 accepts in XML). */
  name: string;
  /** CPUID bit: leaf (eax_in), subleaf (ecx_in), register and bit mask. */
  cpuid?: { eaxIn: number; ecxIn: number; reg: CpuidReg; mask: number };
  /** MSR bit: index, register half and mask. */
  msr?: { index: number; reg: 'eax' | 'edx'; mask: number };
  /** false for `migratable='no'` (invtsc, xsaves in 9.0). */
  migratable: boolean;
  /** `<alias name= source=>` hints (informational in libvirt 9.0). */
  aliases: { name: string; source: string }[];
}

export interface CpuMapModel {
  name: string;
  /** libvirt vendor name, null for vendor-neutral models (qemu64, kvm64, ...). */
  vendor: string | null;
  /** `<signature family model [stepping]>`; stepping is a range list such as `0-4`. */
  signatures: { family: number; model: number; stepping?: string }[];
  /** `<decode host= guest=>`: whether the model may be the result of a host / guest decode. */
  decode: { host: boolean; guest: boolean };
  /** Features of the model (after inheritance), in file order. */
  features: string[];
  /** `<feature removed='yes'>`: not part of the model, but disabled explicitly in guest CPUs. */
  removed: string[];
  /** `<model name=...>` ancestor, when the file inherits one. */
  parent?: string;
}

export interface LibvirtCpuMap {
  schema: 'kvcpu/libvirt-cpu-map/1';
  /** Where it came from: libvirt package version and directory. */
  source: { libvirt: string; path: string; generatedBy: string };
  vendors: CpuMapVendor[];
  /** In x86_features.xml order (libvirt lists features in this order). */
  features: CpuMapFeature[];
  /** In index.xml order (oldest first; libvirt walks them newest first). */
  models: CpuMapModel[];
}
