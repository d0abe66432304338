// The fleet server over real HTTP on loopback: agents' pushes (with and without the token), bad
// input, queries, an agent pushing through an outage, two replicas on one PostgreSQL, and the
// dashboard in Debian's Chromium.
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCpuMap } from '../../src/cpu-baseline/read-cpu-map.ts';
import { indexCpuMap } from '../../src/cpu-baseline/x86-map.ts';
import { startAgent } from '../../src/http/start-agent.ts';
import { startFleetServer, type RunningFleetServer } from '../../src/http/start-fleet-server.ts';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../support/postgres.ts';
import { runCli } from '../support/run-cli.ts';

const x = indexCpuMap(loadCpuMap({ source: 'auto' }));
const TOKEN = 'f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7';
const pgWhy = postgresUnavailable();
if (pgWhy && process.env.CI) throw new Error(`CI must run the fleet replica test on PostgreSQL: ${pgWhy}`);

let work: string;
let tokenFile: string;
let report: Record<string, unknown>;
let fleet: RunningFleetServer;
let pg: TestPostgres | null = null;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => resolve(a.port));
    });
  });
}

function withHost(name: string, machineId: string | null = null): Record<string, unknown> {
  const r = structuredClone(report);
  r.host = { hostname: name, machineId };
  return r;
}

async function push(url: string, body: unknown, token: string | null = TOKEN, extra: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/v1/fleet/reports${extra.query ?? ''}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { ok?: boolean; error?: { code: string } } };
}

const names = async (url: string) => ((await (await fetch(`${url}/api/v1/fleet/hosts`)).json()) as { hosts: { name: string }[] }).hosts.map((h) => h.name);

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'kvcpu-fleet-srv-'));
  tokenFile = path.join(work, 'token');
  writeFileSync(tokenFile, TOKEN + '\n');
  chmodSync(tokenFile, 0o600);
  const r = await runCli(['report', '--json', '--only', 'host,checks', '--root', 'test/fixtures/hosts/old-kernel-hexmask-2s2c2t']);
  report = JSON.parse(r.out) as Record<string, unknown>;
  fleet = await startFleetServer({ db: path.join(work, 'fleet.db'), host: '127.0.0.1', port: 0, token: TOKEN, x, version: 'test', log: () => undefined });
  if (!pgWhy) pg = await startPostgres();
}, 120_000);

afterAll(async () => {
  await fleet?.close();
  await pg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('fleet server', () => {
  it('takes a report only with the token; without it nothing is stored', async () => {
    expect((await push(fleet.url, withHost('web-01'), null)).status).toBe(401);
    expect((await push(fleet.url, withHost('web-01'), 'wrong-token-wrong-token-wrong-token')).body.error?.code).toBe('E_UNAUTHORIZED');
    expect(await names(fleet.url)).not.toContain('web-01');
    const ok = await push(fleet.url, withHost('web-01', 'aaaa1111'));
    expect(ok.status).toBe(201);
    expect(await names(fleet.url)).toContain('web-01');
    // The same report again is a no-op (200, not stored twice).
    expect((await push(fleet.url, withHost('web-01', 'aaaa1111'))).status).toBe(200);
    const host = (await (await fetch(`${fleet.url}/api/v1/fleet/hosts/web-01`)).json()) as { host: { reports: number } };
    expect(host.host.reports).toBe(1);
  });

  it('refuses bad input with a coded 4xx and stores nothing of it', async () => {
    const before = await names(fleet.url);
    expect((await push(fleet.url, '{"sections": ')).body.error?.code).toBe('E_BAD_JSON');
    expect((await push(fleet.url, { ...withHost('bad-1'), schema: 'kvcpu/report/9' })).body.error?.code).toBe('E_FLEET_BAD_REPORT');
    const broken = withHost('bad-2');
    (broken.sections as Record<string, { data: Record<string, unknown> }>).host!.data.perCpu = 'nope';
    const r = await push(fleet.url, broken);
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('E_FLEET_BAD_REPORT');
    const huge = JSON.stringify({ ...withHost('bad-3'), padding: 'x'.repeat(5 * 1024 * 1024) });
    expect((await push(fleet.url, huge)).status).toBe(413);
    // Another host's machine-id: refused (409) unless the push says it is a rename.
    const liar = await push(fleet.url, withHost('web-02', 'aaaa1111'));
    expect([liar.status, liar.body.error?.code]).toEqual([409, 'E_FLEET_MACHINE_ID_TAKEN']);
    // A host name that looks like SQL is just a name.
    expect((await push(fleet.url, withHost("db'); DELETE FROM hosts; --"))).status).toBe(201);
    const after = await names(fleet.url);
    expect(after.filter((n) => !before.includes(n))).toEqual(["db'); DELETE FROM hosts; --"]);
    // DNS rebinding: a request through another name is refused before any route.
    // (fetch may not set Host: node:http can.)
    const rebind = await new Promise<number>((resolve, reject) => {
      const req = request(`${fleet.url}/api/v1/fleet/hosts`, { headers: { Host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebind).toBe(421);
    const put = await fetch(`${fleet.url}/api/v1/fleet/hosts`, { method: 'DELETE' });
    expect(put.status).toBe(405);
  });

  it('answers pools, baseline, placement and health from the store', async () => {
    const pools = (await (await fetch(`${fleet.url}/api/v1/fleet/pools`)).json()) as {
      pools: { hostCount: number; rendered: { qemu: string } }[];
      hosts: number;
    };
    expect(pools.hosts).toBe((await names(fleet.url)).length);
    expect(pools.pools.reduce((s, p) => s + p.hostCount, 0)).toBe(pools.hosts);
    const bl = await fetch(`${fleet.url}/api/v1/fleet/baseline?hosts=web-01&format=qemu`);
    expect(bl.status).toBe(200);
    const direct = await runCli(['fleet', 'baseline', '--db', path.join(work, 'fleet.db'), '--hosts', 'web-01', '--format', 'qemu']);
    expect(await bl.text()).toBe(direct.out);
    const place = (await (await fetch(`${fleet.url}/api/v1/fleet/placement?vcpus=4`)).json()) as { candidates: { host: string; fits: boolean }[] };
    expect(place.candidates.find((c) => c.host === 'web-01')?.fits).toBe(true);
    const tooBig = (await (await fetch(`${fleet.url}/api/v1/fleet/placement?vcpus=64`)).json()) as { fitting: number };
    expect(tooBig.fitting).toBe(0);
    const bad = await fetch(`${fleet.url}/api/v1/fleet/hosts?where=colour%3Dred`);
    expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([400, 'E_FLEET_BAD_WHERE']);
    const health = (await (await fetch(`${fleet.url}/api/v1/fleet/health`)).json()) as { hosts: number; stale: string[] };
    expect(health.stale).toEqual([]);
  });

  it('an agent pushes its report, keeps retrying while the fleet server is down, and gets through when it is back', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const agent = await startAgent({
      host: '127.0.0.1',
      port: 0,
      intervalMs: 500,
      token: null,
      auditLog: null,
      log: () => undefined,
      fleet: { url, token: TOKEN, intervalMs: 60_000, minBackoffMs: 200 },
    });
    let second: RunningFleetServer | null = null;
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect(agent.pusher!.state.failures).toBeGreaterThan(0);
      expect(agent.pusher!.state.pushed).toBe(0);
      second = await startFleetServer({ db: path.join(work, 'second.db'), host: '127.0.0.1', port, token: TOKEN, x, version: 'test', log: () => undefined });
      const deadline = Date.now() + 15_000;
      while (agent.pusher!.state.pushed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(agent.pusher!.state.pushed).toBeGreaterThan(0);
      const stored = await names(url);
      expect(stored).toHaveLength(1);
      // The pushed row is the agent's own report of this host.
      const agentReport = (await (await fetch(`${agent.url}/api/v1/report`)).json()) as { host: { hostname: string } };
      expect(stored[0]).toBe(agentReport.host.hostname);
    } finally {
      await agent.close();
      await second?.close();
    }
  }, 60_000);

  it.skipIf(pgWhy !== null)('two fleet servers on one PostgreSQL: a report pushed to one is served by the other', async () => {
    const db = await pg!.newDatabase();
    const a = await startFleetServer({ db, host: '127.0.0.1', port: 0, token: TOKEN, x, version: 'test', log: () => undefined });
    const b = await startFleetServer({ db, host: '127.0.0.1', port: 0, token: TOKEN, x, version: 'test', log: () => undefined });
    try {
      expect((await push(a.url, withHost('replicated-01'))).status).toBe(201);
      expect(await names(b.url)).toEqual(['replicated-01']);
      const page = await (await fetch(`${b.url}/`)).text();
      expect(page).toContain('data-host="replicated-01"');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.skipIf(!existsSync('/usr/bin/chromium'))(
    'dashboard in Chromium: hosts table, pools, feature matrix, and a host’s CPU map',
    async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        await page.goto(`${fleet.url}/`);
        const rows = await page.locator('#hosts tbody tr').count();
        expect(rows).toBe((await names(fleet.url)).length);
        expect(await page.locator('.pool').count()).toBeGreaterThan(0);
        expect(await page.locator('#matrix tbody tr').count()).toBeGreaterThan(0);
        // Sorting by features descending puts the largest first.
        await page.click('th a:has-text("Features")');
        await page.click('th a:has-text("Features")');
        expect(page.url()).toContain('dir=desc');
        await page.fill('#where', 'name=web-*');
        await page.click('button[type=submit]');
        expect(await page.locator('#hosts tbody tr').count()).toBe(1);
        await page.click('a:has-text("web-01")');
        // old-kernel-hexmask-2s2c2t: 8 CPUs, one tile each.
        expect(await page.locator('[data-cpu]').count()).toBe(8);
        await page.screenshot({ path: path.join(work, 'fleet-host.png') });
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
