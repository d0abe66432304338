import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { readHost } from '../../src/host/read-host.ts';
import { postJson, raw, startTestAgent, TEST_TOKEN, type TestAgent } from '../support/agent.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, waitSpinning, type TestGuest } from '../support/guests.ts';
import { prometheusPresent, startPrometheus } from '../support/prometheus.ts';

const online = parseCpulist(readHost().cpus.online);
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-agent-pinstate-'));
process.env.KVCPU_STATE_DIR = stateDir;

const allowed = (pid: number, tid: number) => /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
const comm = (pid: number, tid: number) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();

interface ApiThread {
  tid: number;
  comm: string;
  role: string;
  vcpu: number | null;
  affinity: string;
  psr: number | null;
}
interface ApiGuest {
  pid: number;
  name: string;
  vcpus: number;
  threads: ApiThread[];
}

async function ourGuests(agent: TestAgent, gs: TestGuest[]): Promise<ApiGuest[]> {
  await agent.sampler.sampleNow();
  const body = (await raw(agent.port, { path: '/api/v1/guests' })).json() as { guests: ApiGuest[] };
  // Other helpers' guests run on this machine: only ours count.
  return body.guests.filter((g) => gs.some((t) => t.pid === g.pid)).sort((a, b) => a.pid - b.pid);
}
const vcpuTid = (g: ApiGuest, n: number) => g.threads.find((t) => t.role === 'vcpu' && t.vcpu === n)!.tid;

describe.skipIf(!qemuPresent || online.length < 2)('kvcpu serve API on real QEMU guests (TCG)', () => {
  let spin: TestGuest;
  let idle: TestGuest;
  let agent: TestAgent;

  beforeAll(async () => {
    [spin, idle] = await Promise.all([
      startTestGuest({ prefix: 'kvt-agent-spin', smp: '2', spin: true }),
      startTestGuest({ prefix: 'kvt-agent-idle', smp: '2' }),
    ]);
    await waitSpinning(spin, 2);
    agent = await startTestAgent({ intervalMs: 500 });
  });
  afterAll(async () => {
    await agent?.stop();
    await stopAllTestGuests();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('/api/v1/guests equals /proc: every thread, its name, role and affinity', async () => {
    const gs = await ourGuests(agent, [spin, idle]);
    expect(gs.map((g) => g.name)).toEqual([spin, idle].sort((a, b) => a.pid - b.pid).map((g) => g.name));
    for (const g of gs) {
      expect(g.vcpus).toBe(2);
      const procTids = readdirSync(`/proc/${g.pid}/task`)
        .map(Number)
        .sort((a, b) => a - b);
      expect(g.threads.map((t) => t.tid).sort((a, b) => a - b)).toEqual(procTids);
      for (const t of g.threads) {
        expect(t.comm).toBe(comm(g.pid, t.tid));
        expect(t.affinity).toBe(allowed(g.pid, t.tid));
        if (/^CPU (\d+)\/TCG$/.test(t.comm)) expect([t.role, t.vcpu]).toEqual(['vcpu', Number(/^CPU (\d+)/.exec(t.comm)![1])]);
      }
    }
  });

  it('pin without a token (or a wrong one) is 401 and changes nothing; with the token it pins, audits and unpins', async () => {
    const [g] = (await ourGuests(agent, [spin])) as [ApiGuest];
    const t0 = vcpuTid(g, 0);
    const t1 = vcpuTid(g, 1);
    const before = [allowed(g.pid, t0), allowed(g.pid, t1)];
    const body = { guest: spin.name, vcpus: { 0: String(online[1]), 1: String(online[0]) } };
    expect((await postJson(agent.port, '/api/v1/pin', body)).status).toBe(401);
    expect((await postJson(agent.port, '/api/v1/pin', body, 'x'.repeat(40))).status).toBe(401);
    expect([allowed(g.pid, t0), allowed(g.pid, t1)]).toEqual(before);

    const r = await postJson(agent.port, '/api/v1/pin', body, TEST_TOKEN);
    expect(r.status, r.body).toBe(200);
    const out = r.json() as { ok: boolean; changes: { tid: number; before: string; after: string }[] };
    expect(out.ok).toBe(true);
    expect(out.changes.map((c) => [c.tid, c.after]).sort()).toEqual(
      [
        [t0, String(online[1])],
        [t1, String(online[0])],
      ].sort(),
    );
    expect([allowed(g.pid, t0), allowed(g.pid, t1)]).toEqual([String(online[1]), String(online[0])]);
    // The next sample (taken right after the action) shows it.
    const [after] = (await ourGuests(agent, [spin])) as [ApiGuest];
    expect(after.threads.find((t) => t.tid === t0)!.affinity).toBe(String(online[1]));

    const audit = readFileSync(agent.auditPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; outcome: string; changes?: { tid: number; before: string; after: string }[]; who: { remote: string } });
    const applied = audit.filter((e) => e.action === 'pin' && e.outcome === 'applied');
    expect(applied).toHaveLength(1);
    expect(applied[0]!.who.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(applied[0]!.changes!.find((c) => c.tid === t0)).toMatchObject({ before: before[0], after: String(online[1]) });
    expect(audit.filter((e) => e.outcome === 'denied')).toHaveLength(2);

    expect((await postJson(agent.port, '/api/v1/unpin', { guest: spin.name })).status).toBe(401);
    expect(allowed(g.pid, t0)).toBe(String(online[1]));
    const u = await postJson(agent.port, '/api/v1/unpin', { guest: spin.name }, TEST_TOKEN);
    expect(u.status, u.body).toBe(200);
    expect([allowed(g.pid, t0), allowed(g.pid, t1)]).toEqual(before);
  });

  it('bad action bodies get coded 4xx and leave every thread as it was (all or nothing)', async () => {
    const [g] = (await ourGuests(agent, [idle])) as [ApiGuest];
    const before = g.threads.map((t) => allowed(g.pid, t.tid));
    const cases: [unknown, number, string][] = [
      [{ guest: idle.name, vcpus: { 0: '0', 7: '0' } }, 400, 'E_PIN_NO_VCPU'],
      [{ guest: idle.name, vcpus: { 0: '0', 1: String(online.at(-1)! + 1) } }, 400, 'E_PIN_INVALID'],
      [{ guest: idle.name, vcpus: { 0: '0' }, iothreads: { nope: '0' } }, 400, 'E_PIN_NO_IOTHREAD'],
      [{ guest: 'kvt-agent-no-such', vcpus: { 0: '0' } }, 404, 'E_GUEST_NOT_FOUND'],
      [{ guest: idle.name, vcpus: { 0: '0' }, viaLibvirt: true }, 400, 'E_NOT_LIBVIRT'],
      [{ guest: idle.name, vcpus: { 0: '99999999999999999999' } }, 400, 'E_BAD_INPUT'],
      [{ guest: idle.name }, 400, 'E_BAD_INPUT'],
    ];
    for (const [body, status, code] of cases) {
      const r = await postJson(agent.port, '/api/v1/pin', body, TEST_TOKEN);
      expect([r.status, (r.json() as { error: { code: string } }).error.code], JSON.stringify(body)).toEqual([status, code]);
    }
    const u = await postJson(agent.port, '/api/v1/unpin', { guest: idle.name }, TEST_TOKEN);
    expect([u.status, (u.json() as { error: { code: string } }).error.code]).toEqual([404, 'E_UNPIN_NO_STATE']);
    const h = await postJson(agent.port, '/api/v1/hotplug', { guest: idle.name, to: 9 }, TEST_TOKEN);
    expect(h.status).toBeGreaterThanOrEqual(400);
    expect(h.status).toBeLessThan(500);
    expect(g.threads.map((t) => allowed(g.pid, t.tid))).toEqual(before);
  });

  it.skipIf(spawnSync('promtool', ['--version']).status !== 0)('live /metrics passes promtool check metrics and counts our vCPUs', async () => {
    const text = (await raw(agent.port, { path: '/metrics' })).body;
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
    for (const g of [spin, idle]) {
      expect(text).toContain(`kvcpu_guest_vcpus{guest="${g.name}"} 2`);
      expect(text).toMatch(new RegExp(`kvcpu_vcpu_cpu\\{guest="${g.name}",vcpu="1"\\} \\d+`));
    }
  });

  it.skipIf(!prometheusPresent)("a real Prometheus scrapes the agent; PromQL returns the guests' vCPU count", async () => {
    const prom = await startPrometheus(`127.0.0.1:${agent.port}`);
    try {
      const q = `sum(kvcpu_guest_vcpus{guest=~"${spin.name}|${idle.name}"})`;
      let value: string | undefined;
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        value = (await prom.query(q))[0]?.value[1];
        if (value === '4') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(value).toBe('4');
      const up = await prom.query('up{job="kvcpu"}');
      expect(up[0]?.value[1]).toBe('1');
      const pinned = await prom.query(`count(kvcpu_vcpu_pinned{guest="${spin.name}"})`);
      expect(pinned[0]?.value[1]).toBe('2');
    } finally {
      await prom.stop();
    }
  });
});
