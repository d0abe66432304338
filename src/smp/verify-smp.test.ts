import { describe, expect, it } from 'vitest';
import { parseSmp } from './parse-smp.ts';
import { compareWithQemu, splitQemuStderr, type QemuSmpAnswer } from './verify-smp.ts';

describe('splitQemuStderr', () => {
  it('separates the error, its -smp location and warnings', () => {
    const s = splitQemuStderr("qemu-system-x86_64: -smp 4,,x=1: Invalid parameter ''\n", ['4,,x=1']);
    expect(s).toEqual({ error: "Invalid parameter ''", location: '-smp 4,,x=1', warnings: [] });
    const w = splitQemuStderr(
      "qemu-system-x86_64: warning: This family of AMD CPU doesn't support hyperthreading(2)\nPlease configure -smp options properly or try enabling topoext feature.\n",
      ['8,threads=2'],
    );
    expect(w).toEqual({ error: undefined, location: undefined, warnings: ["This family of AMD CPU doesn't support hyperthreading(2)"] });
    const k = splitQemuStderr('qemu-system-x86_64: -accel kvm: warning: Number of SMP cpus requested (4) exceeds the recommended cpus supported by KVM (2)\n', [
      '4',
    ]);
    expect(k.warnings).toEqual(['Number of SMP cpus requested (4) exceeds the recommended cpus supported by KVM (2)']);
    expect(splitQemuStderr('qemu-system-s390x:  S390 does not support more than 1 threads.\n', ['2,threads=2']).error).toBe(
      'S390 does not support more than 1 threads.',
    );
  });
});

describe('compareWithQemu', () => {
  const accepted = (over: Partial<QemuSmpAnswer> = {}): QemuSmpAnswer => ({
    version: '7.2.22',
    ok: true,
    smpProperty: { cpus: 8, maxcpus: 8, sockets: 1, dies: 1, clusters: 1, cores: 4, threads: 2 },
    presentCpus: 8,
    slots: Array.from({ length: 8 }, (_, i): [number, number | null, number, number, number] => [0, null, i >> 1, i & 1, 1]),
    warnings: ["This family of AMD CPU doesn't support hyperthreading(2)"],
    ...over,
  });
  it('agrees when topology, slots and present count match (AMD noise ignored)', () => {
    expect(compareWithQemu(parseSmp('8,threads=2', { accel: 'tcg' }), accepted())).toEqual([]);
  });
  it('reports each kind of difference', () => {
    const p = parseSmp('8,threads=2', { accel: 'tcg' });
    expect(compareWithQemu(p, accepted({ smpProperty: { cpus: 8, maxcpus: 8, sockets: 8, dies: 1, clusters: 1, cores: 1, threads: 1 } })).join()).toMatch(
      /sockets: kvcpu 1 vs QEMU 8/,
    );
    expect(compareWithQemu(p, accepted({ presentCpus: 4 })).join()).toMatch(/present vCPUs: kvcpu 8 vs QEMU 4/);
    expect(compareWithQemu(p, accepted({ slots: [[0, null, 0, 0, 1]] })).join()).toMatch(/CPU slots differ/);
    expect(compareWithQemu(p, { version: '7.2.22', ok: false, error: 'boom', warnings: [] }).join()).toMatch(/QEMU refuses: boom/);
    expect(compareWithQemu(p, accepted({ version: '8.2.1' })).join()).toMatch(/installed QEMU is 8.2.1/);
  });
  it('compares refusal text and location; kvcpu-only refusals are not differences', () => {
    const bad = parseSmp('5,sockets=2');
    const msg = 'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * dies (1) * cores (2) * threads (1) != maxcpus (5)';
    expect(compareWithQemu(bad, { version: '7.2.22', ok: false, error: msg, warnings: [] })).toEqual([]);
    expect(compareWithQemu(bad, { version: '7.2.22', ok: false, error: msg.replace('(5)', '(6)'), warnings: [] })).toHaveLength(1);
    const wrap = parseSmp('4294967297');
    expect(!wrap.ok && wrap.error.kvcpuOnly).toBe(true);
    expect(compareWithQemu(wrap, accepted({ smpProperty: { cpus: 1, maxcpus: 1, sockets: 1, dies: 1, clusters: 1, cores: 1, threads: 1 } }))).toEqual([]);
  });
});
