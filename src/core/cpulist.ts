import { KvcpuError } from './errors.ts';

/**
 * Parse a kernel cpulist (`0-3,8,10-14:2`, as in cpuset(7) "List format") into sorted,
 * unique CPU numbers. Empty or whitespace-only input is the empty set (CPU-less NUMA nodes
 * have an empty `cpulist`). Strided ranges `a-b:s` are accepted because lscpu prints them.
 * @example parseCpulist('0-2,7') // [0, 1, 2, 7]
 */
export function parseCpulist(text: string): number[] {
  return [...new Set(expandCpulist(text))].sort((x, y) => x - y);
}

/**
 * The CPUs of a cpulist in the order written, duplicates kept (`1,0,0-1` → [1, 0, 0, 1]): for
 * options that must tell the user what their order or repetition meant. Same syntax and errors
 * as parseCpulist.
 */
export function expandCpulist(text: string): number[] {
  const s = text.trim();
  if (s === '') return [];
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) {
      throw new KvcpuError('E_BAD_CPULIST', `invalid cpulist "${text}": bad element "${part}"`, {
        hint: 'use the kernel list format, e.g. 0-3,8,10-11',
      });
    }
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (b < a || step < 1) {
      throw new KvcpuError('E_BAD_CPULIST', `invalid cpulist "${text}": range "${part}" is empty`, {
        hint: 'ranges go low-high, e.g. 4-7',
      });
    }
    if (b - a > 1 << 20) {
      throw new KvcpuError('E_BAD_CPULIST', `invalid cpulist "${text}": range "${part}" is too large`);
    }
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/**
 * Format CPU numbers as the kernel does (`0-3,8`): sorted, duplicates dropped, runs of
 * two or more consecutive CPUs collapsed (the kernel writes `0-1`, not `0,1`).
 * @example formatCpulist([3, 0, 1, 2, 8]) // '0-3,8'
 */
export function formatCpulist(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * Parse a kernel hex CPU mask (`00000000,0000ff0f`: comma-separated 32-bit words, most
 * significant first, as in `cpumap`, `thread_siblings`, `shared_cpu_map`).
 * @example parseCpumask('f0') // [4, 5, 6, 7]
 */
export function parseCpumask(text: string): number[] {
  const words = text.trim().split(',').map((w) => w.trim());
  const out: number[] = [];
  let bit = 0;
  for (let w = words.length - 1; w >= 0; w--) {
    const word = words[w]!;
    if (!/^[0-9a-fA-F]*$/.test(word)) {
      throw new KvcpuError('E_BAD_CPULIST', `invalid CPU mask "${text}"`, { hint: 'expected hex words like 0000ffff,00000003' });
    }
    // Each comma-separated word is 32 bits; read it nibble by nibble from the right.
    for (let n = word.length - 1, nib = 0; n >= 0; n--, nib++) {
      const v = parseInt(word[n]!, 16);
      for (let b = 0; b < 4; b++) if (v & (1 << b)) out.push(bit + nib * 4 + b);
    }
    bit += Math.max(32, word.length * 4);
  }
  return out.sort((a, b) => a - b);
}
