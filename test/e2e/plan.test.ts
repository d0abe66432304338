// End to end: plan two guests on this machine, launch them under QEMU (TCG: no /dev/kvm here),
// apply the plan with `kvcpu pin --plan`, and check with `kvcpu ps --json` that every vCPU thread's
// affinity is where the plan put it. Every QEMU started here is stopped in afterAll.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { readHost } from '../../src/host/read-host.ts';
import { PinPlanSchema, type PinPlan } from '../../src/plan/pin-plan.ts';
import { qemuAvailable } from '../../src/qmp/start-qemu.ts';
import { runCli } from '../support/run-cli.ts';

const online = parseCpulist(readHost().cpus.online);
const helpOf = async (cmd: string) => (await runCli([cmd, '--help'])).out;
// launch/pin/ps come from the guests capability; the test needs all three and QEMU.
const available =
  qemuAvailable() &&
  online.length >= 2 &&
  (await helpOf('launch')).includes('--pin') &&
  (await helpOf('pin')).includes('--plan') &&
  (await helpOf('ps')).includes('--json');

const tag = `${process.pid}`;
const A = `plane2e-a-${tag}`;
const B = `plane2e-b-${tag}`;
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-plan-e2e-'));
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-plan-e2e-state-'));
process.env.KVCPU_STATE_DIR = stateDir;
const pids: number[] = [];

async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !existsSync(`/proc/${pid}`);
}

describe.skipIf(!available)('plan -> launch -> pin --plan -> ps (real QEMU, TCG)', () => {
  let plan: PinPlan;
  const planFile = join(dir, 'plan.json');

  beforeAll(async () => {
    // CPU 1 for pinned vCPUs, CPU 0 for floating ones: a gets CPU 1 and its emulator threads go to
    // the shared set (like Nova with cpu_shared_set); b floats on CPU 0.
    const r = await runCli([
      'plan',
      '--no-running',
      '--dedicated-set',
      String(online[1]),
      '--shared-set',
      String(online[0]),
      '--guest',
      `name=${A},vcpus=1,policy=dedicated,memory=16`,
      '--guest',
      `name=${B},vcpus=1,policy=shared,memory=16`,
      '--json',
    ]);
    expect(r.code, r.err + r.out).toBe(0);
    writeFileSync(planFile, r.out);
    plan = PinPlanSchema.parse(JSON.parse(r.out));
    for (const [name, smp] of [
      [A, '1'],
      [B, '1'],
    ] as const) {
      const l = await runCli(['launch', '--name', name, '--smp', smp, '--accel', 'tcg', '--dir', join(dir, name), '--json']);
      const pid = l.code === 0 ? (JSON.parse(l.out).guest.pid as number) : null;
      if (pid) pids.push(pid);
      expect(l.code, l.err + l.out).toBe(0);
    }
  }, 60_000);

  afterAll(async () => {
    for (const name of [A, B]) await runCli(['stop', name]).catch(() => undefined);
    for (const pid of pids) {
      if (!(await waitGone(pid, 3000))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await waitGone(pid);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it('the plan gives the dedicated vCPU its own CPU and floats the other guest elsewhere', () => {
    const a = plan.guests.find((g) => g.name === A)!;
    const b = plan.guests.find((g) => g.name === B)!;
    expect(parseCpulist(a.vcpus['0']!)).toEqual([online[1]]);
    expect(parseCpulist(a.emulator!)).toEqual([online[0]]);
    expect(parseCpulist(b.vcpus['0']!)).toEqual([online[0]]);
  });

  it('kvcpu pin --plan applies it and kvcpu ps shows every vCPU thread where the plan put it', async () => {
    const p = await runCli(['pin', '--plan', planFile, '--json']);
    expect(p.code, p.err + p.out).toBe(0);
    const ps = await runCli(['ps', '--json']);
    expect(ps.code, ps.err).toBe(0);
    const guests = JSON.parse(ps.out).guests as {
      name: string;
      pid: number;
      threads: { tid: number; role: string; vcpu: number | null; affinity: string }[];
    }[];
    for (const g of plan.guests) {
      const seen = guests.find((x) => x.name === g.name);
      expect(seen, `ps shows ${g.name}`).toBeDefined();
      const vcpuThreads = seen!.threads.filter((t) => t.role === 'vcpu');
      expect(vcpuThreads.map((t) => t.vcpu).sort()).toEqual(Object.keys(g.vcpus).map(Number).sort());
      for (const t of vcpuThreads) {
        expect(parseCpulist(t.affinity), `${g.name} vCPU ${t.vcpu} (tid ${t.tid})`).toEqual(parseCpulist(g.vcpus[String(t.vcpu)]!));
      }
      if (g.emulator) {
        const main = seen!.threads.find((t) => t.tid === seen!.pid)!;
        expect(parseCpulist(main.affinity), `${g.name} main thread`).toEqual(parseCpulist(g.emulator));
      }
    }
  }, 30_000);
});
