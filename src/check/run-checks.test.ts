import { describe, expect, it } from 'vitest';
import { countStatuses, runChecks } from './run-checks.ts';
import { kvmNode, makeFacts, pvmGuestFacts, workingProbe } from '../../test/fixtures/check/make-facts.ts';

const statusOf = (checks: ReturnType<typeof runChecks>, id: string) => checks.find((c) => c.id === id)?.status;

describe('runChecks scenarios', () => {
  it('a well-configured Intel host: nothing to fix', () => {
    const checks = runChecks(makeFacts());
    const n = countStatuses(checks);
    expect(n.FAIL).toBe(0);
    expect(n.WARN).toBe(0);
    expect(statusOf(checks, 'kvm.usable')).toBe('PASS');
    expect(checks.find((c) => c.id === 'kvm.vcpu_limits')!.summary).toBe('recommended max 8 vCPUs per guest, hard max 1024');
  });

  it('the dev machines of the notes (nested PVM, /dev/kvm works, no vmx/svm): no FAIL, kvm.usable PASS with the note', () => {
    const f = pvmGuestFacts();
    f.miscKvm = true;
    f.kernelLog = ['Hypervisor detected: PVM'];
    f.kvmDevice = kvmNode({ mode: 0o660, group: 'kvm' });
    f.probe = workingProbe({ nrVcpus: 2, maxVcpus: 1024 });
    const checks = runChecks(f);
    expect(checks.filter((c) => c.status === 'FAIL')).toEqual([]);
    expect(statusOf(checks, 'kvm.usable')).toBe('PASS');
    expect(checks.find((c) => c.id === 'kvm.usable')!.summary).toMatch(/wrongly say no/);
    expect(statusOf(checks, 'cpu.hwvirt')).toBe('WARN');
    expect(statusOf(checks, 'kvm.module')).toBe('PASS');
    expect(statusOf(checks, 'kvm.device')).toBe('PASS');
    expect(checks.find((c) => c.id === 'kvm.vcpu_limits')!.summary).toBe('recommended max 2 vCPUs per guest, hard max 1024');
  });

  it('this CI machine (kvm_pvm not bound, /dev/kvm absent): the KVM verdicts FAIL together', () => {
    const checks = runChecks(pvmGuestFacts());
    expect(checks.filter((c) => c.status === 'FAIL').map((c) => c.id)).toEqual(['cpu.hwvirt', 'kvm.device', 'kvm.usable']);
    for (const c of checks) if (c.status === 'FAIL' || c.status === 'WARN') expect(c.fix, c.id).toBeTruthy();
  });
});
