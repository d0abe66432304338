import { describe, expect, it } from 'vitest';
import { identifyCpu, inferArch } from './cpu-identity.ts';
import { parseCpuinfo } from './parse-cpuinfo.ts';

const X86 = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz
stepping\t: 7
flags\t\t: fpu vmx lm hypervisor avx512f
vmx flags\t: vnmi ept vpid unrestricted_guest

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz
stepping\t: 7
flags\t\t: fpu vmx lm hypervisor
vmx flags\t: vnmi ept vpid unrestricted_guest
`;

// Shape of a z13 LPAR's /proc/cpuinfo (one global block, `processor N:` lines, per-CPU `cpu number` blocks).
const S390 = `vendor_id       : IBM/S390
# processors    : 2
bogomips per cpu: 20325.00
features\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx sie
processor 0: version = 00,  identification = 4729E7,  machine = 2964
processor 1: version = 00,  identification = 4729E7,  machine = 2964

cpu number      : 0
cpu MHz dynamic : 5000

cpu number      : 1
cpu MHz dynamic : 5000
`;

const ARMV7 = `Processor\t: ARMv7 Processor rev 4 (v7l)
processor\t: 0
BogoMIPS\t: 1694.10

processor\t: 1
BogoMIPS\t: 1694.10

Features\t: swp half thumb fastmult vfp edsp thumbee neon vfpv3 tls vfpv4 idiva idivt
CPU implementer\t: 0x41
CPU architecture: 7
CPU variant\t: 0x0
CPU part\t: 0xc0f
CPU revision\t: 4
`;

const SPARC = `cpu\t\t: UltraSparc T1 (Niagara)
fpu\t\t: UltraSparc T1 integrated FPU
type\t\t: sun4v
ncpus probed\t: 2
ncpus active\t: 2
cpucaps\t\t: flush,stbar,swap,muldiv,v9,blkinit
State:
CPU0:\t\tonline
CPU1:\t\tonline
`;

describe('parseCpuinfo', () => {
  it('splits x86 records and keeps keys with spaces', () => {
    const info = parseCpuinfo(X86);
    expect(info.cpus.map((r) => r.cpu)).toEqual([0, 1]);
    expect(info.cpus[0]!.fields['model name']).toBe('Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz');
    expect(info.cpus[1]!.fields['vmx flags']).toBe('vnmi ept vpid unrestricted_guest');
    expect(inferArch(info)).toBe('x86_64');
  });

  it('reads x86 identity, vmx flags and flags missing on some CPUs', () => {
    const info = parseCpuinfo(X86);
    const id = identifyCpu(info, 'x86_64', null);
    expect(id).toMatchObject({ vendor: 'GenuineIntel', family: 6, model: 85, stepping: 7, hwVirtualization: 'vmx', hypervisorFlag: true });
    expect(id.vmxFlags).toContain('ept');
    expect(id.flagsNotOnAllCpus).toEqual(['avx512f']);
  });

  it('treats a 32-bit x86 kernel (fdiv_bug line) as i686', () => {
    expect(inferArch(parseCpuinfo('processor\t: 0\nvendor_id\t: AuthenticAMD\nfdiv_bug\t: no\nflags\t\t: fpu svm lm\n'))).toBe('i686');
  });

  it('handles s390: global block, processor N: lines, sie feature', () => {
    const info = parseCpuinfo(S390);
    expect(info.listedCpus).toEqual([0, 1]);
    expect(info.cpus.map((r) => r.cpu)).toEqual([0, 1]);
    expect(inferArch(info)).toBe('s390x');
    const id = identifyCpu(info, 's390x', null);
    expect(id.vendor).toBe('IBM/S390');
    expect(id.hwVirtualization).toBe('sie');
    expect(id.hypervisorFlag).toBe(false);
  });

  it('handles ARMv7: capital-P Processor line is global, CPU part after the records', () => {
    const info = parseCpuinfo(ARMV7);
    expect(info.cpus.map((r) => r.cpu)).toEqual([0, 1]);
    expect(inferArch(info)).toBe('armv7l');
    const id = identifyCpu(info, 'armv7l', null);
    expect(id.vendor).toBe('ARM');
    expect(id.modelNames).toEqual(['Cortex-A15']);
    expect(id.flags).toContain('neon');
    expect(id.hwVirtualization).toBeNull();
  });

  it('handles sparc64: no processor records, CPUn: online lines, comma cpucaps', () => {
    const info = parseCpuinfo(SPARC);
    expect(info.cpus).toEqual([]);
    expect(info.listedCpus).toEqual([0, 1]);
    expect(inferArch(info)).toBe('sparc64');
    expect(identifyCpu(info, 'sparc64', null).flags).toContain('blkinit');
  });

  it('does not crash on empty or garbage input', () => {
    expect(parseCpuinfo('').cpus).toEqual([]);
    expect(inferArch(parseCpuinfo('garbage without colons\n\n\n'))).toBe('unknown');
  });
});
