import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { guestCpuFromString, placeGuest } from '../app/fleet-placement.ts';
import {
  DEFAULT_STALE_AFTER_MS,
  filterHosts,
  fleetBaseline,
  fleetHealth,
  fleetPools,
  isStale,
  parseWhere,
  qemuModelNames,
  renderBaselineForms,
  type FleetHost,
} from '../app/fleet-query.ts';
import { recordsFromReport } from '../app/read-fleet-input.ts';
import { KvcpuError, type ErrorCode } from '../core/errors.ts';
import { baselineJson } from '../cpu-baseline/render-baseline.ts';
import type { X86Map } from '../cpu-baseline/x86-map.ts';
import { guestFromRecord } from '../plan/parse-guest-spec.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import { loadFleetHosts, pickHosts } from '../store/load-fleet.ts';
import { quoteControl } from './errors.ts';
import { installGuards } from './guards.ts';
import { tokenMatches } from './token.ts';

/** A pushed report: a whole `kvcpu report --json`, a few hundred kB for a host with many guests. */
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;

export interface FleetAppDeps {
  store: FleetStore;
  x: X86Map;
  /** Bearer token agents push with; null = the fleet server only answers reads. */
  token: string | null;
  hostAllowed: (host: string | undefined) => boolean;
  staleAfterMs?: number;
  version: string;
  log?: (line: string) => void;
  extend?: (app: Hono, deps: FleetAppDeps, hosts: () => Promise<FleetHost[]>) => void;
}

function fail(code: ErrorCode, message: string, hint: string): never {
  throw new KvcpuError(code, message, { hint });
}

const QuerySchema = z.object({
  where: z.string().max(2000).optional(),
  hosts: z.string().max(200_000).optional(),
});

function requireToken(c: Context, token: string | null): void {
  if (token === null)
    fail('E_READ_ONLY', 'this fleet server takes no reports: it was started without --token-file', 'start `kvcpu fleet serve` with --token-file');
  const h = c.req.header('authorization') ?? '';
  const m = /^Bearer (\S+)$/.exec(h);
  if (!m || !tokenMatches(m[1]!, token)) {
    c.header('WWW-Authenticate', 'Bearer realm="kvcpu-fleet"');
    fail('E_UNAUTHORIZED', 'missing or wrong bearer token', 'send Authorization: Bearer <the --token-file content>');
  }
}

/**
 * The fleet server's HTTP app: agents push reports (token), everyone reads hosts, pools,
 * baselines, placement and health. It keeps nothing outside the store, so any number of
 * replicas can answer from one PostgreSQL database.
 */
export function createFleetApp(deps: FleetAppDeps): Hono {
  const app = new Hono();
  const log = deps.log ?? ((l: string) => process.stderr.write(`kvcpu fleet serve: ${l}\n`));
  const staleAfter = deps.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  installGuards(app, {
    hostAllowed: deps.hostAllowed,
    maxBodyBytes: MAX_REPORT_BYTES,
    bodyHint: 'push one host report per request',
    who: 'this fleet server',
    log,
  });
  const all = () => loadFleetHosts(deps.store);
  const select = async (c: Context): Promise<FleetHost[]> => {
    const q = QuerySchema.safeParse(c.req.query());
    if (!q.success) fail('E_BAD_INPUT', 'query parameters too long', 'filter with where=...');
    const hosts = await all();
    const picked = q.data.hosts
      ? pickHosts(
          hosts,
          q.data.hosts
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        )
      : hosts;
    return filterHosts(picked, parseWhere(q.data.where), { staleAfterMs: staleAfter });
  };

  app.post('/api/v1/fleet/reports', async (c) => {
    requireToken(c, deps.token);
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type))
      fail('E_UNSUPPORTED_MEDIA', `report must be application/json, not ${quoteControl(type) || 'missing'}`, 'send Content-Type: application/json');
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (e) {
      fail('E_BAD_JSON', `report is not valid JSON: ${(e as Error).message}`, 'send what `kvcpu report --json` prints');
    }
    const records = recordsFromReport(deps.x, body, 'pushed report');
    const rename = c.req.query('rename') === '1';
    const results = [];
    for (const r of records) results.push(await deps.store.put(r, { allowRename: rename }));
    return c.json({ ok: true, hosts: results }, results.some((r) => r.stored) ? 201 : 200);
  });

  app.get('/api/v1/fleet/hosts', async (c) => {
    const hosts = await select(c);
    const now = new Date();
    return c.json({
      hosts: hosts.map((h) => ({ name: h.summary.name, stale: isStale(h, now, staleAfter), lastSeen: h.lastSeen, reports: h.reports, summary: h.summary })),
    });
  });
  app.get('/api/v1/fleet/hosts/:name', async (c) => {
    const name = c.req.param('name');
    const [h] = pickHosts(await all(), [name]);
    return c.json({
      host: { name, lastSeen: h!.lastSeen, reports: h!.reports, summary: h!.summary, features: h!.cpu.allFeatures },
      history: await deps.store.history(name, 20),
    });
  });
  app.get('/api/v1/fleet/hosts/:name/report', async (c) => {
    const name = c.req.param('name');
    pickHosts(await all(), [name]);
    const rep = await deps.store.latestReport(name);
    if (rep === null) fail('E_FLEET_NO_REPORT', `${name}'s latest input was not a kvcpu report`, 'it was imported from CPU XML, cpuinfo or host JSON');
    return c.json(rep);
  });
  app.get('/api/v1/fleet/pools', async (c) => {
    const maxPools = c.req.query('maxPools');
    const maxLoss = c.req.query('maxLoss');
    const num = (v: string | undefined, what: string) => {
      if (v === undefined) return undefined;
      if (!/^\d{1,6}$/.test(v)) fail('E_BAD_INPUT', `${what}=${quoteControl(v)} is not a number`, `${what}=N`);
      return Number(v);
    };
    const mp = num(maxPools, 'maxPools');
    const ml = num(maxLoss, 'maxLoss');
    return c.json(
      fleetPools(deps.x, await select(c), {
        migratable: c.req.query('migratable') === '1',
        ...(mp ? { maxPools: mp } : {}),
        ...(ml !== undefined ? { maxLoss: ml } : {}),
      }),
    );
  });
  app.get('/api/v1/fleet/baseline', async (c) => {
    const hosts = await select(c);
    const format = c.req.query('format') ?? 'json';
    if (!['json', 'qemu', 'libvirt', 'kubevirt', 'nova'].includes(format))
      fail('E_BAD_INPUT', `format=${quoteControl(format)} is not json, qemu, libvirt, kubevirt or nova`, 'format=json');
    const onQemu = format === 'qemu' || format === 'kubevirt' || format === 'nova';
    const r = fleetBaseline(deps.x, hosts, { migratable: c.req.query('migratable') === '1', ...(onQemu ? { allowedModels: qemuModelNames(deps.x) } : {}) });
    if (format === 'json') return c.json({ ...baselineJson(r.cpu, 'libvirt'), hosts: hosts.map((h) => h.summary.name), rendered: renderBaselineForms(r.cpu) });
    const forms = renderBaselineForms(r.cpu);
    return c.text(format === 'qemu' ? `${forms.qemu}\n` : forms[format as 'libvirt' | 'kubevirt' | 'nova']);
  });
  app.get('/api/v1/fleet/placement', async (c) => {
    const vcpus = c.req.query('vcpus');
    if (!vcpus || !/^\d{1,4}$/.test(vcpus) || Number(vcpus) < 1)
      fail('E_BAD_INPUT', 'vcpus= must be a positive integer', 'placement?vcpus=8&cpu=Skylake-Server,%2Bavx512f');
    const cpu = c.req.query('cpu');
    const req = guestFromRecord({
      name: 'guest',
      vcpus: Number(vcpus),
      policy: c.req.query('policy') ?? 'dedicated',
      threads: c.req.query('threads') ?? 'prefer',
    });
    const guestCpu = cpu ? guestCpuFromString(deps.x, cpu) : null;
    const candidates = await placeGuest(deps.x, await select(c), guestCpu, req, (name) => deps.store.latestReport(name));
    return c.json({
      candidates,
      fitting: candidates.filter((k) => k.fits === true).length,
      runnable: candidates.filter((k) => k.runnable).length,
      hosts: candidates.length,
    });
  });
  app.get('/api/v1/fleet/health', async (c) => c.json(fleetHealth(await select(c), { staleAfterMs: staleAfter })));
  app.get('/api/v1/fleet/version', (c) => c.json({ kvcpuVersion: deps.version, backend: deps.store.backend }));
  deps.extend?.(app, deps, all);
  return app;
}
