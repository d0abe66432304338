/**
 * x86-64 micro-architecture levels (x86-64 psABI, "Micro-architecture levels" table), in QEMU
 * feature names. Each level includes the previous one.
 *   v1: CMOV CX8 FPU FXSR MMX OSFXSR SCE SSE SSE2 (+ long mode)
 *   v2: CMPXCHG16B LAHF-SAHF POPCNT SSE3 SSE4_1 SSE4_2 SSSE3
 *   v3: AVX AVX2 BMI1 BMI2 F16C FMA LZCNT MOVBE OSXSAVE
 *   v4: AVX512F AVX512BW AVX512CD AVX512DQ AVX512VL
 * LZCNT is CPUID 0x80000001 ECX[5] (`abm` in QEMU/Linux); OSXSAVE is the OS-enabled copy of
 * `xsave`, so a CPU model needs `xsave`.
 */
export const X86_LEVELS: { level: 1 | 2 | 3 | 4; name: string; features: string[] }[] = [
  { level: 1, name: 'x86-64', features: ['lm', 'cmov', 'cx8', 'fpu', 'fxsr', 'mmx', 'syscall', 'sse', 'sse2'] },
  { level: 2, name: 'x86-64-v2', features: ['cx16', 'lahf-lm', 'popcnt', 'pni', 'sse4.1', 'sse4.2', 'ssse3'] },
  { level: 3, name: 'x86-64-v3', features: ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'] },
  { level: 4, name: 'x86-64-v4', features: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'] },
];

export interface LevelResult {
  /** Highest level fully met (0 = not even x86-64 v1, e.g. 32-bit models). */
  level: 0 | 1 | 2 | 3 | 4;
  name: string | null;
  /** Features missing for the next level (empty at v4). */
  missingForNext: string[];
  /** Per level: the missing features (empty = met). */
  perLevel: { level: number; name: string; missing: string[] }[];
}

/** The x86-64 level a set of QEMU feature names reaches. */
export function x86Level(features: Iterable<string>): LevelResult {
  const have = new Set(features);
  const perLevel = X86_LEVELS.map((l) => ({ level: l.level, name: l.name, missing: l.features.filter((f) => !have.has(f)) }));
  let level: LevelResult['level'] = 0;
  for (const l of perLevel) {
    if (l.missing.length) break;
    level = l.level as LevelResult['level'];
  }
  const next = perLevel.find((l) => l.level === level + 1);
  return { level, name: level ? X86_LEVELS[level - 1]!.name : null, missingForNext: next?.missing ?? [], perLevel };
}

/** Guest OSes whose x86-64 builds need a minimum level (vendor documentation). */
export const GUEST_OS_LEVELS: { os: string; level: 1 | 2 | 3; note: string }[] = [
  { os: 'RHEL 8 / Rocky 8 / Alma 8', level: 1, note: 'x86-64 baseline' },
  {
    os: 'RHEL 9 / CentOS Stream 9 / Rocky 9 / Alma 9',
    level: 2,
    note: 'built for x86-64-v2: fails early ("Fatal glibc error: CPU does not support x86-64-v2")',
  },
  { os: 'RHEL 10 / CentOS Stream 10 / Rocky 10', level: 3, note: 'built for x86-64-v3 (AlmaLinux 10 also ships a v2 variant)' },
  { os: 'SUSE Linux Enterprise 16', level: 2, note: 'x86-64-v2 required' },
  { os: 'Debian 12/13, Ubuntu 24.04, Fedora', level: 1, note: 'x86-64 baseline (optional v3 packages on some)' },
  { os: 'Windows 11 24H2 / Server 2025', level: 2, note: 'needs POPCNT and SSE4.2 (SSE4.2 pulls the rest of v2 on every real CPU)' },
  { os: 'Windows 10 / Server 2019-2022', level: 1, note: 'needs CMPXCHG16B, LAHF/SAHF, PREFETCHW as well (check cx16, lahf-lm)' },
];

/** Which of the listed guest OSes a level can boot. */
export function guestOsSupport(level: number): { os: string; ok: boolean; needs: number; note: string }[] {
  return GUEST_OS_LEVELS.map((g) => ({ os: g.os, ok: level >= g.level, needs: g.level, note: g.note }));
}
