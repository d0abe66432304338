// Fleet store at scale: 10,000 hosts drawn from the real CPUs of ../shared/reference/cpu/real-cpus.json
// (libvirt's host decode of each CPUID dump, as `virsh capabilities` would report it), imported into
// SQLite and into a real PostgreSQL 15, then `fleet pools` and `fleet baseline` from the store, side
// by side with `virsh cpu-baseline` over the same 10,000 host CPUs (what an admin would run).
// Goals (issue: fleet): pools over 10,000 stored hosts < 200 ms in-process, < 1 s as a CLI call;
// import of 10,000 reports < 30 s. KVCPU_BENCH_HOSTS changes the count.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetBaseline, fleetPools } from '../src/app/fleet-query.ts';
import { loadCpuMap } from '../src/cpu-baseline/read-cpu-map.ts';
import { indexCpuMap } from '../src/cpu-baseline/x86-map.ts';
import { openFleetStore } from '../src/store/open-fleet-store.ts';
import { importFleet } from '../src/store/import-fleet.ts';
import { loadFleetHosts } from '../src/store/load-fleet.ts';
import { hostCpuXml, loadRealCpus } from '../test/support/fleet-inputs.ts';
import { postgresUnavailable, startPostgres } from '../test/support/postgres.ts';
import { mulberry32 } from '../src/core/seeded-random.ts';

const N = Number(process.env.KVCPU_BENCH_HOSTS ?? 10_000);
const bin = fileURLToPath(new URL('../bin/kvcpu.js', import.meta.url));
const cpus = loadRealCpus().filter((c) => c.vendor === 'Intel');
if (cpus.length === 0) {
  console.log('skipped: ../shared/reference/cpu/real-cpus.json not found');
  process.exit(0);
}
const x = indexCpuMap(loadCpuMap({ source: 'auto' }));
const work = mkdtempSync(path.join(tmpdir(), 'kvcpu-bench-fleet-'));
const rand = mulberry32(20261203);

// 10,000 hosts of ~10 generations: a fleet is a few models bought in bulk, not 49 CPUs evenly.
const generations = Array.from({ length: 10 }, () => cpus[Math.floor(rand() * cpus.length)]!);
const inputs = path.join(work, 'hosts');
mkdirSync(inputs);
const all: string[] = [];
for (let i = 0; i < N; i++) {
  const c = generations[Math.floor(rand() * generations.length)]!;
  const xml = hostCpuXml(c);
  writeFileSync(path.join(inputs, `h${String(i).padStart(5, '0')}.xml`), xml);
  all.push(xml);
}
// virsh takes one file with every host's <cpu> element one after another, no root element: it
// wraps the file in its own container and reads the <cpu> children of that (virsh-host.c).
const together = path.join(work, 'all.xml');
writeFileSync(together, all.join(''));

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const rows: [string, number][] = [];
let peakRss = 0;
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function run(backend: string, db: string) {
  let t0 = process.hrtime.bigint();
  const store = await openFleetStore(db);
  const s = await importFleet(store, x, [inputs]);
  rows.push([`${backend}: import ${N} hosts`, ms(t0)]);
  if (s.failed.length) throw new Error(`import failed: ${JSON.stringify(s.failed.slice(0, 3))}`);
  sample();
  const times: number[] = [];
  for (let k = 0; k < 5; k++) {
    t0 = process.hrtime.bigint();
    const hosts = await loadFleetHosts(store);
    fleetPools(x, hosts);
    times.push(ms(t0));
    sample();
  }
  rows.push([`${backend}: fleet pools (in-process, load + compute)`, times.sort((a, b) => a - b)[2]!]);
  t0 = process.hrtime.bigint();
  fleetBaseline(x, await loadFleetHosts(store));
  rows.push([`${backend}: fleet baseline (in-process)`, ms(t0)]);
  await store.close();
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS; // adds ~90 ms to every node start on these machines
  t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'fleet', 'pools', '--db', db, '--json'], { env, maxBuffer: 1 << 28 });
  rows.push([`${backend}: kvcpu fleet pools --json (CLI)`, ms(t0)]);
  if (r.status !== 0) throw new Error(`fleet pools failed: ${String(r.stderr)}`);
}

await run('sqlite', path.join(work, 'fleet.db'));
const why = postgresUnavailable();
if (why) console.log(`PostgreSQL part skipped: ${why}`);
else {
  const pg = await startPostgres();
  try {
    await run('postgres', await pg.newDatabase());
  } finally {
    await pg.stop();
  }
}
if (spawnSync('virsh', ['--version']).status === 0) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('virsh', ['-c', 'test:///default', 'cpu-baseline', together], { maxBuffer: 1 << 26 });
  rows.push([`virsh cpu-baseline (${N} CPUs, test driver)`, ms(t0)]);
  if (r.status !== 0) console.log(`virsh cpu-baseline failed: ${String(r.stderr)}`);
} else console.log('virsh not installed: apt-get install libvirt-clients');
rmSync(work, { recursive: true, force: true });

const w = Math.max(...rows.map(([n]) => n.length));
console.log(`fleet of ${N} hosts (${generations.length} CPU generations), medians of 5 for in-process pools; node start without NODE_EXTRA_CA_CERTS`);
for (const [name, t] of rows) console.log(`${name.padEnd(w)}  ${t.toFixed(1).padStart(10)} ms`);
const pools = rows.find(([n]) => n.startsWith('sqlite: fleet pools'))?.[1];
const virsh = rows.find(([n]) => n.startsWith('virsh'))?.[1];
if (pools && virsh) console.log(`virsh cpu-baseline / kvcpu fleet pools (sqlite, in-process): ${(virsh / pools).toFixed(1)}x`);
console.log(`peak RSS ${(peakRss / 1048576).toFixed(0)} MiB`);
