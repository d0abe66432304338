import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../core/cpulist.ts';
import { compareWithExpected } from './compare-expected.ts';
import { readHost } from './read-host.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(repoRoot, 'test/fixtures/hosts');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvcpu-read-host-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

describe('readHost on this machine’s committed capture', () => {
  const root = path.join(fixtures, 'this-machine-amd-epyc-2c');
  it('matches the lscpu answers copied into expected.json', () => {
    const expected = JSON.parse(readFileSync(path.join(root, 'expected.json'), 'utf8'));
    const snap = readHost({ root });
    expect(compareWithExpected(snap, expected)).toEqual([]);
    expect(snap.cpu).toMatchObject({ vendor: 'AuthenticAMD', modelNames: ['AMD EPYC'], family: 26, model: 2, stepping: 1 });
    expect(snap.cpu.hwVirtualization).toBeNull(); // nested PVM guest: no svm flag although KVM works
    expect(snap.perCpu.map((r) => [r.cpu, r.socket, r.core, r.node, r.siblings])).toEqual([
      [0, 0, 0, 0, '0'],
      [1, 0, 1, 0, '1'],
    ]);
    expect(snap.numa.nodes[0]!.memoryKb).toBeGreaterThan(0);
    expect(snap.numa.nodes[0]!.distances).toEqual([10]);
  });
});

describe('readHost on a hand-made old-kernel tree (hex masks, offline CPU, sparse CPU-less node)', () => {
  const root = path.join(fixtures, 'old-kernel-hexmask-2s2c2t');
  const snap = readHost({ root });

  it('derives online/offline from per-CPU online files (CPU0 has none)', () => {
    expect(snap.cpus).toMatchObject({ possible: null, present: null, online: '0-4,6-7', offline: '5' });
    expect(snap.warnings.join('\n')).toMatch(/cpu\/online is absent/);
  });

  it('groups cores by thread_siblings masks, not by the repeated core_id', () => {
    expect(snap.topology.coreGroups).toEqual(['0,4', '1', '2,6', '3,7']);
    expect(snap.topology).toMatchObject({ sockets: 2, cores: 4, threadsPerCore: 2, threadsPerCoreMin: 1, coresPerSocket: 2, smt: true, dies: null });
    expect(snap.topology.packages).toEqual([
      { id: 0, cpus: '0-1,4' },
      { id: 1, cpus: '2-3,6-7' },
    ]);
    expect(snap.topology.l3Domains).toEqual(['0-1,4', '2-3,6-7']);
  });

  it('keeps the offline CPU as a row without topology', () => {
    expect(snap.perCpu.find((r) => r.cpu === 5)).toMatchObject({ online: false, socket: null, core: null, siblings: null, node: 0 });
    expect(snap.perCpu.find((r) => r.cpu === 2)).toMatchObject({ socket: 1, coreId: 0, core: 2, siblings: '2,6', l3: '2-3,6-7' });
  });

  it('reads cpumap-only nodes, sparse ids and CPU-less nodes', () => {
    expect(snap.numa.nodes).toEqual([
      { id: 0, cpus: '0-7', memoryKb: 16384000, distances: [10, 20] },
      { id: 2, cpus: '', memoryKb: 8192000, distances: [20, 10] },
    ]);
  });

  it('survives the dangling cpu0/cpufreq symlink and reports per-CPU flag differences', () => {
    expect(snap.perCpu[0]!.maxMhz).toBeNull();
    expect(snap.cpu.flagsNotOnAllCpus).toEqual(['lahf_lm']);
    expect(snap.cpu.vmxFlags).toContain('unrestricted_guest');
    expect(snap.cpu.hwVirtualization).toBe('vmx');
  });
});

describe('readHost on a hand-made POWER9 LPAR tree (package id -1, no NUMA directory)', () => {
  const snap = readHost({ root: path.join(fixtures, 'ppc64le-lpar-pkg-minus1') });
  it('takes packages from core_siblings when physical_package_id is -1', () => {
    expect(snap.arch).toBe('ppc64le');
    expect(snap.topology.packages).toEqual([
      { id: null, cpus: '0-3' },
      { id: null, cpus: '4-7' },
    ]);
    expect(snap.topology).toMatchObject({ sockets: 2, cores: 2, threadsPerCore: 4 });
    expect(snap.perCpu.every((r) => r.socket === null && r.node === 0)).toBe(true);
    expect(snap.numa.nodes).toEqual([]);
    expect(snap.cpus).toMatchObject({ possible: '0-15', present: '0-7', offline: '' });
    expect(snap.cpu.modelNames).toEqual(['POWER9 (architected), altivec supported']);
    expect(snap.cpu.flags).toEqual([]);
  });
});

describe('readHost edge cases', () => {
  it('throws E_SYSFS_MISSING for a root without sysfs or cpuinfo', () => {
    const root = path.join(tmp, 'empty');
    mkdirSync(root, { recursive: true });
    expect(() => readHost({ root })).toThrow(expect.objectContaining({ code: 'E_SYSFS_MISSING' }));
    expect(() => readHost({ root: path.join(tmp, 'does-not-exist') })).toThrow(expect.objectContaining({ code: 'E_SYSFS_MISSING' }));
  });

  it('throws E_PROCFS_MISSING when sysfs exists but /proc/cpuinfo does not', () => {
    const root = path.join(tmp, 'noproc');
    write(path.join(root, 'sys/devices/system/cpu/online'), '0\n');
    mkdirSync(path.join(root, 'sys/devices/system/cpu/cpu0'));
    expect(() => readHost({ root })).toThrow(expect.objectContaining({ code: 'E_PROCFS_MISSING' }));
  });

  it('falls back to cpuinfo physical id / core id without any sysfs topology (2.6.9 kernels)', () => {
    const root = path.join(tmp, 'cpuinfo-only');
    const rec = (cpu: number, pkg: number, core: number) =>
      `processor\t: ${cpu}\nvendor_id\t: GenuineIntel\nphysical id\t: ${pkg}\ncore id\t\t: ${core}\nflags\t\t: fpu vmx lm\n`;
    write(path.join(root, 'proc/cpuinfo'), [rec(0, 0, 0), rec(1, 3, 0), rec(2, 0, 1), rec(3, 3, 1)].join('\n'));
    const snap = readHost({ root });
    expect(snap.cpus.online).toBe('0-3');
    expect(snap.topology.packages).toEqual([
      { id: 0, cpus: '0,2' },
      { id: 3, cpus: '1,3' },
    ]);
    expect(snap.topology.cores).toBe(4);
    expect(snap.warnings.join('\n')).toMatch(/cpuinfo/);
  });

  it('follows flattened symlinks (a file holding "../cpufreq/policy0")', () => {
    const root = path.join(tmp, 'flat-links');
    const cpu = path.join(root, 'sys/devices/system/cpu');
    write(path.join(root, 'proc/cpuinfo'), 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm\n');
    write(path.join(cpu, 'online'), '0\n');
    write(path.join(cpu, 'cpu0/topology/thread_siblings_list'), '0\n');
    write(path.join(cpu, 'cpu0/topology/physical_package_id'), '0\n');
    write(path.join(cpu, 'cpu0/cpufreq'), '../cpufreq/policy0');
    write(path.join(cpu, 'cpufreq/policy0/cpuinfo_max_freq'), '3400000\n');
    const snap = readHost({ root });
    expect(snap.perCpu[0]!.maxMhz).toBe(3400);
    expect(snap.cpu.hwVirtualization).toBe('svm');
  });
});

describe.skipIf(!existsSync('/sys/devices/system/cpu/online'))('readHost on the live host', () => {
  it('agrees with the kernel’s online mask and /proc/cpuinfo', () => {
    const snap = readHost();
    expect(snap.root).toBe('/');
    expect(snap.cpus.online).toBe(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
    const procCount = (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length;
    if (procCount > 0) expect(parseCpulist(snap.cpus.online).length).toBe(procCount);
    expect(snap.topology.sockets).toBeGreaterThanOrEqual(1);
    expect(snap.topology.coreGroups.flatMap((g) => parseCpulist(g)).sort((a, b) => a - b)).toEqual(parseCpulist(snap.cpus.online));
  });
});
