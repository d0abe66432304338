import { cpuinfoField, type Cpuinfo, type CpuinfoRecord } from './parse-cpuinfo.ts';
import type { HostCpuIdentity } from './types.ts';

/**
 * ARM `CPU implementer` codes, as the Arm ARM (MIDR_EL1.Implementer) assigns them and as
 * util-linux lscpu-arm.c names them.
 */
const ARM_IMPLEMENTERS: Record<number, string> = {
  0x41: 'ARM',
  0x42: 'Broadcom',
  0x43: 'Cavium',
  0x44: 'DEC',
  0x46: 'FUJITSU',
  0x48: 'HiSilicon',
  0x49: 'Infineon',
  0x4d: 'Motorola/Freescale',
  0x4e: 'NVIDIA',
  0x50: 'APM',
  0x51: 'Qualcomm',
  0x53: 'Samsung',
  0x56: 'Marvell',
  0x61: 'Apple',
  0x66: 'Faraday',
  0x69: 'Intel',
  0x6d: 'Microsoft',
  0x70: 'Phytium',
  0xc0: 'Ampere',
};

/** A few common ARM Ltd (0x41) and HiSilicon part numbers (MIDR_EL1.PartNum), lscpu's names. */
const ARM_PARTS: Record<number, Record<number, string>> = {
  0x41: {
    0xc05: 'Cortex-A5',
    0xc07: 'Cortex-A7',
    0xc08: 'Cortex-A8',
    0xc09: 'Cortex-A9',
    0xc0d: 'Cortex-A12',
    0xc0f: 'Cortex-A15',
    0xc0e: 'Cortex-A17',
    0xd01: 'Cortex-A32',
    0xd03: 'Cortex-A53',
    0xd04: 'Cortex-A35',
    0xd05: 'Cortex-A55',
    0xd07: 'Cortex-A57',
    0xd08: 'Cortex-A72',
    0xd09: 'Cortex-A73',
    0xd0a: 'Cortex-A75',
    0xd0b: 'Cortex-A76',
    0xd0c: 'Neoverse-N1',
    0xd0d: 'Cortex-A77',
    0xd40: 'Neoverse-V1',
    0xd41: 'Cortex-A78',
    0xd44: 'Cortex-X1',
    0xd46: 'Cortex-A510',
    0xd47: 'Cortex-A710',
    0xd48: 'Cortex-X2',
    0xd49: 'Neoverse-N2',
    0xd4d: 'Cortex-A715',
    0xd4e: 'Cortex-X3',
    0xd4f: 'Neoverse-V2',
    0xd80: 'Cortex-A520',
    0xd81: 'Cortex-A720',
    0xd82: 'Cortex-X4',
    0xd85: 'Cortex-X925',
    0xd87: 'Cortex-A725',
  },
  0x48: { 0xd01: 'Kunpeng-920' },
};

function isArm(arch: string): boolean {
  return arch === 'aarch64' || arch.startsWith('arm');
}

function num(v: string | null): number | null {
  if (v === null) return null;
  const t = v.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
  if (/^\d+$/.test(t)) return Number(t);
  return null;
}

/** Infer the architecture from cpuinfo keys (the tree has no uname). */
export function inferArch(info: Cpuinfo, byteorder: string | null = null): string {
  const first = info.cpus[0];
  const has = (k: string) => cpuinfoField(info, first, k) !== null;
  if (has('vendor_id') && (info.global['# processors'] !== undefined || (has('features') && !has('flags')))) return 's390x';
  if (has('flags') || has('vendor_id') || has('cpu family')) {
    // 32-bit x86 kernels print the fdiv/hlt/f00f/coma bug lines (arch/x86/kernel/cpu/proc.c, CONFIG_X86_32).
    return has('fdiv_bug') || has('f00f_bug') ? 'i686' : 'x86_64';
  }
  if (has('CPU implementer') || has('CPU architecture')) {
    const archv = cpuinfoField(info, first, 'CPU architecture');
    if (archv !== null && /^[0-7]\b/.test(archv) && !/AArch64/i.test(archv)) {
      // 32-bit ARM: uname -m is "arm" + the ELF platform the model line ends with, e.g.
      // `ARMv7 Processor rev 4 (v7l)` -> armv7l (arch/arm/kernel/setup.c: cpu_name + elf_platform).
      const plat = /\((v\d+[lb])\)\s*$/.exec(cpuinfoField(info, first, 'model name', 'Processor') ?? '');
      return plat ? `arm${plat[1]}` : `armv${archv.trim().split(/\s/)[0]}l`;
    }
    return 'aarch64';
  }
  if (has('isa') || has('hart')) return 'riscv64';
  if (has('Model Name') || has('CPU Family') || /loongson/i.test(info.global['system type'] ?? '')) return 'loongarch64';
  if (has('cpucaps') || has('ncpus probed')) return 'sparc64';
  if (has('cpu') && (has('revision') || has('timebase') || has('clock'))) {
    const rev = cpuinfoField(info, first, 'cpu') ?? '';
    // 64-bit POWER (POWER4 and later, PPC970, Cell) vs 32-bit PowerPC (7xx/74xx/e500...).
    if (!/POWER\d|PPC970|Cell/i.test(rev)) return 'ppc';
    if (byteorder !== null) return byteorder === 'little' ? 'ppc64le' : 'ppc64';
    // Without cpu_byteorder: distributions ship POWER8 and later little-endian only.
    const gen = /POWER(\d+)/i.exec(rev);
    return gen && Number(gen[1]) >= 8 ? 'ppc64le' : 'ppc64';
  }
  return 'unknown';
}

function words(v: string | null, sep: RegExp = /\s+/): string[] {
  if (v === null) return [];
  return v
    .split(sep)
    .map((w) => w.trim())
    .filter((w) => w !== '');
}

/** The flag list of one record for the given architecture. */
function flagsOf(info: Cpuinfo, rec: CpuinfoRecord | undefined, arch: string): string[] {
  if (arch === 'x86_64' || arch === 'i686') return words(cpuinfoField(info, rec, 'flags'));
  if (arch === 's390x') return words(cpuinfoField(info, rec, 'features'));
  if (arch === 'sparc64') return words(cpuinfoField(info, rec, 'cpucaps'), /,/);
  return words(cpuinfoField(info, rec, 'Features', 'features'));
}

function modelNameOf(info: Cpuinfo, rec: CpuinfoRecord | undefined, arch: string): string | null {
  switch (arch.startsWith('arm') ? 'arm' : arch) {
    case 'x86_64':
    case 'i686':
      return cpuinfoField(info, rec, 'model name');
    case 'aarch64':
    case 'arm': {
      const impl = num(cpuinfoField(info, rec, 'CPU implementer'));
      const part = num(cpuinfoField(info, rec, 'CPU part'));
      const named = impl !== null && part !== null ? ARM_PARTS[impl]?.[part] : undefined;
      if (named) return named;
      // ARMv7 kernels print `Processor : ARMv7 Processor rev 1 (v7l)`; newer `model name`.
      const line = cpuinfoField(info, rec, 'model name', 'Processor');
      if (line) return line;
      return part === null ? null : `0x${part.toString(16).padStart(3, '0')}`;
    }
    case 'ppc64':
    case 'ppc64le':
    case 'ppc':
    case 'sparc64':
      return cpuinfoField(info, rec, 'cpu');
    case 'riscv64':
      return cpuinfoField(info, rec, 'uarch', 'model name');
    case 'loongarch64':
      return cpuinfoField(info, rec, 'Model Name', 'model name');
    case 's390x':
      return cpuinfoField(info, rec, 'model name');
    default:
      return cpuinfoField(info, rec, 'model name', 'cpu', 'Processor');
  }
}

function vendorOf(info: Cpuinfo, arch: string): string | null {
  const first = info.cpus[0];
  if (isArm(arch)) {
    const impl = num(cpuinfoField(info, first, 'CPU implementer'));
    if (impl === null) return null;
    return ARM_IMPLEMENTERS[impl] ?? `0x${impl.toString(16)}`;
  }
  if (arch === 'riscv64') return cpuinfoField(info, first, 'mvendorid');
  return cpuinfoField(info, first, 'vendor_id');
}

/**
 * CPU identity from cpuinfo. `kindOfCpu` groups CPUs by core kind (ARM `CPU part`, or x86
 * hybrid kinds computed from sysfs by the caller).
 */
export function identifyCpu(
  info: Cpuinfo,
  arch: string,
  x86Kinds: { name: string; cpus: number[] }[] | null,
): HostCpuIdentity & { kindCpus: { name: string; cpus: number[] }[] } {
  const records = info.cpus.length > 0 ? info.cpus : [undefined];
  const first = records[0];
  const modelNames: string[] = [];
  for (const r of records) {
    const m = modelNameOf(info, r, arch);
    if (m !== null && m !== '' && !modelNames.includes(m)) modelNames.push(m);
  }
  const flags = flagsOf(info, first, arch);
  const perRecord = records.map((r) => new Set(flagsOf(info, r, arch)));
  const union = new Set<string>();
  for (const s of perRecord) for (const f of s) union.add(f);
  const flagsNotOnAllCpus = [...union].filter((f) => perRecord.some((s) => !s.has(f))).sort();
  const vmxFlags = words(cpuinfoField(info, first, 'vmx flags'));
  const x86 = arch === 'x86_64' || arch === 'i686';
  let hwVirtualization: HostCpuIdentity['hwVirtualization'] = null;
  if (x86 && flags.includes('vmx')) hwVirtualization = 'vmx';
  else if (x86 && flags.includes('svm')) hwVirtualization = 'svm';
  else if (arch === 's390x' && flags.includes('sie')) hwVirtualization = 'sie';

  // Core kinds: ARM groups CPUs by (implementer, part); x86 hybrid kinds come from the caller.
  let kindCpus: { name: string; cpus: number[] }[] = [];
  if (isArm(arch) && info.cpus.length > 0) {
    const byKind = new Map<string, number[]>();
    for (const r of info.cpus) {
      const name = modelNameOf(info, r, arch) ?? 'unknown';
      const list = byKind.get(name) ?? [];
      list.push(r.cpu!);
      byKind.set(name, list);
    }
    kindCpus = [...byKind].map(([name, cpus]) => ({ name, cpus }));
  } else if (x86Kinds && x86Kinds.length > 1) {
    kindCpus = x86Kinds;
  }

  const numField = (k: string) => (x86 ? num(cpuinfoField(info, first, k)) : null);
  return {
    vendor: vendorOf(info, arch),
    modelNames,
    family: numField('cpu family'),
    model: numField('model'),
    stepping: numField('stepping'),
    flags,
    flagsNotOnAllCpus,
    vmxFlags,
    hwVirtualization,
    hypervisorFlag: x86 && flags.includes('hypervisor'),
    hybrid: kindCpus.length > 1,
    coreKinds: [],
    kindCpus,
  };
}
