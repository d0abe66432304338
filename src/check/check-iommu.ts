import { isX86 } from './check-cpu.ts';
import { lastParam, parseKernelCmdline } from './parse-kernel-cmdline.ts';
import type { Check, CheckFacts } from './types.ts';

const GRUB = 'add it to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub (grub2-mkconfig on RHEL), reboot';

function isAmd(f: CheckFacts): boolean {
  return f.host.vendor === 'AuthenticAMD' || f.host.vendor === 'HygonGenuine' || f.iommu.ivrs === true;
}

/** BIOS wording for the IOMMU switch, by vendor (or the vIOMMU for a VM). */
export function iommuBiosFix(f: CheckFacts): string {
  if (f.host.hypervisorFlag) {
    return 'this host is a VM: its VMM exposes no virtual IOMMU (QEMU: -machine q35 -device intel-iommu,intremap=on or -device amd-iommu; libvirt: <iommu model="intel"/>)';
  }
  return isAmd(f)
    ? 'Enable "IOMMU" (AMD-Vi) in BIOS/UEFI: Advanced > AMD CBS > NBIO Common Options > IOMMU, then reboot'
    : 'Enable "Intel VT for Directed I/O (VT-d)" in BIOS/UEFI: Advanced > Chipset Configuration (System Agent) > VT-d, then reboot';
}

/** True/false when the firmware tables tell whether IOMMU hardware exists; null when unknown. */
function hardwarePresent(f: CheckFacts): boolean | null {
  const i = f.iommu;
  if (isX86(f.host.arch)) {
    if (i.dmar === null && i.ivrs === null) return null;
    return i.dmar === true || i.ivrs === true;
  }
  if (f.host.arch === 'aarch64') return i.iort === true ? true : null;
  return null;
}

/** iommu.acpi: the firmware describes an IOMMU (ACPI DMAR = Intel VT-d, IVRS = AMD-Vi, IORT = Arm SMMU). */
export function checkIommuAcpi(f: CheckFacts): Check {
  const id = 'iommu.acpi';
  const i = f.iommu;
  if (isX86(f.host.arch)) {
    if (i.dmar === null && i.ivrs === null) {
      return { id, status: 'SKIP', summary: 'ACPI tables not captured under this root', evidence: ['sys/firmware/acpi/tables absent'], fix: null };
    }
    if (i.dmar)
      return {
        id,
        status: 'PASS',
        summary: 'ACPI DMAR table present: the platform has Intel VT-d',
        evidence: ['/sys/firmware/acpi/tables/DMAR exists'],
        fix: null,
      };
    if (i.ivrs)
      return {
        id,
        status: 'PASS',
        summary: 'ACPI IVRS table present: the platform has AMD-Vi',
        evidence: ['/sys/firmware/acpi/tables/IVRS exists'],
        fix: null,
      };
    return {
      id,
      status: 'WARN',
      summary: 'no ACPI DMAR/IVRS table: no IOMMU, so no PCI device passthrough (VFIO) or VFs to guests',
      evidence: ['/sys/firmware/acpi/tables: no DMAR, no IVRS', ...(f.host.hypervisorFlag ? ['hypervisor flag set: this host is a VM'] : [])],
      fix: iommuBiosFix(f),
    };
  }
  if (f.host.arch === 'aarch64' && i.iort === true) {
    return {
      id,
      status: 'PASS',
      summary: 'ACPI IORT table present: the platform describes an SMMU',
      evidence: ['/sys/firmware/acpi/tables/IORT exists'],
      fix: null,
    };
  }
  return { id, status: 'SKIP', summary: `${f.host.arch}: no ACPI DMAR/IVRS check on this architecture`, evidence: [], fix: null };
}

/** iommu.enabled: the kernel runs an IOMMU driver (/sys/class/iommu/dmar*, ivhd*, smmu...). */
export function checkIommuEnabled(f: CheckFacts): Check {
  const id = 'iommu.enabled';
  const c = f.iommu.classDevices;
  if (c === null) return { id, status: 'SKIP', summary: '/sys/class/iommu not captured under this root', evidence: [], fix: null };
  if (c.length > 0) {
    return { id, status: 'PASS', summary: `IOMMU active: ${c.length} unit(s)`, evidence: [`/sys/class/iommu: ${c.join(' ')}`], fix: null };
  }
  const hw = hardwarePresent(f);
  if (hw === false) {
    return { id, status: 'SKIP', summary: 'no IOMMU hardware reported by the firmware (see iommu.acpi)', evidence: ['/sys/class/iommu: empty'], fix: null };
  }
  return {
    id,
    status: 'WARN',
    summary: hw ? 'the firmware has an IOMMU but the kernel did not enable it' : 'no IOMMU active',
    evidence: ['/sys/class/iommu: empty', ...(hw ? [f.iommu.dmar ? 'ACPI DMAR present' : 'ACPI IVRS present'] : [])],
    fix: hw ? cmdlineFix(f) : iommuBiosFix(f),
  };
}

/** iommu.groups: VFIO assigns whole groups, so no groups means no passthrough. */
export function checkIommuGroups(f: CheckFacts): Check {
  const id = 'iommu.groups';
  const g = f.iommu.groups;
  if (g === null) return { id, status: 'SKIP', summary: '/sys/kernel/iommu_groups not captured under this root', evidence: [], fix: null };
  const types = f.iommu.groupTypes;
  const typeEv =
    types && Object.keys(types).length > 0
      ? [
          `group types: ${Object.entries(types)
            .map(([t, n]) => `${t}=${n}`)
            .join(' ')}`,
        ]
      : [];
  if (g > 0)
    return {
      id,
      status: 'PASS',
      summary: `${g} IOMMU groups (devices can be assigned to guests with VFIO)`,
      evidence: [`/sys/kernel/iommu_groups: ${g} entries`, ...typeEv],
      fix: null,
    };
  const hw = hardwarePresent(f);
  const active = (f.iommu.classDevices ?? []).length > 0;
  if (hw === false && !active) {
    return { id, status: 'SKIP', summary: 'no IOMMU hardware, so no IOMMU groups (see iommu.acpi)', evidence: ['/sys/kernel/iommu_groups: empty'], fix: null };
  }
  return {
    id,
    status: 'WARN',
    summary: 'no IOMMU groups: PCI devices cannot be passed through to guests',
    evidence: ['/sys/kernel/iommu_groups: empty'],
    fix: hw ? cmdlineFix(f) : iommuBiosFix(f),
  };
}

function cmdlineFix(f: CheckFacts): string {
  if (isAmd(f)) {
    return `remove amd_iommu=off / iommu=off if present and add "iommu=pt" (AMD-Vi is on by default when the IVRS table exists; the often-quoted "amd_iommu=on" is accepted but changes nothing): ${GRUB}`;
  }
  return `add "intel_iommu=on iommu=pt" to the kernel cmdline: ${GRUB}`;
}

/**
 * iommu.cmdline: intel_iommu= / amd_iommu= / iommu= on the kernel cmdline, judged against what the
 * kernel did: group `type` identity = passthrough for host DMA (iommu=pt, drivers/iommu/iommu.c).
 */
export function checkIommuCmdline(f: CheckFacts): Check {
  const id = 'iommu.cmdline';
  if (f.cmdline === null) return { id, status: 'SKIP', summary: '/proc/cmdline not captured under this root', evidence: [], fix: null };
  if (!isX86(f.host.arch)) return { id, status: 'SKIP', summary: `${f.host.arch}: IOMMU kernel args are x86-specific here`, evidence: [], fix: null };
  const c = parseKernelCmdline(f.cmdline);
  const intel = lastParam(c, 'intel_iommu');
  const amd = lastParam(c, 'amd_iommu');
  const generic = lastParam(c, 'iommu');
  const args = [intel !== null ? `intel_iommu=${intel}` : null, amd !== null ? `amd_iommu=${amd}` : null, generic !== null ? `iommu=${generic}` : null].filter(
    (x): x is string => x !== null,
  );
  const ev = [`/proc/cmdline IOMMU args: ${args.length > 0 ? args.join(' ') : '(none)'}`];
  const types = f.iommu.groupTypes;
  if (types && Object.keys(types).length > 0)
    ev.push(
      `iommu group types: ${Object.entries(types)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ')}`,
    );
  const off = (intel !== null && /(^|,)off(,|$)/.test(intel)) || (amd !== null && /(^|,)off(,|$)/.test(amd)) || generic === 'off';
  const hw = hardwarePresent(f);
  const active = (f.iommu.classDevices ?? []).length > 0;
  if (off) {
    return {
      id,
      status: 'WARN',
      summary: `the IOMMU is switched off on the kernel cmdline (${args.join(' ')})`,
      evidence: ev,
      fix: `remove ${args.filter((a) => /off/.test(a)).join(' ')} and use ${isAmd(f) ? '"iommu=pt"' : '"intel_iommu=on iommu=pt"'}: ${GRUB}`,
    };
  }
  if (hw === false && !active) {
    return { id, status: 'SKIP', summary: 'no IOMMU hardware: kernel args would change nothing (see iommu.acpi)', evidence: ev, fix: null };
  }
  const pt = generic === 'pt' || generic === 'passthrough';
  if (active) {
    const identityOnly = types !== null && Object.keys(types).length > 0 && Object.keys(types).every((t) => t === 'identity');
    if (pt || identityOnly) return { id, status: 'PASS', summary: 'IOMMU on, host devices in passthrough (identity) mode', evidence: ev, fix: null };
    return {
      id,
      status: 'WARN',
      summary: 'IOMMU on, but host devices use DMA translation (no iommu=pt): extra IOTLB overhead for host I/O',
      evidence: ev,
      fix: `add "iommu=pt" to the kernel cmdline: ${GRUB}`,
    };
  }
  if (hw === true) {
    return { id, status: 'WARN', summary: 'IOMMU hardware present but not enabled by the kernel', evidence: ev, fix: cmdlineFix(f) };
  }
  // Hardware and kernel state unknown (captured tree without /sys/class/iommu): judge the args alone.
  const intelOn = intel !== null && /(^|,)on(,|$)/.test(intel);
  if ((intelOn || !(f.host.vendor === 'GenuineIntel')) && pt)
    return { id, status: 'PASS', summary: `IOMMU args set: ${args.join(' ')}`, evidence: ev, fix: null };
  return { id, status: 'SKIP', summary: 'IOMMU state unknown under this root (no /sys/class/iommu, no ACPI tables)', evidence: ev, fix: null };
}
