import type { HostSnapshot } from '../host/types.ts';
import { checkHostServices } from './check-host-services.ts';
import { checkHwVirt, checkSvmNpt, checkVmxFeatures } from './check-cpu.ts';
import { checkIommuAcpi, checkIommuCmdline, checkIommuEnabled, checkIommuGroups } from './check-iommu.ts';
import { checkKvmDevice, checkKvmModule, checkKvmNested, checkKvmPermissions, checkKvmUsable, checkKvmVcpuLimits } from './check-kvm.ts';
import { checkCpusOnline, checkIrqbalance, checkIsolationCmdline, checkSmpKernel } from './check-smp.ts';
import { checkSriov, checkVmdq } from './check-vtc.ts';
import type { Check, CheckFacts, CheckHostFacts, CheckStatus } from './types.ts';

/** The CPU slice of a HostSnapshot the verdicts use. */
export function hostFactsFrom(s: HostSnapshot): CheckHostFacts {
  return {
    arch: s.arch,
    vendor: s.cpu.vendor,
    modelName: s.cpu.modelNames[0] ?? null,
    flags: s.cpu.flags,
    vmxFlags: s.cpu.vmxFlags,
    hwVirtualization: s.cpu.hwVirtualization,
    hypervisorFlag: s.cpu.hypervisorFlag,
    cpus: {
      possible: s.cpus.possible,
      present: s.cpus.present,
      online: s.cpus.online,
      offline: s.cpus.offline,
      isolated: s.cpus.isolated,
    },
  };
}

/** Every verdict, in report order (ids are stable). Pure: same facts, same verdicts. */
export function runChecks(f: CheckFacts): Check[] {
  return [
    checkHwVirt(f),
    ...checkVmxFeatures(f),
    checkSvmNpt(f),
    checkKvmModule(f),
    checkKvmNested(f),
    checkKvmDevice(f),
    checkKvmPermissions(f),
    checkKvmUsable(f),
    checkKvmVcpuLimits(f),
    checkIommuAcpi(f),
    checkIommuEnabled(f),
    checkIommuGroups(f),
    checkIommuCmdline(f),
    checkSriov(f),
    checkVmdq(f),
    checkSmpKernel(f),
    checkCpusOnline(f),
    checkIrqbalance(f),
    checkIsolationCmdline(f),
    ...checkHostServices(f),
  ];
}

/** Count verdicts per status. */
export function countStatuses(checks: Check[]): Record<CheckStatus, number> {
  const out: Record<CheckStatus, number> = { PASS: 0, WARN: 0, FAIL: 0, SKIP: 0 };
  for (const c of checks) out[c.status]++;
  return out;
}
