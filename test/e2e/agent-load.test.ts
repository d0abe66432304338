import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { packagePath } from '../../src/core/package-root.ts';
import { readHost } from '../../src/host/read-host.ts';
import { raw, TEST_TOKEN, writeTokenFile } from '../support/agent.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, waitSpinning, type TestGuest } from '../support/guests.ts';

const online = parseCpulist(readHost().cpus.online);
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-agent-load-'));
const stateDir = join(dir, 'state');

const rssKb = (pid: number) => Number(/VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const allowed = (pid: number, tid: number) => /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;

interface Served {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `kvcpu serve` as its own process (the way systemd runs it). */
async function serve(extra: string[] = []): Promise<Served> {
  const token = writeTokenFile(dir, 0o600);
  const child = spawn(
    process.execPath,
    [
      packagePath('bin/kvcpu.js'),
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--interval',
      '0.5',
      '--token-file',
      token,
      '--audit-log',
      join(dir, 'audit.jsonl'),
      ...extra,
    ],
    {
      // A bounded old generation (as MemoryMax in the systemd unit bounds it): a leak would crash the
      // agent (connection errors), and V8 cannot just grow the heap lazily under a fast request loop.
      env: { ...process.env, KVCPU_STATE_DIR: stateDir, NODE_EXTRA_CA_CERTS: '', NODE_OPTIONS: '--max-old-space-size=64' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const end = Date.now() + 30_000;
  while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(err)) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, port: Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]), stderr: () => err, exited };
}

function get(agent: Agent, port: number, path: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ status: -1, ms: performance.now() - t0 }));
    req.end();
  });
}

describe.skipIf(!qemuPresent || online.length < 2)('kvcpu serve under load, slow clients and SIGTERM (real process, real guests)', () => {
  let spin: TestGuest;
  let s: Served;
  beforeAll(async () => {
    spin = await startTestGuest({ prefix: 'kvt-agent-load', smp: '2', spin: true });
    await waitSpinning(spin, 2);
    s = await serve();
  });
  afterAll(async () => {
    if (s && s.child.exitCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
    await stopAllTestGuests();
    removeScratch();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bounded load (10 s, 16 connections) of /metrics and /api/v1/guests while guests start and stop: no errors, no 5xx, memory flat', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<number, number>();
    const lat: number[] = [];
    let stop = false;
    const worker = async (i: number) => {
      for (let n = 0; !stop; n++) {
        const r = await get(agent, s.port, (i + n) % 2 ? '/metrics' : '/api/v1/guests');
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        lat.push(r.ms);
      }
    };
    const churn = async () => {
      let cycles = 0;
      while (!stop) {
        const g = await startTestGuest({ prefix: 'kvt-agent-churn', smp: '1' });
        await new Promise((r) => setTimeout(r, 700));
        await g.stop();
        cycles++;
      }
      return cycles;
    };
    const t0 = performance.now();
    const work = [...Array(16).keys()].map(worker);
    const churning = churn();
    await new Promise((r) => setTimeout(r, 2000));
    const rssWarm = rssKb(s.child.pid!);
    await new Promise((r) => setTimeout(r, 8000));
    stop = true;
    await Promise.all(work);
    const cycles = await churning;
    const seconds = (performance.now() - t0) / 1000;
    const rssEnd = rssKb(s.child.pid!);
    agent.destroy();
    lat.sort((a, b) => a - b);
    const total = lat.length;
    const figures = {
      requests: total,
      perSecond: Math.round(total / seconds),
      p50ms: +lat[Math.floor(total * 0.5)]!.toFixed(1),
      p99ms: +lat[Math.floor(total * 0.99)]!.toFixed(1),
      guestCycles: cycles,
      rssWarmMiB: +(rssWarm / 1024).toFixed(1),
      rssEndMiB: +(rssEnd / 1024).toFixed(1),
      statuses: Object.fromEntries(statuses),
    };
    console.log(`agent load: ${JSON.stringify(figures)}`);
    expect([...statuses.keys()]).toEqual([200]);
    expect(total).toBeGreaterThan(100);
    expect(cycles).toBeGreaterThan(1);
    // Flat: no more than 32 MiB over the warmed-up size after thousands of requests.
    expect(rssEnd - rssWarm).toBeLessThan(32 * 1024);
  }, 60_000);

  it('500 slow clients (half-sent headers, idle keep-alives) do not stop scrapes', async () => {
    const socks: Socket[] = [];
    await Promise.all(
      [...Array(500).keys()].map(
        (i) =>
          new Promise<void>((resolve) => {
            const c = connect(s.port, '127.0.0.1', () => {
              c.write(i % 2 ? `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nX-Slow: ` : '');
              resolve();
            });
            c.on('error', () => resolve());
            socks.push(c);
          }),
      ),
    );
    try {
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const r = await raw(s.port, { path: '/metrics' });
        expect(r.status).toBe(200);
        expect(r.body).toContain('kvcpu_build_info');
        expect(performance.now() - t0).toBeLessThan(1000);
      }
    } finally {
      for (const c of socks) c.destroy();
    }
  });

  it('SIGTERM during a pin request: the request finishes (applied, audited), then the agent exits 0', async () => {
    const snap = (await raw(s.port, { path: '/api/v1/guests' })).json() as {
      guests: { pid: number; threads: { tid: number; role: string; vcpu: number | null }[] }[];
    };
    const g = snap.guests.find((x) => x.pid === spin.pid)!;
    const tid = g.threads.find((t) => t.role === 'vcpu' && t.vcpu === 0)!.tid;
    const target = String(online[1]);
    const body = JSON.stringify({ guest: spin.name, vcpus: { 0: target } });
    const res = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: s.port,
          method: 'POST',
          path: '/api/v1/pin',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${TEST_TOKEN}` },
        },
        (r) => {
          let b = '';
          r.on('data', (d: Buffer) => (b += d.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b }));
        },
      );
      req.on('error', reject);
      // Half the body, then SIGTERM, then the rest: the signal lands while the request is in flight.
      req.write(body.slice(0, 10));
      setTimeout(() => {
        s.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const r = await res;
    expect(r.status, r.body).toBe(200);
    expect(allowed(spin.pid, tid)).toBe(target);
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toMatch(/SIGTERM: finishing running requests[\s\S]*stopped/);
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: string; changes?: { tid: number; after: string }[] });
    expect(audit.at(-1)).toMatchObject({ outcome: 'applied', changes: [{ tid, after: target }] });
    expect(s.stderr()).not.toContain(TEST_TOKEN);
  });
});
