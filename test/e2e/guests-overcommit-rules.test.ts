// Issue 16: overcommit warns when a guest's maximum vCPUs (hot-plug headroom) exceed the host,
// with the same words `topology suggest --max` uses (checkVcpusFitHost), and when a pCPU pinned
// to one guest is open to floating vCPUs of another. Real QEMU guests and a libvirt domain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { checkVcpusFitHost } from '../../src/guests/assess-overcommit.ts';
import { readHost } from '../../src/host/read-host.ts';
import { destroyAllDomains, libvirtReachable, startDomain, virsh } from '../support/libvirt.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const host = readHost();
const online = parseCpulist(host.cpus.online);
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-ocr-state-'));
process.env.KVCPU_STATE_DIR = stateDir;

interface Check {
  id: string;
  status: string;
  message: string;
}

async function overcommitChecks(): Promise<Check[]> {
  const r = await runCli(['overcommit', '--json']);
  return JSON.parse(r.out).checks as Check[];
}

describe.skipIf(!qemuPresent)('overcommit: hot-plug headroom and pinned CPUs shared with floating vCPUs (real QEMU)', () => {
  afterAll(async () => {
    await stopAllTestGuests();
    await destroyAllDomains();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it(`a guest with maxcpus ${online.length + 1} on ${online.length} CPUs is a WARN, worded like topology suggest --max`, async () => {
    const g = await startTestGuest({ prefix: 'kvt-answers-room', smp: `1,maxcpus=${online.length + 1}` });
    const want = checkVcpusFitHost({ vcpus: 1, maxVcpus: online.length + 1, hostCpus: online.length, guest: `${g.name} (pid ${g.pid})` })[0]!;
    const checks = await overcommitChecks();
    expect(checks).toContainEqual({ id: 'hotplug-headroom', status: 'WARN', message: want.message });
    const human = await runCli(['overcommit']);
    expect(human.out).toContain(`WARN  hotplug-headroom: ${want.message}`);
    // The same rule in topology suggest: same sentence after "--max N: ".
    const s = JSON.parse((await runCli(['topology', 'suggest', '--json', '--vcpus', '1', '--max', String(online.length + 1)])).out);
    expect(s.warnings).toContain(
      `--max ${online.length + 1}: ${checkVcpusFitHost({ vcpus: 1, maxVcpus: online.length + 1, hostCpus: online.length })[0]!.message}`,
    );
    await g.stop();
  });

  it("a CPU pinned to one guest and open to another guest's floating vCPUs is a WARN", async () => {
    const a = await startTestGuest({ prefix: 'kvt-answers-pinned', smp: '1' });
    const b = await startTestGuest({ prefix: 'kvt-answers-float', smp: '1' });
    // Other processes' guests may be pinned on this machine: look only at what names ours.
    const pinnedPart = (c: Check) => c.message.split(' but floating vCPUs of ')[0]!;
    const floatingPart = (c: Check) => c.message.split(' but floating vCPUs of ')[1] ?? '';
    const before = await overcommitChecks();
    expect(before.filter((c) => c.id === 'pinned-cpu-shared' && pinnedPart(c).includes(a.name))).toEqual([]);
    const pin = await runCli(['pin', a.name, '--vcpu', `0=${online[0]}`]);
    expect(pin.code, pin.err).toBe(0);
    const after = await overcommitChecks();
    const w = after.find((c) => c.id === 'pinned-cpu-shared' && pinnedPart(c).includes(`${a.name} (${a.pid})`));
    expect(w).toBeDefined();
    expect(w!.status).toBe('WARN');
    expect(w!.message).toContain(`CPU ${online[0]} is pinned to vCPUs of ${a.name} (${a.pid})`);
    expect(floatingPart(w!)).toContain(`${b.name} (${b.pid})`);
    // Keep b off that CPU: the warning for it goes away.
    if (online.length > 1) {
      expect((await runCli(['pin', b.name, '--vcpu', `0=${online.slice(1).join(',')}`])).code).toBe(0);
      const fixed = await overcommitChecks();
      expect(fixed.filter((c) => c.id === 'pinned-cpu-shared' && floatingPart(c).includes(`${b.name} (${b.pid})`))).toEqual([]);
    }
    await Promise.all([a.stop(), b.stop()]);
  });

  it.skipIf(!libvirtReachable())('a libvirt domain with <vcpu current=1>3</vcpu> on a 2-CPU host is the same WARN', { timeout: 60_000 }, async () => {
    const max = online.length + 1;
    const d = await startDomain({ name: `kvt-answers-room-${process.pid}`, vcpus: 1, maxVcpus: max });
    expect((await virsh('vcpucount', d.name, '--maximum', '--live')).trim()).toBe(String(max));
    const checks = await overcommitChecks();
    const c = checks.find((x) => x.id === 'hotplug-headroom' && x.message.includes(`(pid ${d.pid})`));
    expect(c).toMatchObject({ status: 'WARN' });
    expect(c!.message).toContain(`can be hot-plugged up to ${max} vCPUs (maxcpus) but the host has ${online.length} online CPUs`);
  });
});
