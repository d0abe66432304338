// `kvcpu fleet kubevirt` on both store backends (SQLite and a real PostgreSQL 15): three hosts
// imported from `virsh capabilities` XML of real CPUs plus one agent report of a capture tree. The
// expected answers come from libvirt 9.0's cpu_map JSON (a model runs on a CPU that has all its
// features) and from the report's own runnable list, minus KubeVirt's obsolete models.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilitiesXml, loadRealCpus, REAL_CPUS } from '../support/fleet-inputs.ts';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../support/postgres.ts';
import { runCli } from '../support/run-cli.ts';
import { KUBEVIRT_OBSOLETE_MODELS } from '../support/kubevirt-obsolete.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capture = path.resolve(repo, '../shared/reference/hosts/cases/ul-x86_64-epyc_7451/root');
const cpus = loadRealCpus();
const pgWhy = postgresUnavailable();
if (pgWhy && process.env.CI) throw new Error(`CI must run the store tests on PostgreSQL: ${pgWhy}`);
const OBSOLETE = KUBEVIRT_OBSOLETE_MODELS;
const NAMES = ['Xeon-E5-2650-v3', 'Core-i7-8700', 'EPYC-7601-32-Core'];

let work: string;
let pg: TestPostgres | null = null;
const files: string[] = [];
const expectedModels: Record<string, string[]> = {};
const expectedFeatures: Record<string, Set<string>> = {};

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'kvcpu-fleet-kv-'));
  if (!pgWhy) pg = await startPostgres();
  if (!cpus.length) return;
  const map = (
    JSON.parse(readFileSync(path.join(path.dirname(REAL_CPUS), 'libvirt-9.0-cpu-map.json'), 'utf8')) as { models: { name: string; features: string[] }[] }
  ).models;
  const qemu = new Set(
    (
      JSON.parse(readFileSync(path.join(path.dirname(REAL_CPUS), 'qemu-7.2-models.json'), 'utf8')) as {
        accels: { tcg: { cpu_definitions: { name: string }[] } };
      }
    ).accels.tcg.cpu_definitions.map((d) => d.name),
  );
  for (const n of NAMES) {
    const c = cpus.find((c) => c.name === n)!;
    const d = c.libvirt_expected!.host_decode!;
    const have = new Set([...map.find((m) => m.name === d.model)!.features, ...(d.require ?? [])]);
    expectedFeatures[n] = have;
    expectedModels[n] = map
      .filter((m) => qemu.has(m.name) && !OBSOLETE.has(m.name) && m.features.every((f) => have.has(f)))
      .map((m) => m.name)
      .sort();
    const f = path.join(work, `${n}.caps.xml`);
    writeFileSync(f, capabilitiesXml(c));
    files.push(f);
  }
  const rep = await runCli(['report', '--root', capture, '--json']);
  expect(rep.code, rep.err).toBe(0);
  const report = JSON.parse(rep.out) as { host: { hostname: string | null }; sections: { models: { data: { runnable: string[] } } } };
  const libvirtModels = new Set(map.map((m) => m.name));
  const repName = report.host.hostname ?? 'epyc-report';
  expectedModels[repName] = report.sections.models.data.runnable.filter((m) => libvirtModels.has(m) && qemu.has(m) && !OBSOLETE.has(m)).sort();
  const rf = path.join(work, `epyc-report.json`);
  writeFileSync(rf, rep.out);
  files.push(rf);
}, 180_000);

afterAll(async () => {
  await pg?.stop();
  rmSync(work, { recursive: true, force: true });
});

const backends = [
  { name: 'sqlite', db: () => path.join(mkdtempSync(path.join(work, 'db-')), 'fleet.db') },
  { name: 'postgres', db: () => pg!.newDatabase() },
] as const;

interface Answer {
  matching: string[];
  lacking: Record<string, string[]>;
  everywhere: string[];
  hosts: number;
  nodes?: { host: string; labels: Record<string, string>; modelsFrom: string }[];
}

describe.each(backends)('fleet kubevirt on $name', ({ name, db: makeDb }) => {
  const skip = (name === 'postgres' && pgWhy !== null) || !cpus.length;
  let db: string;
  beforeAll(async () => {
    if (skip) return;
    db = await makeDb();
    const r = await runCli(['fleet', 'import', '--db', db, ...files]);
    expect(r.code, r.err).toBe(0);
  }, 60_000);

  it.skipIf(skip)('labels every stored host: models from the report or from the CPU, obsolete ones dropped', async () => {
    const r = await runCli(['fleet', 'kubevirt', '--db', db, '--labels', '--json']);
    expect(r.code, r.err).toBe(0);
    const a = JSON.parse(r.out) as Answer;
    expect(a.hosts).toBe(4);
    let counted = 0;
    for (const n of a.nodes!) {
      const models = Object.keys(n.labels)
        .filter((k) => k.startsWith('cpu-model.node.kubevirt.io/'))
        .map((k) => k.slice(27))
        .sort();
      expect(models, n.host).toEqual(expectedModels[n.host]);
      expect(n.modelsFrom).toBe(NAMES.includes(n.host) ? 'cpu' : 'report');
      if (NAMES.includes(n.host)) {
        const feats = Object.keys(n.labels)
          .filter((k) => k.startsWith('cpu-feature.node.kubevirt.io/'))
          .map((k) => k.slice(29));
        expect(new Set(feats)).toEqual(expectedFeatures[n.host]);
      }
      counted++;
    }
    expect(counted).toBe(4);
    // Schedulable everywhere: the models every host's labels carry.
    const every = Object.values(expectedModels).reduce((acc, ms) => acc.filter((m) => ms.includes(m)));
    expect(a.everywhere).toEqual(every.sort());
    expect(a.everywhere.length).toBeGreaterThan(0);
    expect(a.everywhere).not.toContain('Haswell-noTSX'); // the EPYC hosts cannot
  });

  it.skipIf(skip)('a VMI with cpu.model Haswell-noTSX schedules on the Intel hosts only; avx512f nowhere; exit 1 when no node matches', async () => {
    const r = await runCli(['fleet', 'kubevirt', '--db', db, '--model', 'Haswell-noTSX', '--json']);
    expect(r.code, r.err).toBe(0);
    const a = JSON.parse(r.out) as Answer;
    expect(a.matching).toEqual(
      Object.keys(expectedModels)
        .filter((h) => expectedModels[h]!.includes('Haswell-noTSX'))
        .sort(),
    );
    expect(a.matching).toEqual(['Core-i7-8700', 'Xeon-E5-2650-v3']);
    expect(a.lacking['EPYC-7601-32-Core']).toEqual(['cpu-model.node.kubevirt.io/Haswell-noTSX']);
    const f = await runCli(['fleet', 'kubevirt', '--db', db, '--model', 'Haswell-noTSX', '--features', 'avx512f', '--json']);
    expect(f.code).toBe(1);
    expect((JSON.parse(f.out) as Answer).matching).toEqual([]);
    const sha = await runCli(['fleet', 'kubevirt', '--db', db, '--features', 'sha-ni', '--json']);
    // The report host's CPU has sha-ni when its cpuinfo has sha_ni (EPYC 7451: yes).
    const reportHasSha = /^flags\s*:.*\bsha_ni\b/m.test(readFileSync(path.join(capture, 'proc/cpuinfo'), 'utf8'));
    const shaHosts = [
      ...NAMES.filter((n) => expectedFeatures[n]!.has('sha-ni')),
      ...(reportHasSha ? Object.keys(expectedModels).filter((h) => !NAMES.includes(h)) : []),
    ];
    expect((JSON.parse(sha.out) as Answer).matching).toEqual(shaHosts.sort());
    expect(shaHosts.length).toBe(2);
  });
});
