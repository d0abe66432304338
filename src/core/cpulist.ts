import { KvcpuError } from './errors.ts';

/**
 * Most CPUs kvcpu accepts where the input is not about this host (a `--vcpu N=LIST`, a plan
 * file, a Nova case, `topology --cpus`): Linux's largest NR_CPUS, 8,192 (arch/x86/Kconfig
 * NR_CPUS_RANGE_END with MAXSMP; arm64 and ppc64 stop at 4,096/8,192). CPU numbers are
 * 0..MAX_CPUS-1. Host files are bounded by that host's own `kernel_max` (see hostCpuLimit).
 */
export const MAX_CPUS = 8192;

/** Ceiling for a host's `kernel_max`: larger values are not a real kernel (NR_CPUS <= 8,192 today). */
const MAX_KERNEL_CPUS = 65_536;

export interface CpulistOptions {
  /** CPU numbers must be below this (default MAX_CPUS). */
  limit?: number;
  /** What is being parsed, for the message (`cpu/online`, `--vcpu 0=...`). */
  what?: string;
}

/**
 * The CPU-number limit for one host's files: `kernel_max` + 1 (NR_CPUS, drivers/base/cpu.c
 * print_cpus_kernel_max), else MAX_CPUS when the file is absent or not a sane number.
 */
export function hostCpuLimit(kernelMax: string | null | undefined): number {
  const t = kernelMax?.trim() ?? '';
  if (!/^\d{1,6}$/.test(t)) return MAX_CPUS;
  const n = Number(t) + 1;
  return n <= MAX_KERNEL_CPUS ? Math.max(n, 1) : MAX_CPUS;
}

function outOfRange(text: string, cpu: string, limit: number, what: string | undefined): KvcpuError {
  const shown = cpu.length > 24 ? `${cpu.slice(0, 20)}...(${cpu.length} digits)` : cpu;
  return new KvcpuError('E_CPULIST_RANGE', `${what ? `${what}: ` : ''}CPU ${shown} in "${clip(text)}" is out of range (CPUs 0-${limit - 1})`, {
    hint: `CPU numbers go up to ${limit - 1}${limit === MAX_CPUS ? " (kvcpu's maximum, Linux's largest NR_CPUS)" : " (this host's kernel_max)"}`,
    details: { limit },
  });
}

/** Long inputs are cut in messages: the error must stay one readable line. */
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A decimal CPU number below `limit`, checked on the digits so `1e23` never becomes a loop bound. */
function cpuNumber(digits: string, text: string, limit: number, what: string | undefined): number {
  const n = digits.length > 15 ? Infinity : Number(digits);
  if (!(n < limit)) throw outOfRange(text, digits, limit, what);
  return n;
}

/**
 * Parse a kernel cpulist (`0-3,8,10-14:2`, as in cpuset(7) "List format") into sorted,
 * unique CPU numbers. Empty or whitespace-only input is the empty set (CPU-less NUMA nodes
 * have an empty `cpulist`). Strided ranges `a-b:s` are accepted because lscpu prints them.
 * Every CPU number must be below `opts.limit` (default MAX_CPUS), else E_CPULIST_RANGE: the
 * work is bounded by the limit and the input length, whatever the numbers say.
 * @example parseCpulist('0-2,7') // [0, 1, 2, 7]
 */
export function parseCpulist(text: string, opts: CpulistOptions = {}): number[] {
  const limit = opts.limit ?? MAX_CPUS;
  const s = text.trim();
  if (s === '') return [];
  // A bitmap over 0..limit-1 (not a Set grown per range): memory and time stay bounded.
  const seen = new Uint8Array(limit);
  let lo = limit;
  let hi = -1;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) {
      throw new KvcpuError('E_BAD_CPULIST', `${opts.what ? `${opts.what}: ` : ''}invalid cpulist "${clip(text)}": bad element "${clip(part)}"`, {
        hint: 'use the kernel list format, e.g. 0-3,8,10-11',
      });
    }
    const a = cpuNumber(m[1]!, text, limit, opts.what);
    const b = m[2] === undefined ? a : cpuNumber(m[2], text, limit, opts.what);
    const step = m[3] === undefined ? 1 : m[3].length > 15 ? Infinity : Number(m[3]);
    if (b < a || step < 1) {
      throw new KvcpuError('E_BAD_CPULIST', `invalid cpulist "${clip(text)}": range "${clip(part)}" is empty`, {
        hint: 'ranges go low-high, e.g. 4-7',
      });
    }
    if (step === 1) seen.fill(1, a, b + 1);
    else for (let i = a; i <= b; i += step) seen[i] = 1;
    lo = Math.min(lo, a);
    hi = Math.max(hi, b);
  }
  const out: number[] = [];
  for (let i = lo; i <= hi; i++) if (seen[i]) out.push(i);
  return out;
}

/**
 * The CPUs of a cpulist in the order written, duplicates kept (`1,0,0-1` → [1, 0, 0, 1]): for
 * options that must tell the user what their order or repetition meant. Same syntax, limits and
 * errors as parseCpulist (each element is parsed by it, so the work stays bounded).
 */
export function expandCpulist(text: string, opts: CpulistOptions = {}): number[] {
  const s = text.trim();
  if (s === '') return [];
  const out: number[] = [];
  for (const part of s.split(',')) {
    if (part.trim() === '') {
      throw new KvcpuError('E_BAD_CPULIST', `${opts.what ? `${opts.what}: ` : ''}invalid cpulist "${clip(text)}": empty element`, {
        hint: 'use the kernel list format, e.g. 0-3,8,10-11',
      });
    }
    for (const c of parseCpulist(part, opts)) out.push(c);
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
 * significant first, as in `cpumap`, `thread_siblings`, `shared_cpu_map`). Zero words above
 * the limit are fine (the kernel pads to nr_cpu_ids); a set bit at or above `opts.limit`
 * (default MAX_CPUS) is E_CPULIST_RANGE.
 * @example parseCpumask('f0') // [4, 5, 6, 7]
 */
export function parseCpumask(text: string, opts: CpulistOptions = {}): number[] {
  const limit = opts.limit ?? MAX_CPUS;
  const words = text
    .trim()
    .split(',')
    .map((w) => w.trim());
  const out: number[] = [];
  let bit = 0;
  for (let w = words.length - 1; w >= 0; w--) {
    const word = words[w]!;
    if (!/^[0-9a-fA-F]*$/.test(word)) {
      throw new KvcpuError('E_BAD_CPULIST', `${opts.what ? `${opts.what}: ` : ''}invalid CPU mask "${clip(text)}"`, {
        hint: 'expected hex words like 0000ffff,00000003',
      });
    }
    // Each comma-separated word is 32 bits; read it nibble by nibble from the right.
    for (let n = word.length - 1, nib = 0; n >= 0; n--, nib++) {
      const v = parseInt(word[n]!, 16);
      for (let b = 0; b < 4; b++) {
        if (!(v & (1 << b))) continue;
        const cpu = bit + nib * 4 + b;
        if (cpu >= limit) throw outOfRange(text, String(cpu), limit, opts.what);
        out.push(cpu);
      }
    }
    bit += Math.max(32, word.length * 4);
  }
  return out.sort((a, b) => a - b);
}
