import { InvalidArgumentError, type Command } from 'commander';
import { KvcpuError } from '../../core/errors.ts';
import { startAgent } from '../../http/start-agent.ts';
import { loadToken } from '../../http/token.ts';
import { isLoopback } from '../../http/host-check.ts';
import { act, collect, type RegisterCommand } from '../command-kit.ts';

/**
 * Default port 10193. Prometheus' "Default port allocations" wiki reserves 9100-9999 for
 * exporters and that range is fully allocated; 10193 is in neither that list nor this
 * machine's /etc/services, and clear of the Kubernetes 10250-10259 ports.
 */
export const DEFAULT_PORT = 10193;

/** `HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback). */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:10193 or [::1]:10193');
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function parseInterval(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 0.2 || n > 3600) throw new InvalidArgumentError('expected seconds between 0.2 and 3600');
  return n;
}

interface ServeOpts {
  listen: { host: string; port: number };
  tokenFile?: string;
  interval: number;
  auditLog?: string;
  allowHost?: string[];
  json?: boolean;
  fleet?: string;
  fleetTokenFile?: string;
  fleetInterval: number;
}

/** `kvcpu serve`: the host agent (JSON API, /metrics, live CPU-map page) until SIGTERM/Ctrl-C. */
export const registerServe: RegisterCommand = (program: Command, ctx) => {
  program
    .command('serve')
    .description('run the host agent: JSON API (/api/v1), Prometheus metrics (/metrics) and the live CPU map (/), from one /proc sample per interval')
    .option('--listen <host:port>', `address to listen on (loopback by default; port ${DEFAULT_PORT})`, parseListen, { host: '127.0.0.1', port: DEFAULT_PORT })
    .option('--token-file <file>', 'bearer token for pin/unpin/hotplug (file mode 0600); without it the agent is read-only')
    .option('--interval <seconds>', 'seconds between samples of /proc', parseInterval, 2)
    .option('--audit-log <file>', 'append one JSON line per action (who, what, affinity before/after); default: stderr')
    .option('--allow-host <name>', 'extra Host header name to answer (a reverse proxy name; repeatable)', collect)
    .option('--fleet <url>', "push this host's report to a fleet server (`kvcpu fleet serve`) on start, on change and every --fleet-interval")
    .option('--fleet-token-file <file>', 'bearer token of the fleet server (file mode 0600)')
    .option('--fleet-interval <seconds>', 'push at least this often', parseInterval, 300)
    .option('--json', 'log as JSON lines on stderr ({"time","level","msg"}; audit entries too), for journald/log shippers')
    .action(
      act(ctx, async (opts: ServeOpts) => {
        const say = (msg: string, level = 'info') =>
          ctx.io.err(opts.json ? JSON.stringify({ time: new Date().toISOString(), level, msg }) + '\n' : `kvcpu serve: ${msg}\n`);
        const token = opts.tokenFile ? loadToken(opts.tokenFile) : null;
        let fleet: { url: string; token: string; intervalMs: number } | undefined;
        if (opts.fleet !== undefined) {
          let u: URL;
          try {
            u = new URL(opts.fleet);
          } catch {
            throw new KvcpuError('E_USAGE', `--fleet ${JSON.stringify(opts.fleet)} is not a URL`, { hint: '--fleet http://fleet.example:10194' });
          }
          if (u.protocol !== 'http:' && u.protocol !== 'https:')
            throw new KvcpuError('E_USAGE', `--fleet must be http:// or https://, not ${u.protocol}`, { hint: '--fleet http://fleet.example:10194' });
          if (!opts.fleetTokenFile)
            throw new KvcpuError('E_USAGE', '--fleet needs --fleet-token-file (the fleet server refuses reports without its token)', {
              hint: "copy the fleet server's token file here (mode 0600)",
            });
          fleet = { url: u.toString(), token: loadToken(opts.fleetTokenFile), intervalMs: Math.round(opts.fleetInterval * 1000) };
        } else if (opts.fleetTokenFile) throw new KvcpuError('E_USAGE', '--fleet-token-file without --fleet', { hint: 'add --fleet URL' });
        if (!isLoopback(opts.listen.host) && token === null) {
          say(`listening on ${opts.listen.host} without --token-file: read-only, but the API and metrics are visible to the network`, 'warning');
        }
        let agent;
        try {
          agent = await startAgent({
            host: opts.listen.host,
            port: opts.listen.port,
            intervalMs: Math.round(opts.interval * 1000),
            token,
            auditLog: opts.auditLog ?? null,
            allowHosts: opts.allowHost ?? [],
            ...(fleet ? { fleet } : {}),
            log: (l) => say(l.replace(/^kvcpu serve: /, ''), 'error'),
            audit: (line) => ctx.io.err(opts.json ? line : `audit ${line}`),
          });
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
            throw new KvcpuError('E_LISTEN', `cannot listen on ${opts.listen.host}:${opts.listen.port}: ${code}`, {
              hint: 'choose another --listen address or stop what uses it',
            });
          }
          throw e;
        }
        say(`listening on ${agent.url} (${token ? 'actions enabled with the bearer token' : 'read-only'}), sampling every ${opts.interval} s`);
        await new Promise<void>((resolve) => {
          const stop = (sig: string) => {
            process.off('SIGTERM', onTerm);
            process.off('SIGINT', onInt);
            say(`${sig}: finishing running requests`);
            void agent.close().then(resolve);
          };
          const onTerm = () => stop('SIGTERM');
          const onInt = () => stop('SIGINT');
          process.on('SIGTERM', onTerm);
          process.on('SIGINT', onInt);
        });
        say('stopped');
        return 0;
      }),
    );
};
