// The fleet store end to end, twice: on SQLite and on a real PostgreSQL 15 (no mock database).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetBaseline, type FleetHost } from '../../src/app/fleet-query.ts';
import { buildFleetRecord } from '../../src/app/fleet-record.ts';
import { readFleetInput } from '../../src/app/read-fleet-input.ts';
import { effectiveBits } from '../../src/cpu-baseline/decode-cpu.ts';
import { loadCpuMap } from '../../src/cpu-baseline/read-cpu-map.ts';
import { cpuData, indexCpuMap, minusBits, countBits } from '../../src/cpu-baseline/x86-map.ts';
import { type FleetStore } from '../../src/store/fleet-store.ts';
import { openFleetStore } from '../../src/store/open-fleet-store.ts';
import { loadFleetHosts } from '../../src/store/load-fleet.ts';
import { cpuDefOf } from '../../src/app/fleet-record.ts';
import { capabilitiesXml, hostCpuXml, loadRealCpus, type RealCpu } from '../support/fleet-inputs.ts';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../support/postgres.ts';
import { runCli } from '../support/run-cli.ts';

const x = indexCpuMap(loadCpuMap({ source: 'auto' }));
const cpus = loadRealCpus();
const pgWhy = postgresUnavailable();
if (pgWhy && process.env.CI) throw new Error(`CI must run the store tests on PostgreSQL: ${pgWhy}`);

const byName = (n: string): RealCpu => {
  const c = cpus.find((c) => c.name === n);
  if (!c) throw new Error(`real CPU ${n} missing from the reference set`);
  return c;
};

let work: string;
let pg: TestPostgres | null = null;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'kvcpu-fleet-'));
  if (!pgWhy) pg = await startPostgres();
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A folder of inputs of every kind: capabilities XML, bare <cpu> XML, a capture tree, a report. */
function makeInputs(dir: string, names: string[], prefix = 'host'): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  names.forEach((n, i) => {
    const f = path.join(dir, `${prefix}-${String(i).padStart(2, '0')}.${i % 2 ? 'xml' : 'caps.xml'}`);
    writeFileSync(f, i % 2 ? hostCpuXml(byName(n)) : capabilitiesXml(byName(n)));
    files.push(f);
  });
  return files;
}

const backends: { name: 'sqlite' | 'postgres'; open: () => Promise<string> }[] = [
  { name: 'sqlite', open: async () => path.join(mkdtempSync(path.join(work, 'db-')), 'fleet.db') },
  { name: 'postgres', open: async () => pg!.newDatabase() },
];

describe.each(backends)('fleet store on $name', ({ name, open }) => {
  const skip = name === 'postgres' && pgWhy !== null;
  let db: string;
  let store: FleetStore;

  beforeAll(async () => {
    if (skip) return;
    db = await open();
    store = await openFleetStore(db);
  });
  afterAll(async () => {
    await store?.close();
  });

  it.skipIf(skip)('applies its migrations once, also when opened again', async () => {
    expect(await store.schemaVersion()).toBe(1);
    const again = await openFleetStore(db);
    expect(await again.schemaVersion()).toBe(1);
    await again.close();
  });

  it.skipIf(skip)('imports every input kind, names hosts by report hostname or file stem, and re-import is a no-op', async () => {
    const dir = path.join(work, `inputs-${name}`);
    const files = makeInputs(dir, ['Xeon-E5-2650-v3', 'Xeon-Gold-6148', 'Xeon-E3-1245-v5', 'Core-i7-8700']);
    // A kvcpu capture tree and a kvcpu report of it (the report names its host).
    cpSync(path.resolve('test/fixtures/hosts/this-machine-amd-epyc-2c'), path.join(dir, 'epyc-capture'), { recursive: true });
    const rep = await runCli(['report', '--json', '--only', 'host,checks', '--root', 'test/fixtures/hosts/this-machine-amd-epyc-2c']);
    const report = JSON.parse(rep.out) as Record<string, unknown>;
    report.host = { ...(report.host as object), hostname: 'epyc-reported' };
    writeFileSync(path.join(dir, 'r1.json'), JSON.stringify(report));
    const first = await runCli(['fleet', 'import', '--db', db, '--json', dir]);
    expect(first.code, first.err + first.out).toBe(0);
    const s1 = JSON.parse(first.out) as { files: number; stored: number; unchanged: number; failed: unknown[]; hosts: string[] };
    expect(s1).toMatchObject({ files: files.length + 2, stored: files.length + 2, unchanged: 0, failed: [] });
    expect(s1.hosts.sort()).toEqual(['epyc-reported', 'host-00', 'host-01', 'host-02', 'host-03', 'vm']);
    const again = JSON.parse((await runCli(['fleet', 'import', '--db', db, '--json', dir])).out) as typeof s1;
    expect(again).toMatchObject({ stored: 0, unchanged: files.length + 2 });
    const hosts = await loadFleetHosts(store);
    expect(hosts.map((h) => h.reports)).toEqual(hosts.map(() => 1));
    const gold = hosts.find((h) => h.summary.name === 'host-01')!;
    // The decode is libvirt's own host decode of that CPUID dump.
    expect(gold.summary.cpu).toMatchObject({ vendor: 'Intel', decodedModel: byName('Xeon-Gold-6148').libvirt_expected!.host_decode!.model });
    expect(gold.summary.source).toBe('libvirt-xml');
    const reported = hosts.find((h) => h.summary.name === 'epyc-reported')!;
    expect(reported.summary.source).toBe('report');
    expect(reported.summary.checks.length).toBeGreaterThan(5);
    expect(reported.summary.topology).toMatchObject({ sockets: 1, onlineCpus: 2 });
    // The capture tree names itself: its proc/sys/kernel/hostname says vm.
    expect(hosts.find((h) => h.summary.name === 'vm')!.summary.source).toBe('capture');
  });

  it.skipIf(skip)('reports a bad file with its path and code, imports the rest, exits 1', async () => {
    const dir = path.join(work, `bad-${name}`);
    makeInputs(dir, ['Xeon-X5460'], 'bad');
    writeFileSync(path.join(dir, 'broken.json'), '{"sections": ');
    writeFileSync(path.join(dir, 'empty.xml'), '');
    writeFileSync(path.join(dir, "x'); DROP TABLE hosts; --.xml"), hostCpuXml(byName('Xeon-E5-2609-v3')));
    const r = await runCli(['fleet', 'import', '--db', db, dir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_BAD_JSON: .*broken\.json/);
    expect(r.err).toMatch(/E_CPU_NO_INPUT: .*empty\.xml/);
    expect(r.out).toMatch(/2 report\(s\) stored, 0 already stored, 2 failed/);
    const names = (await loadFleetHosts(store)).map((h) => h.summary.name);
    expect(names).toContain("x'); DROP TABLE hosts; --");
    expect(names).toContain('bad-00');
  });

  it.skipIf(skip)('refuses a report claiming another host’s machine-id and stores nothing of it', async () => {
    const def = cpuDefOf(readFleetInput(x, writeTmp('a.xml', hostCpuXml(byName('Xeon-E5-2650-v3'))))[0]!.cpu, 'a');
    const base = buildFleetRecord(x, def, {
      name: 'mid-owner',
      machineId: 'feedc0de',
      hostname: 'mid-owner',
      source: 'report',
      kvcpuVersion: '0.1.0',
      generatedAt: '2026-01-01T00:00:00.000Z',
      modelName: null,
      topology: null,
      checks: [],
      guests: null,
      overcommit: null,
      report: null,
    });
    expect((await store.put(base)).stored).toBe(true);
    const liar = { ...base, summary: { ...base.summary, name: 'mid-liar' }, digest: base.digest + 'x' };
    await expect(store.put(liar)).rejects.toMatchObject({ code: 'E_FLEET_MACHINE_ID_TAKEN' });
    const names = (await store.hosts()).map((h) => h.summary.name);
    expect(names).toContain('mid-owner');
    expect(names).not.toContain('mid-liar');
    // With --rename (the fleet server: the token) it is a rename: one machine stays one host.
    expect((await store.put(liar, { allowRename: true })).stored).toBe(true);
    const after = (await store.hosts()).map((h) => h.summary.name);
    expect(after).toContain('mid-liar');
    expect(after).not.toContain('mid-owner');
    expect((await store.history('mid-liar')).length).toBe(2);
  });

  it.skipIf(skip)('keeps history; the newest report wins even when an older one arrives later; stale by last report', async () => {
    const def = cpuDefOf(readFleetInput(x, writeTmp('h.xml', hostCpuXml(byName('Xeon-Gold-6148'))))[0]!.cpu, 'h');
    const rec = (generatedAt: string, vcpus: number) =>
      buildFleetRecord(x, def, {
        name: 'hist',
        machineId: null,
        hostname: 'hist',
        source: 'report',
        kvcpuVersion: '0.1.0',
        generatedAt,
        modelName: null,
        topology: null,
        checks: [],
        guests: { count: 1, vcpus },
        overcommit: null,
        report: { generatedAt },
      });
    await store.put(rec('2026-03-01T00:00:00.000Z', 4), { receivedAt: new Date('2026-03-01T00:00:01Z') });
    await store.put(rec('2026-03-03T00:00:00.000Z', 8), { receivedAt: new Date('2026-03-03T00:00:01Z') });
    await store.put(rec('2026-03-02T00:00:00.000Z', 6), { receivedAt: new Date('2026-03-04T00:00:01Z') });
    const h = (await loadFleetHosts(store)).find((h) => h.summary.name === 'hist')!;
    expect(h.reports).toBe(3);
    expect(h.summary.guests).toEqual({ count: 1, vcpus: 8 });
    expect(h.lastSeen).toBe('2026-03-04T00:00:01.000Z');
    expect(await store.latestReport('hist')).toEqual({ generatedAt: '2026-03-03T00:00:00.000Z' });
    expect((await store.history('hist')).map((e) => e.generatedAt)).toEqual([
      '2026-03-02T00:00:00.000Z',
      '2026-03-03T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    const stale = JSON.parse((await runCli(['fleet', 'hosts', '--db', db, '--where', 'name=hist,stale', '--json'])).out) as {
      hosts: { name: string; stale: boolean }[];
    };
    expect(stale.hosts).toEqual([expect.objectContaining({ name: 'hist', stale: true })]);
    const fresh = JSON.parse((await runCli(['fleet', 'hosts', '--db', db, '--where', 'name=hist,fresh', '--json'])).out) as { hosts: unknown[] };
    expect(fresh.hosts).toEqual([]);
  });

  it.skipIf(skip)('answers --where on model, vendor, features and checks', async () => {
    const q = async (w: string) =>
      (JSON.parse((await runCli(['fleet', 'hosts', '--db', db, '--where', w, '--json'])).out) as { hosts: { name: string }[] }).hosts.map((h) => h.name).sort();
    expect(await q('model=Skylake-Server*')).toEqual(expect.arrayContaining(['host-01']));
    expect(await q('vendor=amd')).toEqual(['epyc-reported', 'vm']);
    const avx512 = await q('feature=avx512f');
    const noAvx512 = await q('feature=!avx512f');
    expect(avx512).toContain('host-01');
    expect(noAvx512).toContain('host-00');
    expect(avx512.filter((n) => noAvx512.includes(n))).toEqual([]);
    expect(await q('check=kvm.usable')).toEqual(['epyc-reported']);
    const bad = await runCli(['fleet', 'hosts', '--db', db, '--where', 'colour=red', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, error: { code: 'E_FLEET_BAD_WHERE' } });
  });

  it.skipIf(skip)('fleet baseline equals `kvcpu cpu baseline` on the same inputs and is safe on every member', async () => {
    const sets = [
      ['Xeon-E5-2650-v3', 'Xeon-Gold-6148'],
      ['Xeon-E3-1245-v5', 'Core-i7-8700', 'Xeon-X5460'],
      ['Xeon-Gold-6148', 'Xeon-E5-2609-v3', 'Core-i7-8700', 'Xeon-E5-2650-v3'],
    ];
    let compared = 0;
    for (const [k, set] of sets.entries()) {
      const dir = path.join(work, `bl-${name}-${k}`);
      mkdirSync(dir, { recursive: true });
      const files = set.map((n) => {
        const f = path.join(dir, `${n}.xml`);
        writeFileSync(f, capabilitiesXml(byName(n)));
        return f;
      });
      expect((await runCli(['fleet', 'import', '--db', db, ...files])).code).toBe(0);
      for (const format of ['json', 'libvirt', 'qemu']) {
        const direct = await runCli(['cpu', 'baseline', '--format', format, '--quiet', ...files]);
        const fleet = await runCli(['fleet', 'baseline', '--db', db, '--hosts', set.join(','), '--format', format]);
        expect(fleet.code, fleet.err).toBe(0);
        if (format === 'json') {
          const a = JSON.parse(direct.out) as Record<string, unknown>;
          const b = JSON.parse(fleet.out) as Record<string, unknown>;
          for (const key of ['model', 'vendor', 'features']) expect(b[key], `${set.join('+')} ${key}`).toEqual(a[key]);
        } else expect(fleet.out).toBe(direct.out);
        compared++;
      }
      const hosts = (await loadFleetHosts(store)).filter((h) => set.includes(h.summary.name));
      const r = fleetBaseline(x, hosts);
      const guest = effectiveBits(x, r.cpu);
      for (const h of hosts)
        expect(countBits(minusBits(guest, cpuData(x, cpuDefOf(h.cpu, h.summary.name), 'all'))), `${h.summary.name} lacks part of the baseline`).toBe(0);
    }
    expect(compared).toBe(9);
  });

  it.skipIf(skip)('pools: the `cpu pools` answer, plus the host that holds each pool back and what dropping it gains', async () => {
    const set = ['Xeon-Gold-6148', 'Xeon-Gold-5115', 'Xeon-Gold-6130', 'Xeon-E5-2650-v3'];
    const dir = path.join(work, `pools-${name}`);
    mkdirSync(dir, { recursive: true });
    const files = set.map((n) => {
      const f = path.join(dir, `p-${n}.xml`);
      writeFileSync(f, hostCpuXml(byName(n)));
      return f;
    });
    expect((await runCli(['fleet', 'import', '--db', db, ...files])).code).toBe(0);
    const fleet = JSON.parse((await runCli(['fleet', 'pools', '--db', db, '--where', 'name=p-*', '--json'])).out) as {
      pools: {
        baseline: { model: string };
        hostCount: number;
        heldBackBy: { hosts: string[]; modelWithout: string; lacks: string[]; gain: number }[];
        rendered: { qemu: string };
      }[];
    };
    const direct = JSON.parse((await runCli(['cpu', 'pools', '--json', ...files])).out) as { pools: { baseline: { model: string }; hosts: unknown[] }[] };
    expect(fleet.pools.map((p) => [p.baseline.model, p.hostCount])).toEqual(direct.pools.map((p) => [p.baseline.model, p.hosts.length]));
    const pool = fleet.pools[0]!;
    expect(pool.baseline.model).toMatch(/^Haswell/);
    expect(pool.heldBackBy[0]!.hosts).toEqual(['p-Xeon-E5-2650-v3']);
    expect(pool.heldBackBy[0]!.modelWithout).toMatch(/^Skylake-Server/);
    expect(pool.heldBackBy[0]!.lacks).toContain('avx512f');
    expect(pool.rendered.qemu).toMatch(/^Haswell/);
    const text = await runCli(['fleet', 'pools', '--db', db, '--where', 'name=p-*']);
    expect(text.out).toMatch(/held back by p-Xeon-E5-2650-v3: lacks .*avx512f.*; without it the pool gets Skylake-Server/);
  });

  it.skipIf(skip)('placement: hosts whose CPU runs the guest CPU and that have room for it now, best first', async () => {
    const dir = path.join(work, `place-${name}`);
    mkdirSync(dir, { recursive: true });
    // Two reports of real topologies (2-socket 8-CPU and 2-CPU captures) and one XML-only host.
    for (const [host, root] of [
      ['place-big', 'test/fixtures/hosts/old-kernel-hexmask-2s2c2t'],
      ['place-small', 'test/fixtures/hosts/this-machine-amd-epyc-2c'],
    ] as const) {
      const rep = JSON.parse((await runCli(['report', '--json', '--only', 'host', '--root', root])).out) as Record<string, unknown>;
      rep.host = { ...(rep.host as object), hostname: host };
      writeFileSync(path.join(dir, `${host}.json`), JSON.stringify(rep));
    }
    writeFileSync(path.join(dir, 'place-xml.xml'), hostCpuXml(byName('Xeon-Gold-6148')));
    expect((await runCli(['fleet', 'import', '--db', db, dir])).code).toBe(0);
    const place = async (...args: string[]) => {
      const r = await runCli(['fleet', 'placement', '--db', db, '--where', 'name=place-*', '--json', ...args]);
      return {
        code: r.code,
        ...(JSON.parse(r.out) as {
          candidates: { host: string; runnable: boolean; fits: boolean | null; vcpus: { vcpu: number; cpus: number[] }[]; missing: string[] }[];
        }),
      };
    };
    const four = await place('--vcpus', '4');
    expect(four.code).toBe(0);
    expect(four.candidates.map((c) => [c.host, c.fits])).toEqual([
      ['place-big', true],
      ['place-xml', null],
      ['place-small', false],
    ]);
    const pins = four.candidates[0]!.vcpus.map((v) => v.cpus);
    expect(pins.every((c) => c.length === 1)).toBe(true);
    expect(new Set(pins.flat()).size).toBe(4);
    // AVX-512 runs only on the Skylake-Server host, which sent no topology.
    const avx = await place('--vcpus', '2', '--cpu', 'Skylake-Server,+avx512f');
    expect(avx.code).toBe(1);
    expect(avx.candidates.filter((c) => c.runnable).map((c) => c.host)).toEqual(['place-xml']);
    expect(avx.candidates.find((c) => c.host === 'place-big')!.missing).toContain('avx512f');
    const unknown = await runCli(['fleet', 'placement', '--db', db, '--vcpus', '2', '--cpu', 'Skylake-Servr']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/E_CPU_UNKNOWN_MODEL/);
  });
});

describe.skipIf(pgWhy !== null)('fleet store on PostgreSQL, two connections', () => {
  it('two stores on one PostgreSQL database see each other’s writes (replicas share nothing else)', async () => {
    const db = await pg!.newDatabase();
    const store = await openFleetStore(db);
    const other = await openFleetStore(db);
    try {
      const def = cpuDefOf(readFleetInput(x, writeTmp('r.xml', hostCpuXml(byName('Core-i7-8700'))))[0]!.cpu, 'r');
      const rec = buildFleetRecord(x, def, {
        name: 'replica-pushed',
        machineId: null,
        hostname: null,
        source: 'report',
        kvcpuVersion: '0.1.0',
        generatedAt: '2026-05-05T00:00:00.000Z',
        modelName: null,
        topology: null,
        checks: [],
        guests: null,
        overcommit: null,
        report: null,
      });
      await other.put(rec);
      expect((await store.hosts()).map((h) => h.summary.name)).toContain('replica-pushed');
    } finally {
      await other.close();
      await store.close();
    }
  });
});

function writeTmp(name: string, text: string): string {
  const f = path.join(mkdtempSync(path.join(work, 'one-')), name);
  writeFileSync(f, text);
  return f;
}

export type { FleetHost };
