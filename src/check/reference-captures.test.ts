import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gatherCheckFacts } from './gather-check-facts.ts';
import { runChecks } from './run-checks.ts';
import type { Check } from './types.ts';

// The 67 captured /proc + /sys trees (third-party data: read in place, never copied).
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const casesDir = path.resolve(repoRoot, '../shared/reference/hosts/cases');
const haveRef = existsSync(casesDir);
const cases = haveRef
  ? readdirSync(casesDir)
      .filter((c) => existsSync(path.join(casesDir, c, 'expected.json')))
      .sort()
  : [];

interface Expected {
  flags: { hw_virtualization: 'vmx' | 'svm' | 'sie' | null; hypervisor_flag: boolean };
  virtualization_tree?: { sriov_devices?: { bdf: string; vendor: string; device: string; sriov_totalvfs: number; sriov_numvfs: number }[] };
}

const STABLE_IDS = [
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
  'net.vhost',
  'net.tun',
  'cgroup.cpu',
  'cgroup.cpuset',
  'libvirt.reachable',
];

describe.skipIf(!haveRef)('kvcpu check on the shared reference captures', () => {
  if (!haveRef) it.skip(`reference data missing at ${casesDir}`, () => {});

  it('has all 67 captures', () => {
    expect(cases.length).toBe(67);
  });

  it.each(cases)('%s', async (id) => {
    const root = path.join(casesDir, id, 'root');
    const expected = JSON.parse(readFileSync(path.join(casesDir, id, 'expected.json'), 'utf8')) as Expected;
    const facts = await gatherCheckFacts({ root, live: false });
    const checks = runChecks(facts);
    const get = (cid: string): Check => checks.find((c) => c.id === cid)!;
    expect(checks.map((c) => c.id)).toEqual(STABLE_IDS);
    for (const c of checks) {
      expect(['PASS', 'WARN', 'FAIL', 'SKIP']).toContain(c.status);
      expect(c.summary.length).toBeGreaterThan(0);
      if (c.status === 'FAIL') expect(c.fix, `${c.id} FAIL needs a fix`).toBeTruthy();
    }
    // Live-only verdicts never run on a captured tree.
    for (const cid of ['kvm.device', 'kvm.permissions', 'kvm.usable', 'kvm.vcpu_limits', 'irqbalance']) expect(get(cid).status).toBe('SKIP');

    // VT-x / AMD-V / SIE verdict agrees with the oracle's hw_virtualization.
    const hv = expected.flags.hw_virtualization;
    const hw = get('cpu.hwvirt');
    if (hv === 'vmx' || hv === 'svm' || hv === 'sie') {
      expect(hw.status).toBe('PASS');
      expect(hw.evidence.join(' ')).toContain(hv);
    } else {
      expect(hw.status).not.toBe('PASS');
    }
    const vmxChecks = checks.filter((c) => c.id.startsWith('cpu.vmx.'));
    if (hv !== 'vmx') expect(vmxChecks.every((c) => c.status === 'SKIP')).toBe(true);
    else expect(vmxChecks.some((c) => c.status !== 'SKIP')).toBe(true);
    expect(get('cpu.svm.npt').status === 'SKIP').toBe(hv !== 'svm');

    // SR-IOV physical functions are found exactly as captured.
    const want = expected.virtualization_tree?.sriov_devices ?? [];
    const sriov = get('sriov');
    if (want.length > 0) {
      expect(facts.sriov?.map((p) => [p.bdf, p.vendor, p.device, p.totalVfs, p.numVfs])).toEqual(
        want.map((d) => [d.bdf, d.vendor, d.device, d.sriov_totalvfs, d.sriov_numvfs]),
      );
      expect(sriov.status).toBe('PASS');
    } else {
      expect(facts.sriov ?? []).toEqual([]);
      expect(sriov.status).toBe('SKIP');
    }
  });

  it('finds the two 64-VF Intel PFs of hw-32intel64-2p8co2t+8ve', async () => {
    const facts = await gatherCheckFacts({ root: path.join(casesDir, 'hw-32intel64-2p8co2t+8ve', 'root'), live: false });
    const c = runChecks(facts).find((x) => x.id === 'sriov')!;
    expect(c.summary).toBe('2 SR-IOV physical function(s), up to 128 VFs, 0 enabled');
    expect(c.evidence.filter((e) => /sriov_totalvfs=64 sriov_numvfs=0/.test(e))).toHaveLength(2);
    expect(c.evidence[0]).toMatch(/^0000:60:00\.0 8086:37d2 Ethernet controller/);
  });
});
