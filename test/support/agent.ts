import { request } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentOptions, type RunningAgent } from '../../src/http/start-agent.ts';

export const TEST_TOKEN = 'kvcpu-test-token-0123456789abcdef0123456789';

export interface TestAgent extends RunningAgent {
  dir: string;
  auditPath: string;
  stop(): Promise<void>;
}

/** An agent in this process on 127.0.0.1:<free port>, with a temp audit log (and token unless token: null). */
export async function startTestAgent(o: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-agent-'));
  const auditPath = join(dir, 'audit.jsonl');
  const a = await startAgent({ host: '127.0.0.1', port: 0, intervalMs: 500, token: TEST_TOKEN, auditLog: auditPath, log: () => undefined, ...o });
  return {
    ...a,
    dir,
    auditPath,
    async stop() {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): unknown;
}

/** One HTTP request with full control of the headers (Host included), over node:http. */
export function raw(port: number, o: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path, headers: { host: `127.0.0.1:${port}`, ...o.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
      },
    );
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

export function postJson(port: number, path: string, body: unknown, token?: string): Promise<RawResponse> {
  return raw(port, {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Write a token file with `mode`. */
export function writeTokenFile(dir: string, mode: number, token = TEST_TOKEN): string {
  const p = join(dir, `token-${mode.toString(8)}`);
  writeFileSync(p, token + '\n', { mode });
  return p;
}
