import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { X86Map } from '../cpu-baseline/x86-map.ts';
import { type FleetStore } from '../store/fleet-store.ts';
import { openFleetStore } from '../store/open-fleet-store.ts';
import { mountFleetDashboard } from './dashboard/mount-fleet-dashboard.ts';
import { createFleetApp } from './fleet-app.ts';
import { allowedHosts } from './host-check.ts';

export interface FleetServerOptions {
  db: string;
  host: string;
  port: number;
  token: string | null;
  x: X86Map;
  version: string;
  allowHosts?: string[];
  staleAfterMs?: number;
  log?: (line: string) => void;
}

export interface RunningFleetServer {
  url: string;
  port: number;
  store: FleetStore;
  close(): Promise<void>;
}

/** Same limits as the host agent: a long-running service facing untrusted clients. */
const SERVER_LIMITS = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 };

/** `kvcpu fleet serve`: open the store (migrating it), then serve the fleet API and dashboard. */
export async function startFleetServer(o: FleetServerOptions): Promise<RunningFleetServer> {
  const store = await openFleetStore(o.db);
  let port = o.port;
  const allowed = { check: allowedHosts(o.host, port, o.allowHosts) };
  const app = createFleetApp({
    store,
    x: o.x,
    token: o.token,
    hostAllowed: (h) => allowed.check(h),
    version: o.version,
    ...(o.staleAfterMs ? { staleAfterMs: o.staleAfterMs } : {}),
    ...(o.log ? { log: o.log } : {}),
    extend: mountFleetDashboard,
  });
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: o.host, port: o.port, serverOptions: SERVER_LIMITS }, () => resolve(s as Server)) as Server;
      s.once('error', reject);
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  port = (server.address() as AddressInfo).port;
  allowed.check = allowedHosts(o.host, port, o.allowHosts);
  const hostPart = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${hostPart}:${port}`,
    port,
    store,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const t = setTimeout(() => server.closeAllConnections(), 3000);
        await closed;
        clearTimeout(t);
        await store.close();
      })();
      return closing;
    },
  };
}
