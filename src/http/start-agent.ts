import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { AuditLog } from '../app/audit-log.ts';
import { ActionRunner } from '../app/run-actions.ts';
import { FleetPusher } from '../app/fleet-push.ts';
import { kvcpuVersion, ModelsCache, reportView } from '../app/sample-views.ts';
import { Sampler } from '../app/sampler.ts';
import type { GuestProcess } from '../guests/types.ts';
import { createMetricsRegistry } from '../metrics/metrics-registry.ts';
import { createAgentApp } from './create-app.ts';
import { mountDashboard } from './dashboard/mount-dashboard.ts';
import { allowedHosts } from './host-check.ts';

export interface AgentOptions {
  host: string;
  port: number;
  intervalMs: number;
  token: string | null;
  auditLog: string | null;
  allowHosts?: string[];
  /** Pin state directory (tests); default the guests capability's own. */
  stateDir?: string;
  log?: (line: string) => void;
  /** Where audit lines go when there is no --audit-log file (default stderr). */
  audit?: (line: string) => void;
  /** Push the report to a fleet server (`--fleet URL --fleet-token-file F`). */
  fleet?: { url: string; token: string; intervalMs: number; minBackoffMs?: number };
  /** Serve only these guests (see SamplerOptions.guestFilter); actions still resolve every guest by name or pid. */
  guestFilter?: (g: GuestProcess) => boolean;
}

export interface RunningAgent {
  url: string;
  port: number;
  sampler: Sampler;
  /** The fleet pusher when --fleet is given. */
  pusher: FleetPusher | null;
  /** Stop cleanly: no new connections, let a running action finish, end streams, close. */
  close(): Promise<void>;
}

/** Limits for a long-running service facing untrusted clients (slowloris, huge headers). */
const SERVER_LIMITS = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 };

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const sampler = new Sampler({ intervalMs: o.intervalMs, ...(o.guestFilter ? { guestFilter: o.guestFilter } : {}) });
  sampler.on('error', (e: unknown) => log(`kvcpu serve: sample failed: ${e instanceof Error ? e.message : String(e)}`));
  await sampler.start();
  const version = kvcpuVersion();
  const actions = new ActionRunner(new AuditLog(o.auditLog, o.audit), {
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    afterChange: () => void sampler.sampleNow().catch(() => undefined),
  });
  let port = o.port;
  const isAllowed = { check: allowedHosts(o.host, port, o.allowHosts) };
  const models = new ModelsCache();
  const pusher = o.fleet
    ? new FleetPusher({
        url: o.fleet.url,
        token: o.fleet.token,
        intervalMs: o.fleet.intervalMs,
        ...(o.fleet.minBackoffMs ? { minBackoffMs: o.fleet.minBackoffMs } : {}),
        getReport: () => reportView(sampler.latest(), models),
        log: (l) => log(`kvcpu serve: ${l}`),
      })
    : null;
  const agent = createAgentApp({
    models,
    sampler,
    actions,
    metrics: createMetricsRegistry(() => sampler.latest(), version),
    version,
    token: o.token,
    hostAllowed: (h) => isAllowed.check(h),
    extend: mountDashboard,
    log,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: agent.app.fetch, hostname: o.host, port: o.port, serverOptions: SERVER_LIMITS }, () => resolve(s as Server)) as Server;
    s.once('error', reject);
  });
  server.maxConnections = 2048;
  port = (server.address() as AddressInfo).port;
  if (pusher) {
    pusher.start();
    sampler.on('sample', () => void pusher.maybePush().catch(() => undefined));
  }
  isAllowed.check = allowedHosts(o.host, port, o.allowHosts);
  const hostPart = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | null = null;
  // While stopping, a connection whose last answer just left is closed at once (keep-alive would hold it).
  server.on('request', (_req, res: import('node:http').ServerResponse) => res.on('finish', () => closing && setImmediate(() => server.closeIdleConnections())));
  return {
    url: `http://${hostPart}:${port}`,
    port,
    sampler,
    pusher,
    close() {
      closing ??= (async () => {
        sampler.stop();
        await pusher?.stop();
        const closed = new Promise<void>((r) => server.close(() => r()));
        await actions.idle();
        agent.closeStreams();
        server.closeIdleConnections();
        const t = setTimeout(() => server.closeAllConnections(), 3000);
        await closed;
        clearTimeout(t);
      })();
      return closing;
    },
  };
}
