/**
 * Fuzzing the readers that sit on I/O: QMP framing (a fake QMP server answering with mutated,
 * split, truncated replies and closing mid-reply), the CLI's JSON line modes (smp --batch,
 * topology nova --batch) and the `kvcpu host --json` readers (topology suggest --host,
 * plan --host) fed mutated snapshots. Contract as in fuzz-kit.ts; CLI runs must exit 0/1 with
 * JSON, or 2 with a documented code, never E_INTERNAL.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { isKvcpuError } from '../../src/core/errors.ts';
import { readHost } from '../../src/host/read-host.ts';
import { QmpClient } from '../../src/qmp/qmp-client.ts';
import { DOCUMENTED_CODES, fuzzAsync, junk, mutatedText, mutateJson, numberText } from './fuzz-kit.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'kvcpu-iofuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from(stdin ? [stdin] : []) });
  return { code, out, err };
}

/** The CLI contract: 0/1 with output, or 2 with a documented code; never E_INTERNAL. */
function expectCliContract(r: { code: number; out: string; err: string }, what: string): void {
  expect([0, 1, 2], what).toContain(r.code);
  const codes = [...(r.out + r.err).matchAll(/"(?:code|error)":\s*"(E_[A-Z0-9_]+)"|error (E_[A-Z0-9_]+):/g)].map((m) => m[1] ?? m[2]!);
  for (const c of codes) {
    expect(c === 'E_INTERNAL' ? `${what}: ${r.out}${r.err}` : c).not.toBe('E_INTERNAL');
    expect(DOCUMENTED_CODES.has(c), c).toBe(true);
  }
  if (r.code === 2) expect(codes.length, `${what}: exit 2 without a code: ${r.err}`).toBeGreaterThan(0);
}

describe('fuzz: QMP framing against a fake QMP server', () => {
  let server: Server;
  const sock = path.join(tmp, 'qmp.sock');
  let script: { chunks: string[]; closeAfter: boolean } = { chunks: [], closeAfter: false };
  const greeting = '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';
  beforeAll(async () => {
    server = createServer((c: Socket) => {
      const s = script;
      let n = 0;
      c.on('error', () => undefined);
      c.on('data', (d) => {
        // Answer qmp_capabilities properly; every later command gets the fuzzed chunks.
        const lines = d.toString().split('\n').filter(Boolean);
        for (const l of lines) {
          const id = (JSON.parse(l) as { id: string }).id;
          if (n++ === 0) c.write(`{"return": {}, "id": "${id}"}\r\n`);
          else {
            for (const ch of s.chunks) c.write(ch.replaceAll('$ID', id));
            if (s.closeAfter) c.destroy();
          }
        }
      });
      c.write(s.chunks.length && s.chunks[0] === '!nogreeting' ? '' : greeting);
    });
    await new Promise<void>((r) => server.listen(sock, r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const reply = fc.oneof(
    fc.constantFrom(
      '{"return": {"running": true, "status": "running"}, "id": "$ID"}\r\n',
      '{"error": {"class": "GenericError", "desc": "x"}, "id": "$ID"}\r\n',
      '{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}\r\n',
    ),
    fc.constantFrom(
      '{"error": {"class": {"toString": false}, "desc": {"a": 1}}, "id": "$ID"}\r\n',
      '{"error": null, "id": "$ID"}\r\n',
      '{"return": 1e999, "id": "$ID"}\r\n',
      '{"id": "$ID"}\r\n',
      '{"event": {"x": 1}}\r\n',
      '[1,2]\r\n',
      'null\r\n',
      '"$ID"\r\n',
      '{"id": {"toString": 1}, "return": 2}\r\n',
    ),
    mutatedText('{"return": {"running": true, "status": "running"}, "id": "$ID"}\r\n'),
    junk,
  );
  const splitAt = (s: string, cuts: number[]) => {
    const pts = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
    const out: string[] = [];
    let prev = 0;
    for (const p of pts) {
      out.push(s.slice(prev, p));
      prev = p;
    }
    out.push(s.slice(prev));
    return out.filter(Boolean);
  };
  it('connect + execute: resolves or rejects with a documented code within its timeout, never throws elsewhere', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      await fuzzAsync(
        'QMP framing (fake server)',
        fc.record({
          replies: fc.array(reply, { maxLength: 4 }),
          cuts: fc.array(fc.nat(), { maxLength: 4 }),
          closeAfter: fc.boolean(),
          truncate: fc.option(fc.nat(60)),
        }),
        async (o) => {
          let text = o.replies.join('');
          if (o.truncate !== null) text = text.slice(0, o.truncate);
          script = { chunks: splitAt(text, o.cuts), closeAfter: o.closeAfter || o.truncate !== null };
          const t0 = Date.now();
          let client: QmpClient | null = null;
          try {
            client = await QmpClient.connect(sock, { timeoutMs: 300 });
            await client.execute('query-status', undefined, { timeoutMs: 200 });
          } catch (e) {
            expect(isKvcpuError(e), String(e)).toBe(true);
            expect(DOCUMENTED_CODES.has((e as { code: string }).code), (e as { code: string }).code).toBe(true);
          } finally {
            client?.close();
          }
          await new Promise((r) => setImmediate(r));
          expect(Date.now() - t0).toBeLessThan(2000);
          expect(uncaught.splice(0).map((e) => (e instanceof Error ? e.stack : String(e)))).toEqual([]);
        },
        { runs: 150, timeMs: 3000 },
      );
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  }, 60_000);
});

describe('fuzz: CLI JSON line modes and host-JSON readers', () => {
  it('smp --batch and topology nova --batch: one JSON result per line, documented codes only', async () => {
    const smpLine = fc.oneof(
      fc
        .record({
          smp: fc.oneof(
            fc
              .array(
                fc.tuple(fc.constantFrom('cpus', 'sockets', 'cores', 'threads', 'maxcpus', 'dies'), numberText).map(([k, v]) => `${k}=${v}`),
                { maxLength: 4 },
              )
              .map((x) => x.join(',')),
            junk,
            fc.jsonValue({ maxDepth: 1 }),
          ),
          machine: fc.option(fc.oneof(fc.constantFrom('pc', 'q35'), junk)),
          qemuVersion: fc.option(fc.oneof(fc.constantFrom('7.2', '9.1'), junk, fc.jsonValue({ maxDepth: 1 }))),
        })
        .map((o) => JSON.stringify(o)),
      mutatedText('{"smp":"4,sockets=2","machine":"q35"}'),
      junk,
    );
    await fuzzAsync(
      'smp --batch',
      fc.array(smpLine, { minLength: 1, maxLength: 8 }),
      async (lines) => {
        const r = await cli(['smp', '--batch'], lines.join('\n') + '\n');
        expectCliContract(r, 'smp --batch');
        for (const l of r.out.split('\n').filter(Boolean)) JSON.parse(l);
      },
      { runs: 300, timeMs: 3000 },
    );
    const novaCases = readFileSync(path.join(REPO, '../shared/reference/nova/topology-cases.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(0, 20)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    await fuzzAsync(
      'topology nova --batch',
      fc.array(
        fc.oneof(
          fc
            .constantFrom(...novaCases)
            .chain((c) =>
              mutateJson({ vcpus: c.vcpus, flavor_extra_specs: c.flavor_extra_specs, image_properties: c.image_properties, allow_threads: c.allow_threads }),
            )
            .map((v) => JSON.stringify(v)),
          junk,
        ),
        { minLength: 1, maxLength: 4 },
      ),
      async (lines) => {
        const r = await cli(['topology', 'nova', '--batch'], lines.join('\n') + '\n');
        expectCliContract(r, 'topology nova --batch');
      },
      { runs: 300, timeMs: 3000 },
    );
  }, 60_000);

  it('topology suggest --host and plan --host on mutated `kvcpu host --json` snapshots', async () => {
    const snap = JSON.parse(JSON.stringify(readHost({ root: path.join(REPO, 'test/fixtures/hosts/old-kernel-hexmask-2s2c2t') }))) as unknown;
    const file = path.join(tmp, 'host.json');
    await fuzzAsync(
      'host JSON readers (topology suggest --host, plan --host)',
      fc.oneof({ weight: 5, arbitrary: mutateJson(snap).map((v) => JSON.stringify(v)) }, { weight: 1, arbitrary: mutatedText(JSON.stringify(snap)) }),
      async (text) => {
        writeFileSync(file, text);
        expectCliContract(await cli(['topology', 'suggest', '--host', file, '--vcpus', '4', '--json']), 'topology suggest --host');
        expectCliContract(
          await cli(['plan', '--host', file, '--guest', 'name=g1,vcpus=2,policy=dedicated', '--guest', 'name=g2,vcpus=2,policy=shared', '--json']),
          'plan --host',
        );
      },
      { runs: 400, timeMs: 4000 },
    );
  }, 60_000);
});
