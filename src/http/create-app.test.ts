import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorBodySchema, PinBodySchema } from '../app/api-schemas.ts';
import { readHost } from '../host/read-host.ts';
import { buildReport } from '../app/report.ts';
import { REPORT_SCHEMA_ID, ReportSchema } from '../app/report-schema.ts';
import { isKvcpuError } from '../core/errors.ts';
import { loadToken, tokenMatches } from './token.ts';
import { postJson, raw, startTestAgent, TEST_TOKEN, writeTokenFile, type RawResponse, type TestAgent } from '../../test/support/agent.ts';

function expectError(r: RawResponse, status: number, code: string): void {
  expect(r.status, r.body).toBe(status);
  const body = ErrorBodySchema.parse(r.json());
  expect(body.error.code).toBe(code);
  expect(r.body).not.toMatch(/\n\s+at |\.ts:\d+/); // never a stack trace
  expect(r.headers['access-control-allow-origin']).toBeUndefined();
}

describe('agent HTTP guards and API on the live host (real sockets)', () => {
  let agent: TestAgent;
  let ro: TestAgent;
  beforeAll(async () => {
    agent = await startTestAgent();
    ro = await startTestAgent({ token: null });
  });
  afterAll(async () => {
    await agent.stop();
    await ro.stop();
  });

  it('GET /api/v1/host is this host (same snapshot shape as `kvcpu host --json`)', async () => {
    const r = await raw(agent.port, { path: '/api/v1/host' });
    expect(r.status).toBe(200);
    const h = r.json() as ReturnType<typeof readHost>;
    expect(h.cpus.online).toBe(readHost().cpus.online);
    expect(h.perCpu.length).toBe(readHost().perCpu.length);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it("GET /api/v1/report is a kvcpu/report/1 document with the CLI report's sections", async () => {
    const r = (await raw(agent.port, { path: '/api/v1/report' })).json() as { schema: string; sections: Record<string, { data: unknown }> };
    const doc = ReportSchema.parse(r);
    expect(doc.schema).toBe(REPORT_SCHEMA_ID);
    const cli = await buildReport({ kvcpuVersion: '0.1.0' });
    expect(Object.keys(r.sections)).toEqual(Object.keys(cli.report.sections));
    const hostData = (s: unknown) => {
      const { identity, features, cpus } = s as { identity: unknown; features: unknown; cpus: unknown };
      return { identity, features, cpus };
    };
    expect(hostData(r.sections.host!.data)).toEqual(hostData(cli.report.sections.host!.data));
  });

  it('refuses a Host header that is not the listen address (DNS rebinding), accepts loopback names', async () => {
    expectError(await raw(agent.port, { path: '/api/v1/host', headers: { host: `evil.example:${agent.port}` } }), 421, 'E_BAD_HOST');
    expectError(await raw(agent.port, { path: '/metrics', headers: { host: `127.0.0.1:${agent.port + 1}` } }), 421, 'E_BAD_HOST');
    expect((await raw(agent.port, { path: '/api/v1/host', headers: { host: `localhost:${agent.port}` } })).status).toBe(200);
    expect((await raw(agent.port, { path: '/api/v1/host', headers: { host: `[::1]:${agent.port}` } })).status).toBe(200);
  });

  it('sends no CORS headers: a preflight gets 405, a foreign Origin cannot POST even with the token', async () => {
    const pre = await raw(agent.port, {
      method: 'OPTIONS',
      path: '/api/v1/pin',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expectError(pre, 405, 'E_METHOD_NOT_ALLOWED');
    const get = await raw(agent.port, { path: '/api/v1/guests', headers: { origin: 'http://evil.example' } });
    expect(get.status).toBe(200);
    expect(Object.keys(get.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const post = await raw(agent.port, {
      method: 'POST',
      path: '/api/v1/unpin',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
      body: '{"guest":"x"}',
    });
    expectError(post, 403, 'E_BAD_ORIGIN');
  });

  it('bounds bodies and headers: 413 over 64 KiB, 431 for 20 KiB of headers', async () => {
    const big = JSON.stringify({ guest: 'x', vcpus: { 0: '1' }, pad: 'x'.repeat(70_000) });
    expectError(await postJson(agent.port, '/api/v1/pin', big, TEST_TOKEN), 413, 'E_BODY_TOO_LARGE');
    const r = await raw(agent.port, { path: '/api/v1/host', headers: { 'x-big': 'y'.repeat(20_000) } });
    expect(r.status).toBe(431);
  });

  it('validates every body: media type, JSON, schema, bounded cpulists (no hang on huge numbers)', async () => {
    expectError(
      await raw(agent.port, {
        method: 'POST',
        path: '/api/v1/pin',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${TEST_TOKEN}` },
        body: '{}',
      }),
      415,
      'E_UNSUPPORTED_MEDIA',
    );
    expectError(await postJson(agent.port, '/api/v1/pin', '{"guest":', TEST_TOKEN), 400, 'E_BAD_JSON');
    const t0 = performance.now();
    for (const bad of [
      { guest: 'x', vcpus: { 0: '99999999999999999999999' } },
      { guest: 'x', vcpus: { 0: '0-4294967295' } },
      { guest: 'x', emulator: '3-1' },
      { guest: 'x', vcpus: { a: '1' } },
      { guest: 'x', vcpus: { 0: '1' }, extra: true },
      { guest: 'a\u0000b', vcpus: { 0: '1' } },
      { guest: 'x', plan: { kind: 'kvcpu-pin-plan', version: 1, guests: [] } },
      [],
      null,
    ]) {
      const r = await postJson(agent.port, '/api/v1/pin', bad, TEST_TOKEN);
      expectError(r, 400, 'E_BAD_INPUT');
      expect((ErrorBodySchema.parse(r.json()).error.details as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    }
    expectError(await postJson(agent.port, '/api/v1/hotplug', { guest: 'x', to: 0 }, TEST_TOKEN), 400, 'E_BAD_INPUT');
    expectError(await postJson(agent.port, '/api/v1/unpin', { guest: '' }, TEST_TOKEN), 400, 'E_BAD_INPUT');
    expectError(await postJson(agent.port, '/api/v1/plan', { guests: [{ vcpus: 0 }] }), 400, 'E_BAD_INPUT');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('actions: 401 without or with a wrong token, 403 on a read-only agent; audited without the token', async () => {
    const none = await postJson(agent.port, '/api/v1/unpin', { guest: 'no-such-guest' });
    expectError(none, 401, 'E_UNAUTHORIZED');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expectError(await postJson(agent.port, '/api/v1/unpin', { guest: 'no-such-guest' }, TEST_TOKEN.replace(/.$/, 'X')), 401, 'E_UNAUTHORIZED');
    expectError(await postJson(ro.port, '/api/v1/pin', { guest: 'no-such-guest', vcpus: { 0: '0' } }, TEST_TOKEN), 403, 'E_READ_ONLY');
    // With the token the request runs and fails on the (absent) guest: 404, nothing changed.
    expectError(await postJson(agent.port, '/api/v1/pin', { guest: 'kvt-agent-no-such-guest', vcpus: { 0: '0' } }, TEST_TOKEN), 404, 'E_GUEST_NOT_FOUND');
    const audit = readFileSync(agent.auditPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; outcome: string; error?: { code: string } });
    expect(audit.filter((e) => e.outcome === 'denied').map((e) => e.error!.code)).toEqual(['E_UNAUTHORIZED', 'E_UNAUTHORIZED']);
    expect(audit.some((e) => e.outcome === 'refused' && e.error!.code === 'E_GUEST_NOT_FOUND')).toBe(true);
    expect(readFileSync(agent.auditPath, 'utf8')).not.toContain(TEST_TOKEN);
    expect(readFileSync(agent.auditPath, 'utf8')).not.toContain(TEST_TOKEN.slice(0, 20));
  });

  it('guest names are data, never shell or paths: `$(touch …)` and `../../x` are just unknown guests', async () => {
    const marker = join(tmpdir(), `kvcpu-agent-shell-${process.pid}`);
    for (const guest of [`$(touch ${marker})`, '../../x', '`touch ' + marker + '`', 'a;touch ' + marker]) {
      for (const [path, body] of [
        ['/api/v1/pin', { guest, vcpus: { 0: '0' } }],
        ['/api/v1/unpin', { guest }],
        ['/api/v1/hotplug', { guest, to: 2 }],
      ] as const) {
        expectError(await postJson(agent.port, path, body, TEST_TOKEN), 404, 'E_GUEST_NOT_FOUND');
      }
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('unknown routes are JSON 404; POST /api/v1/plan plans and changes nothing', async () => {
    expectError(await raw(agent.port, { path: '/api/v1/nope' }), 404, 'E_NOT_FOUND');
    const r = await postJson(agent.port, '/api/v1/plan', {
      guests: [
        { name: 'g1', vcpus: 1, policy: 'dedicated' },
        { name: 'g2', vcpus: 1, policy: 'shared' },
      ],
    });
    expect(r.status, r.body).toBe(200);
    const plan = r.json() as { kind: string; guests: { name: string; vcpus: Record<string, string> }[] };
    expect(plan.kind).toBe('kvcpu-pin-plan');
    expect(plan.guests.map((g) => g.name)).toEqual(['g1', 'g2']);
    expect(Object.keys(plan.guests[0]!.vcpus)).toEqual(['0']);
  });

  it('the OpenAPI document is generated from the zod schemas the handlers use', async () => {
    const doc = (await raw(agent.port, { path: '/api/v1/openapi.json' })).json() as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['report', 'host', 'checks', 'guests', 'overcommit', 'models', 'plan', 'pin', 'unpin', 'hotplug', 'events'])
      expect(doc.paths).toHaveProperty(`/api/v1/${p}`);
    const gen = z.toJSONSchema(PinBodySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    delete gen.$schema;
    expect(doc.components.schemas.PinRequest).toEqual(gen);
  });

  it('GET /api/v1/events streams one `sample` event per new sample', async () => {
    const events: { seq: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const sock = connect(agent.port, '127.0.0.1', () => sock.write(`GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${agent.port}\r\n\r\n`));
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        for (const m of buf.matchAll(/event: sample\ndata: (.*)\nid: \d+\n\n/g))
          if (!events.some((e) => e.seq === (JSON.parse(m[1]!) as { seq: number }).seq)) events.push(JSON.parse(m[1]!) as { seq: number });
        if (events.length >= 3) {
          sock.destroy();
          resolve();
        }
      });
      sock.on('error', reject);
      setTimeout(() => reject(new Error(`only ${events.length} events: ${buf.slice(0, 300)}`)), 5000);
    });
    expect(events[1]!.seq).toBe(events[0]!.seq + 1);
    expect(events[2]!.seq).toBe(events[1]!.seq + 1);
  });
});

describe('token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-token-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused when group or others can read it, accepted at 0600 or 0400', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      const p = writeTokenFile(dir, mode);
      chmodSync(p, mode);
      try {
        loadToken(p);
        expect.unreachable(`mode ${mode.toString(8)} accepted`);
      } catch (e) {
        expect(isKvcpuError(e) && e.code).toBe('E_TOKEN_FILE_MODE');
      }
    }
    expect(loadToken(writeTokenFile(dir, 0o600))).toBe(TEST_TOKEN);
    expect(loadToken(writeTokenFile(dir, 0o400))).toBe(TEST_TOKEN);
    expect(() => loadToken(writeTokenFile(dir, 0o600, 'short'))).toThrow(expect.objectContaining({ code: 'E_TOKEN_WEAK' }));
    expect(() => loadToken(join(dir, 'absent'))).toThrow(expect.objectContaining({ code: 'E_TOKEN_FILE' }));
  });

  it('compares in constant time and exactly', () => {
    expect(tokenMatches(TEST_TOKEN, TEST_TOKEN)).toBe(true);
    expect(tokenMatches(TEST_TOKEN + 'x', TEST_TOKEN)).toBe(false);
    expect(tokenMatches(TEST_TOKEN.slice(0, -1), TEST_TOKEN)).toBe(false);
    expect(tokenMatches('', TEST_TOKEN)).toBe(false);
  });
});
