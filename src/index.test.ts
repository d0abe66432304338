import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kvcpu from './index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = path.join(repoRoot, 'test/fixtures/hosts/this-machine-amd-epyc-2c');

describe('library entry (src/index.ts)', () => {
  it('exposes a small API by name and nothing from the CLI or the tests', () => {
    for (const name of ['readHost', 'parseSmp', 'parseCpulist', 'renderTopology', 'planGuests', 'runChecks', 'KvcpuError', 'kvcpuVersion']) {
      expect(typeof (kvcpu as Record<string, unknown>)[name], name).toBe('function');
    }
    const names = Object.keys(kvcpu);
    expect(names.length).toBeLessThan(40);
    expect(names.filter((k) => /^(main|buildProgram|register[A-Z]|act|generate\w*Cases|mulberry32|load\w*Vectors)$/.test(k))).toEqual([]);
  });

  it('each capability entry point (package.json exports) carries its API', async () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
    const expected: Record<string, string> = {
      host: 'captureHost',
      check: 'probeKvm',
      smp: 'enumerateSlots',
      topology: 'chooseNovaTopology',
      render: 'renderLibvirt',
      'cpu-models': 'modelRunnability',
      'cpu-baseline': 'planPools',
      guests: 'pinGuests',
      plan: 'fitNovaHost',
      qmp: 'QmpClient',
      report: 'collectReport',
    };
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './package.json', ...Object.keys(expected).map((c) => `./${c}`)].sort());
    for (const [cap, name] of Object.entries(expected)) {
      // The export points at the build (dist/lib/<cap>/index.js); its source is src/<cap>/index.ts.
      expect(pkg.exports[`./${cap}`]!.default).toBe(`./dist/lib/${cap}/index.js`);
      const mod = (await import(`./${cap}/index.ts`)) as Record<string, unknown>;
      expect(typeof mod[name], `${cap}.${name}`).toBe('function');
      expect(
        Object.keys(mod).filter((k) => /^(generate\w*Cases|mulberry32|load\w*Vectors)$/.test(k)),
        cap,
      ).toEqual([]);
    }
  });

  it('cpulists round-trip through the kernel list format', () => {
    expect(kvcpu.parseCpulist('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(kvcpu.formatCpulist([11, 0, 2, 1, 3, 10, 8, 8])).toBe('0-3,8,10-11');
    // 0x5 = CPUs 0 and 2; the second 32-bit word (0x1) is CPU 32.
    expect(kvcpu.parseCpumask('00000001,00000005')).toEqual([0, 2, 32]);
    expect(() => kvcpu.parseCpulist('3-1')).toThrow(expect.objectContaining({ code: 'E_BAD_CPULIST' }));
  });

  it('parseSmp fills a bare count the way QEMU 7.2 does, and errors are values', () => {
    const r = kvcpu.parseSmp('4');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const t = r.topology;
    expect(t.cpus).toBe(4);
    expect(t.maxcpus).toBe(4);
    // hw/core/machine-smp.c: machine types >= 6.2 prefer cores (1 socket x 4 cores), <= 6.1 sockets.
    expect([t.sockets, t.cores, t.threads]).toEqual([1, 4, 1]);
    const legacy = kvcpu.parseSmp('4', { machine: 'pc-q35-6.1' });
    expect(legacy.ok && [legacy.topology.sockets, legacy.topology.cores]).toEqual([4, 1]);
    const bad = kvcpu.parseSmp('4,sockets=3');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toMatch(/^E_SMP_/);
    // The parsed topology renders for consumers through the same entry.
    expect(kvcpu.renderTopology(t, 'qemu')).toContain('4');
  });

  it.skipIf(!existsSync(fixture))('readHost reads a captured tree and agrees with its lscpu oracle', () => {
    const expected = JSON.parse(readFileSync(path.join(fixture, 'expected.json'), 'utf8')) as {
      arch: string;
      cpus: { online: string };
      cpu: { vendor: string };
      topology: { sockets: number; cores: number; threads_per_core: number };
      numa: { nodes: { id: number; cpus: string }[] };
    };
    const snap = kvcpu.readHost({ root: fixture });
    expect(snap.arch).toBe(expected.arch);
    expect(snap.cpus.online).toBe(expected.cpus.online);
    expect(snap.cpu.vendor).toBe(expected.cpu.vendor);
    expect(snap.topology.sockets).toBe(expected.topology.sockets);
    expect(snap.topology.cores).toBe(expected.topology.cores);
    expect(snap.topology.threadsPerCore).toBe(expected.topology.threads_per_core);
    expect(snap.numa.nodes.map((n) => ({ id: n.id, cpus: n.cpus }))).toEqual(expected.numa.nodes);

    // Downstream capabilities take the snapshot as plain data.
    const online = kvcpu.parseCpulist(snap.cpus.online);
    const s = kvcpu.suggestTopology({ vcpus: online.length, host: snap });
    expect(s.topology.cpus).toBe(online.length);
    const host = kvcpu.buildPlanHost(snap);
    const plan = kvcpu.planGuests(host, [kvcpu.parseGuestSpec(`name=g1,vcpus=${online.length},policy=shared`)]);
    expect(plan.guests).toHaveLength(1);
  });

  it('readHost on a missing root throws a KvcpuError with a stable code', () => {
    let err: unknown;
    try {
      kvcpu.readHost({ root: path.join(repoRoot, 'no-such-capture-dir') });
    } catch (e) {
      err = e;
    }
    expect(kvcpu.isKvcpuError(err)).toBe(true);
    expect((err as kvcpu.KvcpuError).code).toBe('E_SYSFS_MISSING');
  });
});
