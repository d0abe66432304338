/**
 * Shrunk counter-examples from the fuzz suite (parsers.fuzz.test.ts, host-tree.fuzz.test.ts),
 * each pinned as a named regression test. The comment says what happened before the fix.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanXml } from '../../src/cpu-baseline/scan-xml.ts';
import { loadCatalog } from '../../src/cpu-models/catalog.ts';
import { explainCpu } from '../../src/cpu-models/cpu-string.ts';
import { tcgFeatures } from '../../src/cpu-models/runnability.ts';
import { parseProcStat, parseProcStatus, parseSchedstat } from '../../src/guests/parse-proc-files.ts';
import { readHost } from '../../src/host/read-host.ts';
import { parseNovaCase } from '../../src/plan/nova-case.ts';
import { guestsFromJson, parseGuestSpec } from '../../src/plan/parse-guest-spec.ts';

const coded = (code: string) => expect.objectContaining({ name: 'KvcpuError', code });
const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/hosts/this-machine-amd-epyc-2c');
const tmp = mkdtempSync(path.join(tmpdir(), 'kvcpu-regress-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fuzz regressions', () => {
  it('scanXml: a character reference past U+10FFFF (&#1623947803;) is E_BAD_XML, not a RangeError', () => {
    expect(() => scanXml("<cpu><model fallback='forbid&#1623947803;'>Skylake-Client</model></cpu>", 'x.xml')).toThrow(coded('E_BAD_XML'));
    expect(() => scanXml('<cpu>&#0;</cpu>', 'x.xml')).toThrow(coded('E_BAD_XML'));
    expect(() => scanXml('<cpu>&#xD800;</cpu>', 'x.xml')).toThrow(coded('E_BAD_XML'));
    expect(scanXml('<cpu>&#65;&#x42;</cpu>', 'x.xml')[0]!.text).toBe('AB');
  });

  it("explainCpu('max,+toString'): an unknown feature, not Object.prototype.toString (TypeError)", () => {
    const catalog = loadCatalog();
    expect(() => explainCpu('max,+toString', { supported: tcgFeatures(catalog), catalog })).toThrow(coded('E_CPU_FEATURE_UNKNOWN'));
    expect(() => explainCpu('qemu64,-constructor', { supported: tcgFeatures(catalog), catalog })).toThrow(coded('E_CPU_FEATURE_UNKNOWN'));
  });

  it('guestsFromJson: threads {"toString": false} is E_BAD_INPUT ("Cannot convert object to primitive value" before)', () => {
    expect(() => guestsFromJson([{ name: 'g1', vcpus: 4, threads: { toString: false } }])).toThrow(coded('E_BAD_INPUT'));
    expect(() => guestsFromJson([{ name: { toString: false }, vcpus: 4 }])).toThrow(coded('E_BAD_INPUT'));
    expect(() => guestsFromJson([{ name: 'g1', vcpus: 2, mask: { toString: false } }])).toThrow(coded('E_BAD_INPUT'));
  });

  it('guest specs: vcpus=1e308 (an integer to Number.isInteger) is refused instead of sizing arrays', () => {
    expect(() => guestsFromJson([{ name: 'g1', vcpus: 1e308, mask: '^0' }])).toThrow(coded('E_BAD_INPUT'));
    expect(() => parseGuestSpec('name=g1,vcpus=99999999999999999999999')).toThrow(coded('E_BAD_INPUT'));
    expect(() => parseGuestSpec('name=g1,vcpus=8193')).toThrow(coded('E_BAD_INPUT'));
    expect(parseGuestSpec('name=g1,vcpus=8192').vcpus).toBe(8192);
  });

  it('Nova case: cpu_policy {"toString": false} is E_BAD_INPUT; negative memory and CPU 8192 are refused', () => {
    const cell = { id: 0, cpuset: [0, 1], pcpuset: [0, 1], siblings: [[0], [1]], memory: 1024 };
    expect(() => parseNovaCase({ host_cell: cell, instance_cell: { cpu_policy: { toString: false } } })).toThrow(coded('E_BAD_INPUT'));
    expect(() => parseNovaCase({ host_cell: { ...cell, memory: -1 }, instance_cell: {} })).toThrow(coded('E_BAD_INPUT'));
    expect(() => parseNovaCase({ host_cell: { ...cell, pcpuset: [8192] }, instance_cell: {} })).toThrow(coded('E_CPULIST_RANGE'));
    expect(() => parseNovaCase({ host_cell: cell, instance_cell: { pinning: [[0, 1e12]] } })).toThrow(coded('E_CPULIST_RANGE'));
  });

  it('/proc stat/status/schedstat: truncated or garbled lines are null, never NaN or negative', () => {
    expect(parseProcStat('4242 (CPU 0/TCG) S 1 4242')).toBeNull();
    expect(parseProcStat('4242 (x) S -1 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 0 0 7')).toBeNull();
    expect(parseProcStatus('voluntary_ctxt_switches:\tlots\n').voluntarySwitches).toBeNull();
    expect(parseSchedstat('-5 7 1')).toBeNull();
    expect(parseSchedstat('1e400 7 1')).toBeNull();
  });

  it.each([
    ['a FIFO as cpu/online (open(2) blocked forever)', 'sys/devices/system/cpu/online', (p: string) => execFileSync('mkfifo', [p])],
    ['/dev/zero as proc/cpuinfo (a read that never ends)', 'proc/cpuinfo', (p: string) => symlinkSync('/dev/zero', p)],
    ['a symlink loop as kernel_max', 'sys/devices/system/cpu/kernel_max', (p: string) => symlinkSync(path.basename(p), p)],
    ['a 2 MiB cpulist as cpu/present', 'sys/devices/system/cpu/present', (p: string) => writeFileSync(p, '0-1,'.repeat(500_000))],
  ])('host tree: %s is read as unreadable, at once', (_what, rel, make) => {
    const root = path.join(tmp, rel.replace(/\W/g, '_'));
    cpSync(FIXTURE, root, { recursive: true });
    unlinkSync(path.join(root, rel));
    make(path.join(root, rel));
    const t0 = Date.now();
    const r = (() => {
      try {
        return readHost({ root });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(Date.now() - t0).toBeLessThan(5000);
    if (r instanceof Error) expect(r).toEqual(coded(rel === 'proc/cpuinfo' ? 'E_PROCFS_MISSING' : 'E_SYSFS_MISSING'));
    else expect(r.cpus.online).toBeTruthy();
  });
});

describe('fuzz regressions: QMP framing', () => {
  it('a QMP line `null` (or an error whose class is an object) is skipped/coded, not a TypeError in the data handler', async () => {
    const { createServer } = await import('node:net');
    const { QmpClient } = await import('../../src/qmp/qmp-client.ts');
    const sock = path.join(tmp, 'qmp-null.sock');
    let n = 0;
    const server = createServer((c) => {
      c.on('data', (d) => {
        for (const l of d.toString().split('\n').filter(Boolean)) {
          const id = (JSON.parse(l) as { id: string }).id;
          if (n++ === 0) c.write(`{"return": {}, "id": "${id}"}\r\n`);
          else if (n === 2) c.write(`null\r\n[1]\r\n{"return": {"running": true}, "id": "${id}"}\r\n`);
          else c.write(`{"error": {"class": {"toString": false}, "desc": 5}, "id": "${id}"}\r\n`);
        }
      });
      c.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n');
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const uncaught: unknown[] = [];
    const on = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', on);
    try {
      const q = await QmpClient.connect(sock, { timeoutMs: 2000 });
      await expect(q.execute('query-status')).resolves.toEqual({ running: true });
      await expect(q.execute('query-status')).rejects.toThrow(coded('E_QMP_ERROR'));
      q.close();
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', on);
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
