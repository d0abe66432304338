/**
 * Parse /proc/cpuinfo of any architecture Linux prints it for into plain records.
 *
 * The formats differ a lot (see ../shared/reference/hosts/README.md pitfall 7):
 * - x86, ARM64, POWER, RISC-V, LoongArch: one record per CPU, starting with `processor : N`,
 *   records separated by blank lines; POWER and ARMv7 add a machine-wide block at the end
 *   (`timebase`/`platform`, or `Features`/`CPU implementer` after all processors on old ARM).
 * - s390: one global block (`vendor_id`, `# processors`, `features`) plus
 *   `processor N: version = ...` lines, then per-CPU `cpu number : N` blocks on newer kernels.
 *   Only online CPUs appear.
 * - sparc64: one global block (`cpu`, `ncpus active`, `cpucaps`), `CPUn: online` state lines.
 */
export interface CpuinfoRecord {
  /** Logical CPU number (`processor`, or s390 `cpu number`), null for machine-wide blocks. */
  cpu: number | null;
  /** Keys as printed (trimmed), in order; the first occurrence of a key wins. */
  fields: Record<string, string>;
}

export interface Cpuinfo {
  /** Per-CPU records (those that carry a CPU number), in file order. */
  cpus: CpuinfoRecord[];
  /** Machine-wide fields: every line outside a per-CPU record (first occurrence wins). */
  global: Record<string, string>;
  /** CPUs listed by s390 `processor N: version = ...` lines or sparc `CPUn: online` lines. */
  listedCpus: number[];
}

/** Split `key<tabs>: value` (keys may contain spaces, `#`, `$`; s390 has `processor 0: ...`). */
function splitLine(line: string): [string, string] | null {
  const i = line.indexOf(':');
  if (i < 0) return null;
  return [line.slice(0, i).trim(), line.slice(i + 1).trim()];
}

export function parseCpuinfo(text: string): Cpuinfo {
  const cpus: CpuinfoRecord[] = [];
  const global: Record<string, string> = {};
  const listed = new Set<number>();
  let current: CpuinfoRecord | null = null;

  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      current = null;
      continue;
    }
    const kv = splitLine(line);
    if (!kv) continue;
    const [key, value] = kv;
    // s390: `processor 0: version = FF, identification = ..., machine = 2964`
    const s390 = /^processor (\d+)$/.exec(key);
    if (s390) {
      listed.add(Number(s390[1]));
      continue;
    }
    // sparc: `CPU6:		online`
    const sparc = /^CPU(\d+)$/.exec(key);
    if (sparc && /online/i.test(value)) {
      listed.add(Number(sparc[1]));
      continue;
    }
    // A new per-CPU record starts at `processor : N` (lower-case; ARMv7's `Processor : ARMv7 ...`
    // is the machine-wide model line) or s390 `cpu number : N`.
    if ((key === 'processor' || key === 'cpu number') && /^\d+$/.test(value)) {
      current = { cpu: Number(value), fields: {} };
      cpus.push(current);
      continue;
    }
    const target = current ? current.fields : global;
    if (!(key in target)) target[key] = value;
  }
  return { cpus, global, listedCpus: [...listed].sort((a, b) => a - b) };
}

/** A field of CPU record `rec`, falling back to the machine-wide block (old ARM, s390). */
export function cpuinfoField(info: Cpuinfo, rec: CpuinfoRecord | undefined, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = rec?.fields[k];
    if (v !== undefined) return v;
  }
  for (const k of keys) {
    const v = info.global[k];
    if (v !== undefined) return v;
  }
  return null;
}
