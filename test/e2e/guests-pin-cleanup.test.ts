// Issue 16 on plain QEMU guests (TCG): unpin verifies what it restored (item 7), kvcpu's
// cgroups of gone guests are removed (on unpin of the gone guest, and on the next pin),
// `--dry-run --cgroup` lists the cgroup writes, `top GUEST` filters, hotplug beyond the host
// warns with overcommit's rule. Each failed on main.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { detectCpusetMount } from '../../src/guests/cgroup-cpuset.ts';
import { snapshotGuests } from '../../src/guests/snapshot-guests.ts';
import { readHost } from '../../src/host/read-host.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, type TestGuest } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const host = readHost();
const online = parseCpulist(host.cpus.online);
const stateDir = mkdtempSync(join(tmpdir(), 'kvt-pins-cleanup-state-'));
process.env.KVCPU_STATE_DIR = stateDir;
const mount = detectCpusetMount();
const cgroupV1Root = process.getuid?.() === 0 && mount?.version === 1;

function allowed(pid: number, tid: number): string {
  return /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
}
async function vcpuTids(g: TestGuest): Promise<number[]> {
  const snap = await snapshotGuests({ host, pids: [g.pid], full: false, qmp: false });
  return snap.guests[0]!.threads.filter((t) => t.role === 'vcpu').map((t) => t.tid);
}

describe.skipIf(!qemuPresent || online.length < 2)('issue 16: unpin verification and cgroup cleanup (plain QEMU, TCG)', () => {
  let g: TestGuest;
  const all = host.cpus.online;

  beforeAll(async () => {
    g = await startTestGuest({ prefix: 'kvt-pins-c', smp: '1,maxcpus=4' });
  });
  afterAll(async () => {
    await stopAllTestGuests();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('item 7: unpin fails with E_UNPIN_VERIFY (not "restored", exit 0) when the affinity read back differs', async (ctx) => {
    ctx.skip(!cgroupV1Root, "needs root and a cgroup v1 cpuset to narrow a thread behind kvcpu's back");
    const [t0] = await vcpuTids(g);
    expect((await runCli(['pin', g.name, '--vcpu', `0=${online[1]}`])).code).toBe(0);
    // Something else (a manager, an admin) narrows the thread to one CPU through a cpuset:
    // the kernel then clips any affinity kvcpu restores to that CPU.
    const cg = join(mount!.mountPoint, `kvt-pins-narrow-${process.pid}`);
    mkdirSync(cg);
    try {
      writeFileSync(join(cg, 'cpuset.cpus'), String(online[1]));
      writeFileSync(join(cg, 'cpuset.mems'), readFileSync(join(mount!.mountPoint, 'cpuset.mems'), 'utf8').trim());
      writeFileSync(join(cg, 'tasks'), String(t0));
      const u = await runCli(['unpin', g.name, '--json']);
      expect(u.code, u.out).toBe(2);
      const e = JSON.parse(u.out).error;
      expect(e.code).toBe('E_UNPIN_VERIFY');
      expect(e.message).toMatch(new RegExp(`vcpu 0 \\(tid ${t0}\\) is on ${online[1]}, saved ${all}`));
    } finally {
      writeFileSync(join(mount!.mountPoint, 'tasks'), String(t0));
      rmdirSync(cg);
    }
    // The state was kept: once the cpuset is gone, unpin completes.
    const again = await runCli(['unpin', g.name]);
    expect(again.code, again.out + again.err).toBe(0);
    expect(allowed(g.pid, t0!)).toBe(all);
  });

  it('--dry-run --cgroup lists the cgroup writes and changes nothing', async (ctx) => {
    ctx.skip(!cgroupV1Root, 'needs root and a cgroup v1 cpuset');
    const [t0] = await vcpuTids(g);
    const r = await runCli(['pin', g.name, '--vcpu', '0=1', '--cgroup', '--dry-run', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    const leaf = join(mount!.mountPoint, 'kvcpu', `${g.name}.${g.pid}`, 'vcpu0');
    const cmds = JSON.parse(r.out).commands as string[];
    expect(cmds).toContain(`mkdir ${leaf}`);
    expect(cmds).toContain(`echo 1 > ${leaf}/cpuset.cpus`);
    expect(cmds.some((c) => c.startsWith(`echo ${t0} > ${leaf}/tasks`))).toBe(true);
    expect(cmds.some((c) => c.startsWith(`taskset -p -c 1 ${t0}`))).toBe(true);
    expect(existsSync(join(mount!.mountPoint, 'kvcpu', `${g.name}.${g.pid}`))).toBe(false);
    expect(allowed(g.pid, t0!)).toBe(all);
  });

  it('cgroups kvcpu made are removed when their guest is gone: on unpin of the gone guest and on the next pin', async (ctx) => {
    ctx.skip(!cgroupV1Root, 'needs root and a cgroup v1 cpuset');
    const base = join(mount!.mountPoint, 'kvcpu');
    for (const via of ['unpin', 'next pin'] as const) {
      const gone = await startTestGuest({ prefix: 'kvt-pins-gone', smp: '1' });
      const r = await runCli(['pin', gone.name, '--vcpu', '0=1', '--cgroup']);
      expect(r.code, r.out + r.err).toBe(0);
      const dir = join(base, `${gone.name}.${gone.pid}`);
      expect(existsSync(join(dir, 'vcpu0'))).toBe(true);
      await gone.stop(); // killed while pinned: nobody unpinned it
      expect(existsSync(dir)).toBe(true);
      if (via === 'unpin') {
        const u = await runCli(['unpin', gone.name]);
        expect(u.code, u.out + u.err).toBe(0);
        expect(u.out).toMatch(new RegExp(`${gone.name} is gone; removed what kvcpu left for it:[\\s\\S]*removed cgroup .*${gone.name}\\.${gone.pid}`));
      } else {
        const p = await runCli(['pin', g.name, '--vcpu', '0=1', '--json']);
        expect(p.code, p.out + p.err).toBe(0);
        expect(JSON.parse(p.out).cleaned.join('\n')).toMatch(new RegExp(`${gone.name}\\.${gone.pid}`));
        expect((await runCli(['unpin', g.name])).code).toBe(0);
      }
      expect(existsSync(dir)).toBe(false);
    }
  });

  it('overcommit takes a guest filter: only that guest is audited', async () => {
    const r = await runCli(['overcommit', g.name, '--json']);
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out);
    expect(o.guests.map((x: { pid: number }) => x.pid)).toEqual([g.pid]);
    expect(o.guestVcpus).toBe(1);
  });

  it('top takes a guest filter; an unknown guest is an error', async () => {
    const r = await runCli(['top', g.name, '--iterations', '1', '--interval', '0.1', '--json']);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out.trim().split('\n')[0]!).rows as { pid: number }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((x) => x.pid))).toEqual(new Set([g.pid]));
    const bad = await runCli(['top', `kvt-pins-nosuch-${process.pid}`, '--iterations', '1', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.out).error.code).toBe('E_GUEST_NOT_FOUND');
  });

  it("hotplug --to N beyond the host CPUs warns with overcommit's rule (guest-fits-host)", async () => {
    const to = online.length + 1; // 3 on a 2-CPU host; maxcpus is 4
    const r = await runCli(['hotplug', g.name, '--to', String(to), '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.err).toMatch(
      new RegExp(
        `warning: after hotplug: ${g.name} \\(pid ${g.pid}\\) has ${to} vCPUs but the host has ${online.length} online CPUs[^\\n]*\\(kvcpu overcommit: guest-fits-host FAIL\\)`,
      ),
    );
    expect(JSON.parse(r.out).warnings.length).toBeGreaterThan(0);
    // ps lists the vCPU threads in vCPU order.
    const ps = await runCli(['ps', g.name, '--json']);
    const vcpus = (JSON.parse(ps.out).guests[0].threads as { role: string; vcpu: number }[]).filter((t) => t.role === 'vcpu').map((t) => t.vcpu);
    expect(vcpus).toEqual([...vcpus].sort((a, b) => a - b));
    expect(vcpus).toHaveLength(to);
  });
});
