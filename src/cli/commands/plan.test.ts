import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PinPlanSchema } from '../../plan/pin-plan.ts';
import { checkNovaAnswer } from '../../plan/check-nova-answer.ts';
import { main } from '../main.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const reference = path.resolve(repoRoot, '../shared/reference');
const novaCases = path.join(reference, 'nova/pinning-cases.jsonl');
const epyc = path.join(reference, 'hosts/cases/ul-x86_64-epyc_7451/root');
const fixtures = path.join(repoRoot, 'test/fixtures/hosts');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvcpu-cli-plan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from(stdin ? [stdin] : []) });
  return { code, out, err };
}

const simpleCase = {
  kind: 'fit_host',
  host: {
    cells: [
      {
        id: 0,
        cpuset: [0, 1, 2, 3],
        pcpuset: [0, 1, 2, 3],
        siblings: [
          [0, 2],
          [1, 3],
        ],
        memory: 4096,
        memory_usage: 0,
        cpu_usage: 0,
        pinned_cpus: [0],
        mempages: [],
      },
      {
        id: 1,
        cpuset: [4, 5, 6, 7],
        pcpuset: [4, 5, 6, 7],
        siblings: [
          [4, 6],
          [5, 7],
        ],
        memory: 4096,
        memory_usage: 0,
        cpu_usage: 0,
        pinned_cpus: [],
        mempages: [],
      },
    ],
  },
  instance: {
    emulator_threads_policy: 'isolate',
    cells: [{ cpuset: [], pcpuset: [0, 1], memory: 1024, pagesize: null, cpu_policy: 'dedicated', cpu_thread_policy: 'require' }],
  },
  limits: { cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5 },
};

describe('kvcpu plan nova', () => {
  it('answers one case file in Nova shape, with a valid pinning', async () => {
    const f = path.join(tmp, 'case.json');
    writeFileSync(f, JSON.stringify(simpleCase));
    const r = await run(['plan', 'nova', f, '--check', '--explain']);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.out);
    expect(a.fits).toBe(true);
    // Spread: host cell 1 has more free pCPUs, so Nova tries it first.
    expect(a.cells[0]).toMatchObject({ instance_cell: 0, host_cell: 1 });
    expect(a.cells[0].pinning).toEqual([
      [0, 4],
      [1, 6],
    ]);
    expect(a.cells[0].cpuset_reserved).toHaveLength(1);
    expect(a.check).toEqual([]);
    expect(checkNovaAnswer(simpleCase, a)).toEqual([]);
    expect(a.reasons[0]).toMatch(/require/);
  });

  it('exits 1 on no fit and names why', async () => {
    const c = structuredClone(simpleCase);
    c.instance.cells[0]!.pcpuset = [0, 1, 2, 3, 4];
    const r = await run(['plan', 'nova', '-', '--explain'], JSON.stringify(c));
    expect(r.code).toBe(1);
    const a = JSON.parse(r.out);
    expect(a).toMatchObject({ fits: false, cells: [] });
    expect(a.reasons.join(' ')).toMatch(/fits no host cell/);
  });

  it.skipIf(!existsSync(novaCases))('--batch answers one line per case, notes Nova bugs, reports bad lines', async () => {
    const lines = readFileSync(novaCases, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => /"kind": "fit_host"/.test(l))
      .slice(0, 40);
    const hand = readFileSync(novaCases, 'utf8')
      .split('\n')
      .find((l) => l.includes('"pin-hand-001"'))!;
    const input = [...lines, hand, '{"kind":"fit_host","host":{}}', 'not json'].join('\n') + '\n';
    const r = await run(['plan', 'nova', '--batch'], input);
    expect(r.code).toBe(2);
    const out = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(lines.length + 3);
    lines.forEach((l, i) => {
      const d = JSON.parse(l);
      if (!d.flags?.bug_free_search_agrees && d.flags?.bug_free_search_agrees !== undefined) return;
      if (d.expected.host_after?.error === 'CPUPinningInvalid' || d.flags?.master_semantics_agrees === false) return;
      expect(out[i].fits).toBe(d.expected.fits);
    });
    expect(out[lines.length]).toMatchObject({ fits: true });
    expect(out[lines.length].nova_bug).toMatch(/caches fit results/);
    expect(out[lines.length + 1].error.code).toBe('E_BAD_INPUT');
    expect(out[lines.length + 2].error.code).toBe('E_BAD_JSON');
  });

  /** Every shared case of one kind through `plan nova --batch`: Nova's exception class, or `field` equal. */
  async function expectBatchMatches(kind: string, field: string): Promise<void> {
    const lines = readFileSync(novaCases, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.includes(`"kind": "${kind}"`));
    const r = await run(['plan', 'nova', '--batch'], lines.join('\n'));
    expect(r.code).toBe(0);
    const out = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(lines.length);
    lines.forEach((l, i) => {
      const want = JSON.parse(l).expected;
      if (want.error) expect(out[i].error).toBe(want.error);
      else expect(out[i][field]).toEqual(want[field]);
    });
  }

  it.skipIf(!existsSync(novaCases))('answers usage (claim accounting) cases too', () => expectBatchMatches('usage', 'host_after'));

  it.skipIf(!existsSync(novaCases))('answers constraints (flavor → guest NUMA) cases, exit 1 on a Nova refusal', async () => {
    await expectBatchMatches('constraints', 'instance');
    const refused = await run(
      ['plan', 'nova', '-'],
      JSON.stringify({ kind: 'constraints', vcpus: 4, memory_mb: 2048, flavor_extra_specs: { 'hw:numa_nodes': '3' } }),
    );
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out).error).toBe('ImageNUMATopologyAsymmetric');
  });

  it('fits a flavor (+ image) given instead of an instance, and shows the derived guest request', async () => {
    const { instance: _drop, ...hostOnly } = simpleCase;
    const flavor = { vcpus: 2, memory_mb: 1024, extra_specs: { 'hw:cpu_policy': 'dedicated', 'hw:emulator_threads_policy': 'isolate' } };
    const r = await run(['plan', 'nova', '-', '--check'], JSON.stringify({ ...hostOnly, flavor, image_properties: { hw_cpu_thread_policy: 'require' } }));
    expect(r.code).toBe(0);
    const a = JSON.parse(r.out);
    expect(a.instance.cells[0]).toMatchObject({ pcpuset: [0, 1], cpu_policy: 'dedicated', cpu_thread_policy: 'require' });
    expect(a.instance.emulator_threads_policy).toBe('isolate');
    expect(a).toMatchObject({ fits: true, check: [] });
    expect(a.cells[0].pinning).toEqual([
      [0, 4],
      [1, 6],
    ]);
    const floating = JSON.parse(
      (await run(['plan', 'nova', '-'], JSON.stringify({ ...hostOnly, flavor: { vcpus: 2, memory_mb: 1024, extra_specs: {} } }))).out,
    );
    expect(floating).toEqual({ fits: true, cells: [], instance: null });
    const refused = await run(
      ['plan', 'nova', '-'],
      JSON.stringify({ ...hostOnly, flavor: { vcpus: 2, memory_mb: 1024, extra_specs: { 'hw:cpu_thread_policy': 'isolate' } } }),
    );
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out).error).toBe('CPUThreadPolicyConfigurationInvalid');
  });

  it('--zed reproduces Nova 26.2.2 where kvcpu fixes a defect (isolate emulator CPU on a half-used core)', async () => {
    const c = {
      kind: 'fit_host',
      host: {
        cells: [
          {
            id: 0,
            cpuset: [0, 1, 2, 3, 4, 5],
            pcpuset: [0, 1, 2, 3, 4, 5],
            siblings: [
              [0, 1],
              [2, 3],
              [4, 5],
            ],
            memory: 2048,
            memory_usage: 0,
            cpu_usage: 0,
            pinned_cpus: [0],
            mempages: [],
          },
        ],
      },
      instance: {
        emulator_threads_policy: 'isolate',
        cells: [{ cpuset: [], pcpuset: [0, 1], memory: 2048, pagesize: null, cpu_policy: 'dedicated', cpu_thread_policy: 'isolate' }],
      },
      limits: null,
    };
    const fixed = JSON.parse((await run(['plan', 'nova', '-'], JSON.stringify(c))).out);
    expect(fixed.fits).toBe(false);
    expect(fixed.nova_bug).toMatch(/CPUPinningInvalid/);
    const zed = JSON.parse((await run(['plan', 'nova', '-', '--zed'], JSON.stringify(c))).out);
    expect(zed.fits).toBe(true);
    expect(zed.cells[0].cpuset_reserved).toEqual([1]);
  });

  it('refuses a malformed case with E_BAD_INPUT (exit 2)', async () => {
    const r = await run(
      ['plan', 'nova', '-', '--json'],
      JSON.stringify({ kind: 'fit_host', host: { cells: [] }, instance: { cells: [{ cpu_policy: 'bogus' }] } }),
    );
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe('E_BAD_INPUT');
  });
});

describe.skipIf(!existsSync(epyc))('kvcpu plan (native) on a captured 2×EPYC 7451 (8 nodes, 16 L3 domains, SMT)', () => {
  it('writes a pin plan that kvcpu pin --plan can read, keeping a 4-vCPU guest and its emulator CPU in one L3 domain', async () => {
    const r = await run([
      'plan',
      '--root',
      epyc,
      '--reserved',
      '0,48',
      '--guest',
      'name=web,vcpus=4,emulator=isolate',
      '--guest',
      'name=db,vcpus=4,threads=isolate',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const plan = PinPlanSchema.parse(j);
    expect(plan.guests.map((g) => g.name)).toEqual(['web', 'db']);
    const web = plan.guests[0]!;
    expect(Object.keys(web.vcpus)).toEqual(['0', '1', '2', '3']);
    // One CCX of the 7451 = 3 cores × 2 threads = 6 CPUs (e.g. 6-8,54-56).
    const cpus = Object.values(web.vcpus).map(Number);
    const l3 = j.placements[0].cells[0].l3 as string;
    expect(l3).toMatch(/^\d+-\d+,\d+-\d+$/);
    expect(new Set(cpus).size).toBe(4);
    const dom = new Set(
      l3.split(',').flatMap((r) => {
        const [a, b] = r.split('-').map(Number);
        return Array.from({ length: b! - a! + 1 }, (_, i) => a! + i);
      }),
    );
    for (const c of [...cpus, Number(web.emulator)]) expect(dom.has(c)).toBe(true);
    expect(web.topology).toMatchObject({ sockets: 1, cores: 2, threads: 2 });
    expect(web.emulator).not.toBeNull();
    expect(cpus).not.toContain(Number(web.emulator));
    const db = plan.guests[1]!;
    expect(db.topology).toMatchObject({ cores: 4, threads: 1 });
    const dbCpus = Object.values(db.vcpus).map(Number);
    // isolate: no two vCPUs on sibling threads (siblings on this host are n and n+48).
    for (const c of dbCpus) expect(dbCpus).not.toContain(c < 48 ? c + 48 : c - 48);
    expect([...cpus, ...dbCpus]).not.toContain(0);
    expect([...cpus, ...dbCpus]).not.toContain(48);
    expect(j.hostAfter.pinned).toBeTruthy();
  });

  it('refuses with the failed constraint and exit 1', async () => {
    const r = await run(['plan', '--root', epyc, '--guest', 'name=huge,vcpus=13,threads=isolate']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^guest huge: REFUSED: guest node 0 on host node \d+: 13 dedicated CPUs > 12 in the cell's dedicated set/m);
  });

  it('renders libvirt, virsh, qemu, kubevirt and nova forms of the same plan', async () => {
    const g = ['--root', epyc, '--reserved', '0,48', '--guest', 'name=g1,vcpus=4,emulator=isolate,iothreads=1,numa=2'];
    const lv = (await run(['plan', ...g, '--format', 'libvirt'])).out;
    expect(lv).toMatch(/<vcpupin vcpu='3' cpuset='\d+'\/>/);
    expect(lv).toMatch(/<emulatorpin cpuset='\d+'\/>/);
    expect(lv).toMatch(/<iothreadpin iothread='1' cpuset='\d+'\/>/);
    expect(lv).toMatch(/<memnode cellid='1' mode='strict' nodeset='\d+'\/>/);
    expect(lv).toMatch(/<topology sockets='2' dies='1' cores='1' threads='2'\/>/);
    const vs = (await run(['plan', ...g, '--format', 'virsh'])).out;
    expect(vs).toMatch(/^virsh vcpupin g1 0 \d+ --live --config$/m);
    expect(vs).toMatch(/^virsh emulatorpin g1 \d+ --live --config$/m);
    const q = (await run(['plan', ...g, '--format', 'qemu'])).out;
    expect(q).toMatch(/-smp cpus=4,sockets=2,(dies=1,)?cores=1,threads=2,maxcpus=4/);
    expect(q).toMatch(/^taskset -pc \d+ \$\(tid CPU 0\/\)$/m);
    expect(q).toMatch(/-numa node,nodeid=1,cpus=2-3,memdev=ram1/);
    expect(q).toMatch(/-object memory-backend-ram,id=ram1,size=\d+M,host-nodes=\d+,policy=bind/);
    const kv = (await run(['plan', ...g, '--format', 'kubevirt'])).out;
    expect(kv).toMatch(/dedicatedCpuPlacement: true/);
    expect(kv).toMatch(/isolateEmulatorThread: true/);
    expect(kv).toMatch(/guestMappingPassthrough/);
    const nv = (await run(['plan', ...g, '--format', 'nova'])).out;
    expect(nv).toMatch(
      /--property hw:cpu_policy=dedicated \\\n  --property hw:cpu_thread_policy=prefer \\\n  --property hw:emulator_threads_policy=isolate \\\n/,
    );
    expect(nv).toMatch(/--property hw:numa_nodes=2 \\\n  --property hw:numa_cpus.0=0-1 \\\n  --property hw:numa_mem.0=\d+ \\\n  --property hw:numa_cpus.1=2-3/);
    expect(kv).toMatch(/pageSize: 2Mi/);
    expect(kv).toMatch(/guest: \d+Mi/);
    const pm = (await run(['plan', ...g, '--format', 'proxmox'])).out;
    expect(pm).toMatch(/^numa1: cpus=2-3,hostnodes=\d+,memory=\d+,policy=bind$/m);
    expect(pm).toMatch(/^affinity: [\d,-]+$/m);
    const two = await run(['plan', '--root', epyc, '--guest', 'name=a,vcpus=2', '--guest', 'name=b,vcpus=2', '--format', 'libvirt']);
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/E_PLAN_ONE_GUEST/);
  });

  it('refuses incoherent CPU sets with E_PLAN_SETS (exit 2)', async () => {
    const r = await run(['plan', '--root', epyc, '--reserved', '0-3', '--dedicated-set', '2-40', '--guest', 'name=a,vcpus=1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_PLAN_SETS: --reserved and --dedicated-set overlap: CPUs 2-3/);
  });

  it('takes the host from `kvcpu host --json` output and guests from a JSON file', async () => {
    const hostJson = path.join(tmp, 'host.json');
    writeFileSync(hostJson, (await run(['host', '--json', '--root', epyc])).out);
    const guests = path.join(tmp, 'guests.json');
    writeFileSync(guests, JSON.stringify([{ name: 'm', vcpus: 4, policy: 'mixed', mask: '0-1', memory: 2048 }]));
    const r = await run(['plan', '--host', hostJson, '--guests', guests, '--shared-set', '1-5', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.guests[0].vcpus['2']).toBe('1-5');
    expect(j.guests[0].vcpus['0']).toMatch(/^\d+$/);
  });
});

describe.skipIf(!existsSync(path.join(fixtures, 'this-machine-amd-epyc-2c')))('kvcpu plan on this machine shape (2 CPUs)', () => {
  it('plans two 1-vCPU guests on different CPUs', async () => {
    const r = await run([
      'plan',
      '--root',
      path.join(fixtures, 'this-machine-amd-epyc-2c'),
      '--guest',
      'name=a,vcpus=1',
      '--guest',
      'name=b,vcpus=1',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = PinPlanSchema.parse(JSON.parse(r.out));
    expect(new Set([j.guests[0]!.vcpus['0'], j.guests[1]!.vcpus['0']]).size).toBe(2);
  });
});
