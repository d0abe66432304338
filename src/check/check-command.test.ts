import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { gatherCheckFacts } from './gather-check-facts.ts';
import { collectCheckSection } from './report-section.ts';
import { runChecks } from './run-checks.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(repoRoot, 'test/fixtures/check');
const goodHost = path.join(fixtures, 'intel-vtd-host');
const badHost = path.join(fixtures, 'amd-misconfigured');

async function run(argv: string[], color = false) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color, stdin: Readable.from([]) });
  return { code, out, err };
}

const status = (checks: { id: string; status: string }[], id: string) => checks.find((c) => c.id === id)?.status;

describe('gatherCheckFacts on fake trees', () => {
  it('reads every fact of the well-configured Intel host', async () => {
    const f = await gatherCheckFacts({ root: goodHost });
    expect(f.live).toBe(false);
    expect(f.probe).toBeNull();
    expect(f.kvmDevice).toBeNull();
    expect(f.host.hwVirtualization).toBe('vmx');
    expect(f.host.vmxFlags).toContain('posted_intr');
    expect(Object.keys(f.modules!)).toEqual(['kvm', 'kvm_intel']);
    expect(f.modules!.kvm_intel).toEqual({ builtin: false, params: { enable_apicv: 'Y', ept: 'Y', nested: 'Y', unrestricted_guest: 'Y', vpid: 'Y' } });
    expect(f.miscKvm).toBe(true);
    expect(f.iommu).toEqual({ dmar: true, ivrs: false, iort: false, classDevices: ['dmar0'], groups: 3, groupTypes: { identity: 3 } });
    expect(f.sriov).toEqual([
      {
        bdf: '0000:3b:00.0',
        vendor: '0x8086',
        device: '0x10fb',
        class: '0x020000',
        totalVfs: 63,
        numVfs: 4,
        driver: 'ixgbe',
        numaNode: '0',
        netdevs: ['ens1f0'],
      },
    ]);
    expect(f.net).toEqual([
      { name: 'ens1f0', pci: '0000:3b:00.0', driver: 'ixgbe', rxQueues: 4, txQueues: 4 },
      { name: 'lo', pci: null, driver: null, rxQueues: 1, txQueues: 0 },
    ]);
    expect(f.irqbalancePids).toEqual([4242]);
    expect(f.nohzFull).toBe('2-3');
    expect(f.host.cpus.isolated).toBe('2-3');
  });

  it('reads the misconfigured AMD host', async () => {
    const f = await gatherCheckFacts({ root: badHost });
    expect(f.host.hwVirtualization).toBe('svm');
    expect(Object.keys(f.modules!)).toEqual(['kvm']);
    expect(f.miscKvm).toBe(false);
    expect(f.iommu.classDevices).toEqual([]);
    expect(f.iommu.groups).toBe(0);
    expect(f.net).toBeNull();
    expect(f.irqbalancePids).toEqual([]);
    expect(f.host.cpus.offline).toBe('3');
  });
});

describe('kvcpu check (CLI)', () => {
  it('--json on a good host: exit 0, the documented shape', async () => {
    const r = await run(['check', '--root', goodHost, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { checks: Record<string, unknown>[] };
    expect(Object.keys(j)).toEqual(['checks']);
    for (const c of j.checks) expect(Object.keys(c)).toEqual(['id', 'status', 'summary', 'evidence', 'fix']);
    const checks = j.checks as { id: string; status: string }[];
    expect(status(checks, 'cpu.hwvirt')).toBe('PASS');
    expect(status(checks, 'iommu.cmdline')).toBe('PASS');
    expect(status(checks, 'sriov')).toBe('PASS');
    expect(status(checks, 'isolation.cmdline')).toBe('PASS');
    expect(status(checks, 'kvm.usable')).toBe('SKIP'); // --root: never probes this machine's /dev/kvm
    expect(checks.some((c) => c.status === 'FAIL')).toBe(false);
  });

  it('human output on a bad host: exit 1, table, evidence and fix lines, no colour when off', async () => {
    const r = await run(['check', '--root', badHost]);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^STATUS {2}ID {2,}SUMMARY$/);
    expect(r.out).toMatch(/^FAIL {4}kvm\.module {2,}kvm is loaded but no vendor module \(kvm_amd\)$/m);
    expect(r.out).toMatch(/^FAIL kvm\.module: /m);
    expect(r.out).toContain('  fix: modprobe kvm_amd');
    expect(r.out).toMatch(/^WARN isolation\.cmdline: /m);
    expect(r.out).toMatch(/CPU 3 is in isolcpus but not nohz_full/);
    expect(r.out).not.toMatch(/^PASS cpu\.hwvirt:/m); // PASS rows get no detail block
    expect(r.out).not.toContain('\u001b[');
    expect(r.out).toMatch(/\d+ pass, \d+ warn, 1 fail, \d+ skip\n$/);
  });

  it('colours statuses when the terminal allows', async () => {
    const r = await run(['check', '--root', badHost], true);
    expect(r.out).toContain('\u001b[31mFAIL\u001b[39m');
  });

  describe('bad roots', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'kvcpu-check-empty-'));
    afterAll(() => rmSync(empty, { recursive: true, force: true }));
    it.each([[path.join(fixtures, 'no-such-dir')], [empty]])('%s -> exit 2 E_SYSFS_MISSING', async (root) => {
      const r = await run(['check', '--root', root]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error E_SYSFS_MISSING: /);
      expect(r.err).toMatch(/\nhint: /);
      const j = await run(['check', '--root', root, '--json']);
      expect(j.code).toBe(2);
      expect(JSON.parse(j.out)).toMatchObject({ ok: false, error: { code: 'E_SYSFS_MISSING' } });
    });
  });
});

describe('a capture of this CI machine (PVM guest, kvm_pvm not bound)', () => {
  const pvm = path.join(fixtures, 'pvm-guest-capture');
  it('judges the captured facts without probing the live /dev/kvm', async () => {
    const r = await run(['check', '--root', pvm, '--json']);
    expect(r.code).toBe(1);
    const checks = (JSON.parse(r.out) as { checks: { id: string; status: string; summary: string; evidence: string[] }[] }).checks;
    expect(status(checks, 'cpu.hwvirt')).toBe('FAIL');
    expect(checks.find((c) => c.id === 'cpu.hwvirt')!.evidence.join('\n')).toMatch(/kvm_pvm module present but it did not register/);
    expect(status(checks, 'kvm.module')).toBe('WARN');
    expect(checks.find((c) => c.id === 'kvm.module')!.summary).toBe('kvm, kvm_pvm loaded, but none registered the kvm device (see kvm.device)');
    expect(status(checks, 'kvm.usable')).toBe('SKIP');
    expect(status(checks, 'iommu.acpi')).toBe('WARN');
    expect(status(checks, 'iommu.enabled')).toBe('SKIP');
    expect(status(checks, 'vmdq')).toBe('SKIP');
    expect(checks.find((c) => c.id === 'vmdq')!.summary).toMatch(/virtio_net/);
    expect(status(checks, 'smp.kernel')).toBe('PASS');
  });
});

describe('collectCheckSection', () => {
  it('ok section for a good host, findings for a FAIL', async () => {
    const good = await collectCheckSection({ root: goodHost, live: false, color: false });
    expect(good.id).toBe('checks');
    expect(good.status).toBe('ok');
    expect(good.text).toMatch(/^STATUS {2}ID/);
    const bad = await collectCheckSection({ root: badHost, live: false, color: false });
    expect(bad.status).toBe('findings');
    const data = bad.data as { checks: { id: string; status: string }[] };
    expect(data.checks).toEqual(runChecks(await gatherCheckFacts({ root: badHost })).map((c) => ({ ...c })));
  });
});
