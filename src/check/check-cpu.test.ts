import { describe, expect, it } from 'vitest';
import { checkHwVirt, checkSvmNpt, checkVmxFeatures } from './check-cpu.ts';
import type { Check } from './types.ts';
import { makeFacts, pvmGuestFacts, workingProbe } from '../../test/fixtures/check/make-facts.ts';

const byId = (checks: Check[], id: string): Check => checks.find((c) => c.id === id)!;

describe('checkHwVirt (cpu.hwvirt)', () => {
  it.each([
    ['Intel vmx', makeFacts(), 'PASS', /VT-x/],
    ['AMD svm', makeFacts({ host: { vendor: 'AuthenticAMD', hwVirtualization: 'svm', flags: ['svm', 'npt'] } }), 'PASS', /AMD-V/],
    ['s390 sie', makeFacts({ host: { arch: 's390x', vendor: 'IBM/S390', hwVirtualization: 'sie', flags: ['sie'] } }), 'PASS', /SIE/],
    [
      's390 without sie',
      makeFacts({ host: { arch: 's390x', vendor: 'IBM/S390', hwVirtualization: null, flags: ['zarch'] }, probe: null, live: false }),
      'WARN',
      /no sie/,
    ],
    [
      'arm64 (cpuinfo cannot tell)',
      makeFacts({ host: { arch: 'aarch64', vendor: 'ARM', hwVirtualization: null, flags: ['fp', 'asimd'] } }),
      'SKIP',
      /kvm.usable decides/,
    ],
    [
      'bare-metal Intel, VT-x off in BIOS',
      makeFacts({ host: { hwVirtualization: null, flags: ['fpu', 'lm'], vmxFlags: [] }, probe: null }),
      'FAIL',
      /firmware/,
    ],
    [
      'VM without nested virt',
      makeFacts({
        host: { hwVirtualization: null, hypervisorFlag: true, flags: ['hypervisor'], vmxFlags: [] },
        probe: { method: 'native', usable: false, path: '/dev/kvm', openErrno: 2 },
      }),
      'FAIL',
      /hypervisor does not expose/,
    ],
    [
      'nested PVM: no flag but KVM works',
      makeFacts({
        host: { hwVirtualization: null, hypervisorFlag: true, flags: ['hypervisor'], vmxFlags: [] },
        modules: { kvm: { builtin: true, params: {} }, kvm_pvm: { builtin: true, params: {} } },
        probe: workingProbe(),
      }),
      'WARN',
      /KVM works/,
    ],
    [
      'captured PVM tree (cannot probe)',
      makeFacts({
        live: false,
        probe: null,
        host: { hwVirtualization: null, hypervisorFlag: true, flags: ['hypervisor'], vmxFlags: [] },
        modules: { kvm: { builtin: true, params: {} }, kvm_pvm: { builtin: true, params: {} } },
      }),
      'WARN',
      /live probe/,
    ],
  ])('%s -> %s', (_name, facts, status, summary) => {
    const c = checkHwVirt(facts);
    expect(c.id).toBe('cpu.hwvirt');
    expect(c.status).toBe(status);
    expect(c.summary).toMatch(summary);
    expect(c.evidence.length).toBeGreaterThan(0);
    if (status === 'FAIL') expect(c.fix).toBeTruthy();
  });

  it('a captured PVM guest whose kvm_pvm did not bind is a FAIL, not a maybe', () => {
    const f = pvmGuestFacts();
    f.live = false;
    f.probe = null;
    const c = checkHwVirt(f);
    expect(c.status).toBe('FAIL');
    expect(c.evidence.join('\n')).toMatch(/did not register \/dev\/kvm/);
  });

  it('gives BIOS wording per vendor', () => {
    const intel = checkHwVirt(makeFacts({ host: { hwVirtualization: null, flags: [], vmxFlags: [] }, probe: null }));
    expect(intel.fix).toContain('Intel Virtualization Technology (VT-x)');
    expect(intel.fix).toContain('Advanced > CPU Configuration');
    const amd = checkHwVirt(makeFacts({ host: { vendor: 'AuthenticAMD', hwVirtualization: null, flags: [], vmxFlags: [] }, probe: null }));
    expect(amd.fix).toContain('SVM Mode');
  });

  it('never contradicts a working KVM: no FAIL when the probe created a VM', () => {
    const f = pvmGuestFacts();
    f.probe = workingProbe();
    expect(checkHwVirt(f).status).not.toBe('FAIL');
    expect(checkHwVirt(f).evidence.join('\n')).toMatch(/kvm-ok and virt-host-validate/);
  });
});

describe('checkVmxFeatures (cpu.vmx.*)', () => {
  it('passes every feature from the vmx flags line', () => {
    const cs = checkVmxFeatures(makeFacts());
    expect(cs.map((c) => c.id)).toEqual(['cpu.vmx.ept', 'cpu.vmx.vpid', 'cpu.vmx.unrestricted_guest', 'cpu.vmx.posted_interrupts']);
    expect(cs.every((c) => c.status === 'PASS')).toBe(true);
  });

  it('warns on a missing feature and names what it costs', () => {
    const cs = checkVmxFeatures(makeFacts({ host: { vmxFlags: ['vpid', 'unrestricted_guest'] } }));
    expect(byId(cs, 'cpu.vmx.ept').status).toBe('WARN');
    expect(byId(cs, 'cpu.vmx.ept').summary).toMatch(/shadow paging/);
    expect(byId(cs, 'cpu.vmx.posted_interrupts').status).toBe('WARN');
    expect(byId(cs, 'cpu.vmx.vpid').status).toBe('PASS');
  });

  it('warns when kvm_intel disables a feature the CPU has', () => {
    const f = makeFacts();
    f.modules!.kvm_intel!.params.ept = 'N';
    const c = byId(checkVmxFeatures(f), 'cpu.vmx.ept');
    expect(c.status).toBe('WARN');
    expect(c.summary).toMatch(/disabled in kvm_intel/);
    expect(c.fix).toMatch(/modprobe -r kvm_intel/);
  });

  it('falls back to legacy flags before Linux 5.8 and skips what they cannot show', () => {
    const f = makeFacts({ host: { vmxFlags: [], flags: ['vmx', 'ept'] }, modules: { kvm: { builtin: false, params: {} } } });
    const cs = checkVmxFeatures(f);
    expect(byId(cs, 'cpu.vmx.ept').status).toBe('PASS');
    expect(byId(cs, 'cpu.vmx.vpid').status).toBe('WARN');
    expect(byId(cs, 'cpu.vmx.unrestricted_guest').status).toBe('SKIP');
    // with kvm_intel loaded, its parameter tells
    const g = makeFacts({ host: { vmxFlags: [], flags: ['vmx', 'ept', 'vpid'] } });
    expect(byId(checkVmxFeatures(g), 'cpu.vmx.unrestricted_guest').status).toBe('PASS');
  });

  it('skips on non-VT-x hosts', () => {
    expect(checkVmxFeatures(pvmGuestFacts()).every((c) => c.status === 'SKIP')).toBe(true);
  });
});

describe('checkSvmNpt (cpu.svm.npt)', () => {
  const amd = (flags: string[], npt?: string) =>
    makeFacts({
      host: { vendor: 'AuthenticAMD', hwVirtualization: 'svm', flags, vmxFlags: [] },
      modules: { kvm: { builtin: false, params: {} }, kvm_amd: { builtin: false, params: npt === undefined ? {} : { npt } } },
    });
  it.each([
    ['npt present', amd(['svm', 'npt']), 'PASS'],
    ['npt missing', amd(['svm']), 'WARN'],
    ['npt disabled by kvm_amd npt=0', amd(['svm', 'npt'], '0'), 'WARN'],
    ['Intel host', makeFacts(), 'SKIP'],
  ])('%s -> %s', (_n, f, status) => {
    expect(checkSvmNpt(f).status).toBe(status);
  });
});
