// Issue 16 "missing": `plan` takes the running guests and their pins into account (where does a
// new guest fit now). Real QEMU guests and a libvirt domain; other processes may run guests on
// this machine too, so assertions are about what our guests hold, and exact figures come from
// runningUsage over a snapshot restricted to our guests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { snapshotGuests } from '../../src/guests/snapshot-guests.ts';
import { readHost } from '../../src/host/read-host.ts';
import { buildPlanHost } from '../../src/plan/build-plan-host.ts';
import { planGuests } from '../../src/plan/plan-guests.ts';
import { runningUsage } from '../../src/plan/running-usage.ts';
import { parseGuestSpec } from '../../src/plan/parse-guest-spec.ts';
import { destroyAllDomains, libvirtReachable, startDomain, virsh } from '../support/libvirt.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const snapHost = readHost();
const online = parseCpulist(snapHost.cpus.online);
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-planrun-state-'));
process.env.KVCPU_STATE_DIR = stateDir;

interface PlanJson {
  placements: { name: string; fits: boolean }[];
  /** The pin plan: vCPU -> cpulist for each guest that fits. */
  guests: { name: string; vcpus: Record<string, string> }[];
  notes: string[];
  hostAfter: { pinned: string };
}

async function plan(args: string[]): Promise<{ code: number; j: PlanJson }> {
  const r = await runCli(['plan', '--json', ...args]);
  expect(r.code === 2, r.err + r.out).toBe(false);
  return { code: r.code, j: JSON.parse(r.out) as PlanJson };
}

describe.skipIf(!qemuPresent)('plan --running: where a new guest fits now (real guests)', () => {
  afterAll(async () => {
    await stopAllTestGuests();
    await destroyAllDomains();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a CPU a running guest pinned a vCPU to is not given to the new guest; --no-running plans on an empty host', async () => {
    const cpu = online[0]!;
    const a = await startTestGuest({ prefix: 'kvt-answers-plan-pinned', smp: '1' });
    expect((await runCli(['pin', a.name, '--vcpu', `0=${cpu}`])).code).toBe(0);
    const { j } = await plan(['--guest', 'name=new,vcpus=1,policy=dedicated']);
    expect(j.notes).toContain(`running ${a.name} (pid ${a.pid}): holds CPU ${cpu} (pinned)`);
    expect(parseCpulist(j.hostAfter.pinned)).toContain(cpu);
    const p = j.placements[0]!;
    if (p.fits) {
      const cpus = Object.values(j.guests.find((g) => g.name === 'new')!.vcpus).flatMap((l) => parseCpulist(l));
      expect(cpus).not.toContain(cpu);
    }
    // Empty host: the same request fits (2 online CPUs, one vCPU), and running guests are ignored.
    const empty = await plan(['--no-running', '--guest', 'name=new,vcpus=1,policy=dedicated']);
    expect(empty.j.placements[0]!.fits).toBe(true);
    expect(Object.values(empty.j.guests[0]!.vcpus)).toEqual([String(online[0])]);
    expect(empty.j.notes.filter((n) => n.startsWith('running '))).toEqual([]);

    // Exactly, on our guest alone: its CPU is held, so a 2-vCPU dedicated guest on a 2-CPU host is refused.
    const snap = await snapshotGuests({ host: snapHost, full: false });
    const ours = { ...snap, guests: snap.guests.filter((g) => g.pid === a.pid) };
    const host = buildPlanHost(snapHost, {});
    const u = runningUsage(ours, host);
    expect(u.pinned).toEqual([cpu]);
    const want = parseGuestSpec(`name=big,vcpus=${online.length},policy=dedicated`, 0);
    expect(planGuests(host, [want], {}, []).guests[0]!.fits).toBe(true);
    expect(planGuests(host, [want], {}, u.pinned, u.sharedVcpus).guests[0]!.fits).toBe(false);
    await a.stop();
  });

  it('floating vCPUs of running guests load their NUMA node', async () => {
    const b = await startTestGuest({ prefix: 'kvt-answers-plan-float', smp: '2' });
    const { j } = await plan(['--guest', 'name=new,vcpus=1,policy=shared']);
    const node = snapHost.perCpu.find((r) => r.cpu === online[0])!.node ?? 0;
    expect(j.notes).toContain(`running ${b.name} (pid ${b.pid}): 2 floating vCPUs on node ${node}`);
    const snap = await snapshotGuests({ host: snapHost, full: false });
    const u = runningUsage({ ...snap, guests: snap.guests.filter((g) => g.pid === b.pid) }, buildPlanHost(snapHost, {}));
    expect(u.pinned).toEqual([]);
    expect(u.sharedVcpus.get(node)).toBe(2);
    // With a 1:1 ratio the node has online.length - 2 floating slots left.
    const host = buildPlanHost(snapHost, {});
    const r = planGuests(host, [parseGuestSpec(`name=f,vcpus=${online.length},policy=shared`, 0)], { cpuAllocationRatio: 1 }, u.pinned, u.sharedVcpus);
    expect(r.guests[0]!.fits).toBe(false);
    await b.stop();
  });

  it.skipIf(!libvirtReachable())('a libvirt domain pinned with virsh vcpupin holds its CPU', { timeout: 60_000 }, async () => {
    const cpu = online[online.length - 1]!;
    const d = await startDomain({ name: `kvt-answers-plan-${process.pid}`, vcpus: 1 });
    await virsh('vcpupin', d.name, '0', String(cpu), '--live');
    const { j } = await plan(['--guest', 'name=new,vcpus=1,policy=dedicated']);
    expect(j.notes.some((n) => n.startsWith(`running ${d.name} (pid ${d.pid}): holds CPU ${cpu} (pinned)`))).toBe(true);
    expect(parseCpulist(j.hostAfter.pinned)).toContain(cpu);
  });

  it('--running is refused for a captured host (no processes to read)', async () => {
    const r = await runCli([
      'plan',
      '--running',
      '--root',
      '../shared/reference/hosts/cases/hw-32intel64-2p8co2t+8ve/root',
      '--guest',
      'name=g,vcpus=2',
      '--json',
    ]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe('E_USAGE');
  });
});
