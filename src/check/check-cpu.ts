import type { CheckId } from './check-ids.ts';
import type { Check, CheckFacts } from './types.ts';

const X86 = new Set(['x86_64', 'i686', 'i386']);

export function isX86(arch: string): boolean {
  return X86.has(arch);
}

/** Fix text for VT-x / AMD-V switched off in firmware, by vendor. */
export function biosVirtFix(vendor: string | null): string {
  if (vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') {
    return 'Enable "SVM Mode" (AMD-V) in BIOS/UEFI: Advanced > CPU Configuration > SVM Mode, then power-cycle the host';
  }
  return 'Enable Intel Virtualization Technology (VT-x) in BIOS/UEFI: Advanced > CPU Configuration > Intel Virtualization Technology, then power-cycle the host';
}

function probeWorks(f: CheckFacts): boolean {
  return f.probe?.usable === true;
}

function hasModule(f: CheckFacts, name: string): boolean {
  return f.modules !== null && name in f.modules;
}

/**
 * cpu.hwvirt: VT-x / AMD-V / s390 SIE advertised in /proc/cpuinfo.
 * Linux clears `vmx` when firmware locked VT-x off (arch/x86/kernel/cpu/feat_ctl.c: "VMX (outside
 * TXT) disabled by BIOS"), so a missing flag on bare metal usually means a BIOS switch.
 * A missing flag does NOT prove KVM is unusable: under nested PVM (kvm_pvm) the guest kernel
 * has no vmx/svm and /dev/kvm still works, which kvm-ok and virt-host-validate get wrong.
 */
export function checkHwVirt(f: CheckFacts): Check {
  const id = 'cpu.hwvirt';
  const h = f.host;
  const ev: string[] = [];
  if (h.hwVirtualization === 'vmx' || h.hwVirtualization === 'svm') {
    const name = h.hwVirtualization === 'vmx' ? 'Intel VT-x' : 'AMD-V';
    ev.push(`/proc/cpuinfo flags: ${h.hwVirtualization}`);
    if (h.hypervisorFlag) ev.push('hypervisor flag set: this host is a VM with nested virtualization exposed');
    return { id, status: 'PASS', summary: `${name} (${h.hwVirtualization}) advertised by the CPU`, evidence: ev, fix: null };
  }
  if (h.arch === 's390x' || h.arch === 's390') {
    if (h.hwVirtualization === 'sie') {
      return {
        id,
        status: 'PASS',
        summary: 's390 SIE (start interpretive execution) facility available',
        evidence: ['/proc/cpuinfo features: sie'],
        fix: null,
      };
    }
    return {
      id,
      status: probeWorks(f) ? 'PASS' : 'WARN',
      summary: 'no sie facility in /proc/cpuinfo features',
      evidence: ['/proc/cpuinfo features lack sie (z/VM or a KVM guest without nested virtualization)'],
      fix: 'run on an LPAR, or enable nested virtualization on the outer KVM host (kvm.nested=1) and give this guest the sie facility',
    };
  }
  if (!isX86(h.arch)) {
    return {
      id,
      status: 'SKIP',
      summary: `${h.arch}: /proc/cpuinfo does not show hardware virtualization; kvm.usable decides`,
      evidence: [`arch: ${h.arch}`],
      fix: null,
    };
  }
  ev.push('/proc/cpuinfo flags: no vmx, no svm');
  if (h.hypervisorFlag) ev.push('hypervisor flag set: this host is itself a virtual machine');
  const pvm = hasModule(f, 'kvm_pvm');
  // kvm_pvm registers /dev/kvm (misc 10:232) only when it binds; /proc/misc shows whether it did.
  const pvmBound = pvm && f.miscKvm !== false;
  if (pvm) {
    ev.push(
      pvmBound
        ? 'kvm_pvm module present (/sys/module/kvm_pvm): KVM without VT-x/AMD-V via PVM'
        : 'kvm_pvm module present but it did not register /dev/kvm (no "232 kvm" in /proc/misc; see kvm.usable)',
    );
  }
  if (probeWorks(f)) {
    ev.push(`KVM works anyway (kvm.usable: a VM was created via ${f.probe!.method === 'native' ? 'KVM_CREATE_VM' : 'qemu -accel kvm'})`);
    ev.push('kvm-ok and virt-host-validate look only for vmx/svm and wrongly report that KVM cannot be used here');
    return {
      id,
      status: 'WARN',
      summary: `no vmx/svm flag, but KVM works${pvm ? ' (nested PVM)' : ''}; guests cannot get vmx/svm (no nested guests, -cpu host may fail)`,
      evidence: ev,
      fix: null,
    };
  }
  if (pvmBound && !f.live) {
    return {
      id,
      status: 'WARN',
      summary: 'no vmx/svm flag; kvm_pvm is loaded, so KVM may still work (only a live probe can tell)',
      evidence: ev,
      fix: 'run `kvcpu check` on the host itself: kvm.usable probes /dev/kvm',
    };
  }
  if (h.hypervisorFlag) {
    return {
      id,
      status: 'FAIL',
      summary: "no vmx/svm: this VM's hypervisor does not expose hardware virtualization",
      evidence: ev,
      fix: 'enable nested virtualization on the outer host (Intel: options kvm_intel nested=1; AMD: options kvm_amd nested=1) and give this VM the vmx/svm flag (QEMU -cpu host, libvirt <cpu mode="host-passthrough"/>), or run guests with -accel tcg',
    };
  }
  return {
    id,
    status: 'FAIL',
    summary: 'CPU does not advertise VT-x/AMD-V (disabled in firmware or not supported by this CPU)',
    evidence: ev,
    fix: biosVirtFix(h.vendor),
  };
}

/** A VT-x feature: its name in the `vmx flags` line, its legacy /proc/cpuinfo flag, its kvm_intel parameter. */
interface VmxFeature {
  id: CheckId;
  label: string;
  vmxFlag: string;
  /** Older kernels (< 5.8) list ept/vpid among the ordinary flags (X86_FEATURE_EPT...). */
  legacyFlag: string | null;
  param: string | null;
  missing: string;
}

// Names as in the kernel's arch/x86/include/asm/vmxfeatures.h ("vmx flags" line) and
// kvm_intel module parameters (arch/x86/kvm/vmx/vmx.c: enable_ept, enable_vpid,
// enable_unrestricted_guest, enable_apicv; posted interrupts need APICv).
const VMX_FEATURES: VmxFeature[] = [
  {
    id: 'cpu.vmx.ept',
    label: 'EPT (extended page tables)',
    vmxFlag: 'ept',
    legacyFlag: 'ept',
    param: 'ept',
    missing: 'KVM falls back to shadow paging: guest page-table updates trap to the host (large overhead)',
  },
  {
    id: 'cpu.vmx.vpid',
    label: 'VPID (tagged TLB)',
    vmxFlag: 'vpid',
    legacyFlag: 'vpid',
    param: 'vpid',
    missing: 'every VM entry/exit flushes the TLB',
  },
  {
    id: 'cpu.vmx.unrestricted_guest',
    label: 'unrestricted guest (real mode in VMX)',
    vmxFlag: 'unrestricted_guest',
    legacyFlag: null,
    param: 'unrestricted_guest',
    missing: 'guest real mode and big-real mode are emulated (slow boot, some bootloaders misbehave)',
  },
  {
    id: 'cpu.vmx.posted_interrupts',
    label: 'posted interrupts (APICv)',
    vmxFlag: 'posted_intr',
    legacyFlag: null,
    param: 'enable_apicv',
    missing: 'interrupts to running vCPUs need a VM exit (higher I/O latency with device assignment)',
  },
];

function paramOff(v: string | undefined): boolean {
  return v !== undefined && /^(n|0|false)$/i.test(v.trim());
}

function checkVmxFeature(f: CheckFacts, feat: VmxFeature): Check {
  const h = f.host;
  if (h.hwVirtualization !== 'vmx') {
    return { id: feat.id, status: 'SKIP', summary: 'not an Intel VT-x host', evidence: [], fix: null };
  }
  const ev: string[] = [];
  let has: boolean | null;
  if (h.vmxFlags.length > 0) {
    has = h.vmxFlags.includes(feat.vmxFlag);
    ev.push(`/proc/cpuinfo vmx flags: ${has ? feat.vmxFlag : `no ${feat.vmxFlag}`}`);
  } else if (feat.legacyFlag !== null) {
    has = h.flags.includes(feat.legacyFlag);
    ev.push(`/proc/cpuinfo flags: ${has ? feat.legacyFlag : `no ${feat.legacyFlag}`} (no "vmx flags" line: kernel < 5.8)`);
  } else {
    has = null;
    ev.push('no "vmx flags" line in /proc/cpuinfo (kernel < 5.8 does not list this feature)');
  }
  const kvmIntel = f.modules?.kvm_intel;
  const param = feat.param !== null ? kvmIntel?.params[feat.param] : undefined;
  if (param !== undefined) ev.push(`/sys/module/kvm_intel/parameters/${feat.param}: ${param}`);
  if (has === false) {
    return {
      id: feat.id,
      status: 'WARN',
      summary: `${feat.label} not supported: ${feat.missing}`,
      evidence: ev,
      fix: h.hypervisorFlag
        ? `this is a VM: use a CPU model that passes ${feat.vmxFlag} through (QEMU -cpu host / libvirt host-passthrough) on the outer host`
        : `this CPU lacks ${feat.vmxFlag}; a newer CPU generation is needed for it`,
    };
  }
  if (paramOff(param)) {
    return {
      id: feat.id,
      status: 'WARN',
      summary: `${feat.label} supported by the CPU but disabled in kvm_intel (${feat.param}=${param})`,
      evidence: ev,
      fix: `remove "${feat.param}=0" from /etc/modprobe.d/*.conf (or kvm_intel.${feat.param}=0 from the kernel cmdline), then: modprobe -r kvm_intel && modprobe kvm_intel`,
    };
  }
  if (has === null) {
    if (param !== undefined) {
      return { id: feat.id, status: 'PASS', summary: `${feat.label} enabled in kvm_intel (${feat.param}=${param})`, evidence: ev, fix: null };
    }
    return { id: feat.id, status: 'SKIP', summary: `${feat.label}: not visible without the "vmx flags" line or kvm_intel parameters`, evidence: ev, fix: null };
  }
  return { id: feat.id, status: 'PASS', summary: `${feat.label} supported`, evidence: ev, fix: null };
}

/** cpu.vmx.ept, cpu.vmx.vpid, cpu.vmx.unrestricted_guest, cpu.vmx.posted_interrupts. */
export function checkVmxFeatures(f: CheckFacts): Check[] {
  return VMX_FEATURES.map((feat) => checkVmxFeature(f, feat));
}

/** cpu.svm.npt: AMD nested page tables (`npt` flag; kvm_amd `npt` parameter, arch/x86/kvm/svm/svm.c). */
export function checkSvmNpt(f: CheckFacts): Check {
  const id = 'cpu.svm.npt';
  const h = f.host;
  if (h.hwVirtualization !== 'svm') {
    return { id, status: 'SKIP', summary: 'not an AMD-V host', evidence: [], fix: null };
  }
  const has = h.flags.includes('npt');
  const ev = [`/proc/cpuinfo flags: ${has ? 'npt' : 'no npt'}`];
  const param = f.modules?.kvm_amd?.params.npt;
  if (param !== undefined) ev.push(`/sys/module/kvm_amd/parameters/npt: ${param}`);
  if (!has) {
    return {
      id,
      status: 'WARN',
      summary: 'NPT (nested page tables) not supported: KVM falls back to shadow paging',
      evidence: ev,
      fix: h.hypervisorFlag
        ? 'this is a VM: pass npt through from the outer host (QEMU -cpu host / libvirt host-passthrough)'
        : 'this CPU lacks NPT (pre-Barcelona AMD); a newer CPU is needed',
    };
  }
  if (paramOff(param)) {
    return {
      id,
      status: 'WARN',
      summary: `NPT supported by the CPU but disabled in kvm_amd (npt=${param})`,
      evidence: ev,
      fix: 'remove "npt=0" from /etc/modprobe.d/*.conf (or kvm_amd.npt=0 from the kernel cmdline), then: modprobe -r kvm_amd && modprobe kvm_amd',
    };
  }
  return { id, status: 'PASS', summary: 'NPT (nested page tables) supported', evidence: ev, fix: null };
}
