import { describe, expect, it } from 'vitest';
import { checkIommuAcpi, checkIommuCmdline, checkIommuEnabled, checkIommuGroups } from './check-iommu.ts';
import { makeFacts, pvmGuestFacts } from '../../test/fixtures/check/make-facts.ts';
import type { IommuFacts } from './types.ts';

const iommu = (over: Partial<IommuFacts>): IommuFacts => ({
  dmar: true,
  ivrs: false,
  iort: false,
  classDevices: ['dmar0'],
  groups: 12,
  groupTypes: { identity: 12 },
  ...over,
});
const amdHost = { vendor: 'AuthenticAMD', hwVirtualization: 'svm' as const };

describe('checkIommuAcpi (iommu.acpi)', () => {
  it.each([
    ['Intel DMAR', makeFacts(), 'PASS', /VT-d/],
    ['AMD IVRS', makeFacts({ host: amdHost, iommu: iommu({ dmar: false, ivrs: true }) }), 'PASS', /AMD-Vi/],
    ['no table, bare metal', makeFacts({ iommu: iommu({ dmar: false, classDevices: [], groups: 0 }) }), 'WARN', /no ACPI DMAR\/IVRS/],
    ['not captured', makeFacts({ iommu: iommu({ dmar: null, ivrs: null, iort: null }) }), 'SKIP', /not captured/],
    ['ppc64', makeFacts({ host: { arch: 'ppc64', vendor: null, hwVirtualization: null } }), 'SKIP', /ppc64/],
    ['arm64 IORT', makeFacts({ host: { arch: 'aarch64', vendor: 'ARM', hwVirtualization: null }, iommu: iommu({ dmar: false, iort: true }) }), 'PASS', /SMMU/],
  ])('%s -> %s', (_n, f, status, summary) => {
    const c = checkIommuAcpi(f);
    expect(c.status).toBe(status);
    expect(c.summary).toMatch(summary);
  });
  it('BIOS wording per vendor, vIOMMU advice in a VM', () => {
    expect(checkIommuAcpi(makeFacts({ iommu: iommu({ dmar: false }) })).fix).toMatch(/Intel VT for Directed I\/O \(VT-d\)/);
    expect(checkIommuAcpi(makeFacts({ host: amdHost, iommu: iommu({ dmar: false }) })).fix).toMatch(/"IOMMU" \(AMD-Vi\)/);
    expect(checkIommuAcpi(pvmGuestFacts()).fix).toMatch(/intel-iommu/);
  });
});

describe('checkIommuEnabled / checkIommuGroups', () => {
  it('pass with active units and groups', () => {
    expect(checkIommuEnabled(makeFacts()).status).toBe('PASS');
    expect(checkIommuGroups(makeFacts()).summary).toMatch(/^42 IOMMU groups/);
  });
  it('warn with the kernel args when firmware has DMAR but the kernel did not enable it', () => {
    const f = makeFacts({ cmdline: 'ro quiet', iommu: iommu({ classDevices: [], groups: 0, groupTypes: {} }) });
    const e = checkIommuEnabled(f);
    expect(e.status).toBe('WARN');
    expect(e.fix).toMatch(/intel_iommu=on iommu=pt/);
    expect(checkIommuGroups(f).status).toBe('WARN');
  });
  it('AMD advice does not pretend amd_iommu=on is needed', () => {
    const f = makeFacts({ host: amdHost, cmdline: 'ro amd_iommu=off', iommu: iommu({ dmar: false, ivrs: true, classDevices: [], groups: 0 }) });
    expect(checkIommuEnabled(f).fix).toMatch(/iommu=pt/);
    expect(checkIommuEnabled(f).fix).toMatch(/amd_iommu=on" is accepted but changes nothing/);
  });
  it('skip (not warn twice) when there is no IOMMU hardware at all', () => {
    const f = pvmGuestFacts();
    expect(checkIommuEnabled(f).status).toBe('SKIP');
    expect(checkIommuGroups(f).status).toBe('SKIP');
  });
  it('skip when not captured', () => {
    const f = makeFacts({ iommu: iommu({ classDevices: null, groups: null, groupTypes: null }) });
    expect(checkIommuEnabled(f).status).toBe('SKIP');
    expect(checkIommuGroups(f).status).toBe('SKIP');
  });
});

describe('checkIommuCmdline (iommu.cmdline)', () => {
  it.each([
    ['intel_iommu=on iommu=pt, identity groups', makeFacts(), 'PASS'],
    ['IOMMU on by default, groups translated (no iommu=pt)', makeFacts({ cmdline: 'ro', iommu: iommu({ groupTypes: { 'DMA-FQ': 12 } }) }), 'WARN'],
    ['intel_iommu=off', makeFacts({ cmdline: 'ro intel_iommu=off', iommu: iommu({ classDevices: [], groups: 0 }) }), 'WARN'],
    ['hardware present, not enabled', makeFacts({ cmdline: 'ro', iommu: iommu({ classDevices: [], groups: 0, groupTypes: {} }) }), 'WARN'],
    ['no hardware (VM)', pvmGuestFacts(), 'SKIP'],
    ['no /proc/cmdline', makeFacts({ cmdline: null }), 'SKIP'],
  ])('%s -> %s', (_n, f, status) => {
    expect(checkIommuCmdline(f).status).toBe(status);
  });
  it('names the args in evidence and the fix', () => {
    const c = checkIommuCmdline(makeFacts({ cmdline: 'ro intel-iommu=on', iommu: iommu({ groupTypes: { DMA: 3 } }) }));
    expect(c.evidence[0]).toBe('/proc/cmdline IOMMU args: intel_iommu=on');
    expect(c.fix).toMatch(/iommu=pt/);
    expect(c.fix).toMatch(/update-grub/);
  });
});
