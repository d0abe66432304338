import { hostname } from 'node:os';
import { isIP } from 'node:net';

/** Loopback listen addresses: only loopback names may reach them. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function bracket(h: string): string {
  return isIP(h) === 6 ? `[${h}]` : h;
}

/**
 * The Host header values this agent answers (DNS rebinding defence): a web page on
 * evil.example that re-points its name at 127.0.0.1 still sends `Host: evil.example`, so a
 * request whose Host is not the listen address (or, for loopback, localhost/127.0.0.1/[::1])
 * is refused before any route runs. A wildcard listen accepts IP literals, this machine's
 * hostname and the names given with --allow-host.
 */
export function allowedHosts(listenHost: string, port: number, extra: string[] = []): (hostHeader: string | undefined) => boolean {
  const names = new Set<string>();
  const add = (h: string) => {
    names.add(`${bracket(h).toLowerCase()}:${port}`);
    if (port === 80) names.add(bracket(h).toLowerCase());
  };
  add(listenHost);
  for (const e of extra) add(e);
  if (isLoopback(listenHost)) ['localhost', '127.0.0.1', '::1'].forEach(add);
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::';
  if (wildcard) add(hostname());
  return (h) => {
    if (!h) return false;
    const v = h.trim().toLowerCase();
    if (names.has(v)) return true;
    if (!wildcard) return false;
    const m = /^\[?([0-9a-f:.]+)\]?:(\d+)$/.exec(v);
    return m !== null && isIP(m[1]!) !== 0 && Number(m[2]) === port;
  };
}
