import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { readHost } from '../../src/host/read-host.ts';
import { postJson, raw, startTestAgent, TEST_TOKEN, type TestAgent } from '../support/agent.ts';
import { KVM_SKIP_REASON, kvmPresent, qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, type TestGuest } from '../support/guests.ts';

// The agent's actions beyond the single-guest pin (agent-api.test.ts): POST /api/v1/pin with a
// whole pin plan (all or nothing) and POST /api/v1/hotplug on real QEMU guests.
const online = parseCpulist(readHost().cpus.online);
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-agent-actions-state-'));
process.env.KVCPU_STATE_DIR = stateDir;

const allowed = (pid: number, tid: number) => /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
const comm = (pid: number, tid: number) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
/** Every thread's affinity of these guests, from /proc. */
const affinities = (gs: TestGuest[]) =>
  gs.map((g) =>
    readdirSync(`/proc/${g.pid}/task`)
      .map((t) => `${t}=${allowed(g.pid, Number(t))}`)
      .sort()
      .join(' '),
  );
const vcpuTid = (g: TestGuest, n: number) =>
  readdirSync(`/proc/${g.pid}/task`)
    .map(Number)
    .find((t) => comm(g.pid, t) === `CPU ${n}/TCG`)!;
const errCode = (r: { json(): unknown }) => (r.json() as { error?: { code: string } }).error?.code;

interface ApiGuest {
  pid: number;
  name: string;
  vcpus: number;
  threads: { tid: number; role: string; vcpu: number | null; affinity: string }[];
}
async function apiGuest(agent: TestAgent, pid: number): Promise<ApiGuest | undefined> {
  return ((await raw(agent.port, { path: '/api/v1/guests' })).json() as { guests: ApiGuest[] }).guests.find((g) => g.pid === pid);
}
/** Poll the agent's own samples (no forced walk) until `ok`, for at most two intervals and a bit. */
async function withinTwoIntervals(agent: TestAgent, pid: number, ok: (g: ApiGuest | undefined) => boolean): Promise<ApiGuest | undefined> {
  const end = Date.now() + 2 * agent.sampler.intervalMs + 250;
  let g = await apiGuest(agent, pid);
  while (!ok(g) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    g = await apiGuest(agent, pid);
  }
  return g;
}

describe.skipIf(!qemuPresent || online.length < 2)('POST /api/v1/pin with a pin plan (real QEMU, TCG)', () => {
  let a: TestGuest;
  let b: TestGuest;
  let agent: TestAgent;
  const [c0, c1] = [String(online[0]), String(online[1])];

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestGuest({ prefix: 'kvt-agentperf-pa', smp: '2' }), startTestGuest({ prefix: 'kvt-agentperf-pb', smp: '2' })]);
    agent = await startTestAgent({ intervalMs: 500 });
  });
  afterAll(async () => {
    await agent?.stop();
    await stopAllTestGuests();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const plan = (guests: unknown[]) => ({ plan: { kind: 'kvcpu-pin-plan', version: 1, guests } });
  const good = () =>
    plan([
      { name: a.name, vcpus: { 0: c1, 1: c0 }, emulator: c0 },
      { name: String(b.pid), vcpus: { 0: c0, 1: c1 } },
    ]);

  it('a bad plan is a coded 4xx and changes no thread of any guest in it', async () => {
    const before = affinities([a, b]);
    const cases: [unknown, number, string][] = [
      // the first guest is fine, the second is not: nothing of the first may change either
      [
        plan([
          { name: a.name, vcpus: { 0: c1 } },
          { name: 'kvt-agentperf-no-such', vcpus: { 0: c0 } },
        ]),
        404,
        'E_GUEST_NOT_FOUND',
      ],
      [
        plan([
          { name: a.name, vcpus: { 0: c1 } },
          { name: b.name, vcpus: { 0: c0, 5: c0 } },
        ]),
        400,
        'E_PIN_NO_VCPU',
      ],
      [
        plan([
          { name: a.name, vcpus: { 0: c1 } },
          { name: b.name, vcpus: { 1: String(online.at(-1)! + 1) } },
        ]),
        400,
        'E_PIN_INVALID',
      ],
      [
        plan([
          { name: a.name, vcpus: { 0: c1 } },
          { name: b.name, vcpus: { 0: c0 }, iothreads: { iot9: c0 } },
        ]),
        400,
        'E_PIN_NO_IOTHREAD',
      ],
      [plan([{ name: a.name, vcpus: { 0: 'zero' } }]), 400, 'E_BAD_CPULIST'],
      [{ plan: { kind: 'kvcpu-pin-plan', version: 2, guests: [{ name: a.name, vcpus: { 0: c1 } }] } }, 400, 'E_BAD_INPUT'],
      [{ plan: { kind: 'something-else', version: 1, guests: [] } }, 400, 'E_BAD_INPUT'],
      [{ ...plan([{ name: a.name, vcpus: { 0: c1 } }]), guest: a.name }, 400, 'E_BAD_INPUT'],
    ];
    let n = 0;
    for (const [body, status, code] of cases) {
      const r = await postJson(agent.port, '/api/v1/pin', body, TEST_TOKEN);
      expect([r.status, errCode(r)], JSON.stringify(body)).toEqual([status, code]);
      expect(affinities([a, b]), JSON.stringify(body)).toEqual(before);
      n++;
    }
    expect(n).toBe(8);
    // without the token the good plan is refused too, before its body is read
    const r = await postJson(agent.port, '/api/v1/pin', good());
    expect([r.status, errCode(r)]).toEqual([401, 'E_UNAUTHORIZED']);
    expect(affinities([a, b])).toEqual(before);
    // dry run: the would-be changes, none made
    const d = await postJson(agent.port, '/api/v1/pin', { ...good(), dryRun: true }, TEST_TOKEN);
    expect(d.status, d.body).toBe(200);
    expect((d.json() as { dryRun: boolean; changes: unknown[] }).changes.length).toBeGreaterThanOrEqual(4);
    expect(affinities([a, b])).toEqual(before);
  });

  it('a good plan pins every guest in it at once; the agent serves it; unpin restores each', async () => {
    const before = affinities([a, b]);
    const r = await postJson(agent.port, '/api/v1/pin', good(), TEST_TOKEN);
    expect(r.status, r.body).toBe(200);
    const out = r.json() as { ok: boolean; changes: { pid: number; tid: number; after: string }[] };
    expect(out.ok).toBe(true);
    expect([allowed(a.pid, vcpuTid(a, 0)), allowed(a.pid, vcpuTid(a, 1)), allowed(b.pid, vcpuTid(b, 0)), allowed(b.pid, vcpuTid(b, 1))]).toEqual([
      c1,
      c0,
      c0,
      c1,
    ]);
    expect(allowed(a.pid, a.pid)).toBe(c0); // the emulator (main) thread
    expect(
      out.changes
        .filter((c) => c.pid === b.pid)
        .map((c) => [c.tid, c.after])
        .sort(),
    ).toEqual(
      [
        [vcpuTid(b, 0), c0],
        [vcpuTid(b, 1), c1],
      ].sort(),
    );
    // The agent's next samples show it: every vCPU with its planned affinity.
    const ga = await withinTwoIntervals(agent, a.pid, (g) => g?.threads.find((t) => t.vcpu === 0)?.affinity === c1);
    expect(ga!.threads.filter((t) => t.role === 'vcpu').map((t) => [t.vcpu, t.affinity])).toEqual([
      [0, c1],
      [1, c0],
    ]);
    for (const g of [a, b]) {
      const u = await postJson(agent.port, '/api/v1/unpin', { guest: g.name }, TEST_TOKEN);
      expect(u.status, u.body).toBe(200);
    }
    expect(affinities([a, b])).toEqual(before);
  });
});

describe.skipIf(!qemuPresent)('POST /api/v1/hotplug on a real guest started with maxcpus > cpus', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startTestAgent({ intervalMs: 500 });
  });
  afterAll(async () => {
    await agent?.stop();
    await stopAllTestGuests();
    removeScratch();
  });

  async function plug(accel: 'kvm' | 'tcg'): Promise<void> {
    const g = await startTestGuest({ prefix: `kvt-agentperf-hp-${accel}`, smp: '1,maxcpus=2', accel });
    const seen = await withinTwoIntervals(agent, g.pid, (x) => x !== undefined);
    expect(seen?.vcpus).toBe(1);
    const threadsBefore = readdirSync(`/proc/${g.pid}/task`).length;
    // no token: refused, nothing plugged
    const denied = await postJson(agent.port, '/api/v1/hotplug', { guest: g.name, to: 2 });
    expect([denied.status, errCode(denied)]).toEqual([401, 'E_UNAUTHORIZED']);
    expect(readdirSync(`/proc/${g.pid}/task`).length).toBe(threadsBefore);
    // past maxcpus: coded 400, nothing plugged
    const over = await postJson(agent.port, '/api/v1/hotplug', { guest: g.name, to: 3 }, TEST_TOKEN);
    expect([over.status, errCode(over)]).toEqual([400, 'E_HOTPLUG_MAX']);
    expect(readdirSync(`/proc/${g.pid}/task`).length).toBe(threadsBefore);

    const r = await postJson(agent.port, '/api/v1/hotplug', { guest: g.name, to: 2 }, TEST_TOKEN);
    expect(r.status, r.body).toBe(200);
    const out = r.json() as { ok: boolean; from: number; to: number; added: { cpuIndex: number; tid: number }[] };
    expect(out).toMatchObject({ ok: true, from: 1, to: 2 });
    expect(out.added.map((x) => x.cpuIndex)).toEqual([1]);
    const tid = out.added[0]!.tid;
    // The new vCPU thread is in /proc under the name QEMU gives it ...
    expect(comm(g.pid, tid)).toBe(`CPU 1/${accel.toUpperCase()}`);
    // ... and in the agent's /api/v1/guests within two intervals, as vCPU 1 with that tid.
    const after = await withinTwoIntervals(agent, g.pid, (x) => x?.vcpus === 2);
    expect(after?.vcpus).toBe(2);
    expect(after!.threads.filter((t) => t.role === 'vcpu').map((t) => [t.vcpu, t.tid])).toEqual([
      [
        0,
        readdirSync(`/proc/${g.pid}/task`)
          .map(Number)
          .find((t) => comm(g.pid, t) === `CPU 0/${accel.toUpperCase()}`),
      ],
      [1, tid],
    ]);
    expect((await raw(agent.port, { path: '/metrics' })).body).toContain(`kvcpu_guest_vcpus{guest="${g.name}"} 2`);
    await g.stop();
  }

  it('KVM: the new CPU 1/KVM thread appears in /proc and in /api/v1/guests', async (ctx) => {
    ctx.skip(!kvmPresent, KVM_SKIP_REASON);
    await plug('kvm');
  });

  it('TCG: the same with CPU 1/TCG', async () => {
    await plug('tcg');
  });
});
