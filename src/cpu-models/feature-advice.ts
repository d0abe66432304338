/**
 * Feature advice: for the SIMD / XSAVE / crypto families users ask about, what the host has, what
 * a guest model exposes, and the `-cpu` string that adds what is missing while staying inside a
 * pool's common features (so live migration inside the pool stays safe).
 */

export const FEATURE_FAMILIES: { family: string; features: string[]; note: string }[] = [
  { family: 'SSE', features: ['sse', 'sse2', 'pni', 'ssse3', 'sse4.1', 'sse4.2', 'sse4a'], note: 'sse4a is AMD-only' },
  { family: 'AVX', features: ['avx', 'avx2', 'fma', 'f16c', 'avx-vnni'], note: 'AVX needs xsave in the guest (YMM state)' },
  {
    family: 'AVX-512',
    features: [
      'avx512f',
      'avx512dq',
      'avx512cd',
      'avx512bw',
      'avx512vl',
      'avx512ifma',
      'avx512vbmi',
      'avx512vbmi2',
      'avx512vnni',
      'avx512bitalg',
      'avx512-vpopcntdq',
      'avx512-bf16',
      'avx512-fp16',
      'avx512-vp2intersect',
    ],
    note: 'all need avx512f; on some Intel parts heavy AVX-512 lowers clocks',
  },
  { family: 'XSAVE', features: ['xsave', 'xsaveopt', 'xsavec', 'xgetbv1', 'xsaves'], note: 'xsaves is not migratable in libvirt 9.0' },
  {
    family: 'Crypto',
    features: ['aes', 'vaes', 'pclmulqdq', 'vpclmulqdq', 'sha-ni', 'gfni', 'rdrand', 'rdseed'],
    note: 'AES-NI/PCLMULQDQ speed TLS and disk encryption',
  },
  { family: 'Bit manipulation', features: ['popcnt', 'abm', 'bmi1', 'bmi2', 'adx', 'movbe'], note: '' },
  { family: 'AMX', features: ['amx-tile', 'amx-int8', 'amx-bf16'], note: 'needs xfd-capable kernels in the guest' },
];

// A feature only works in a guest together with these (QEMU would not drop them, but the guest
// kernel refuses to use e.g. AVX without XSAVE): added to a suggestion when missing.
const NEEDS: Record<string, string[]> = {
  avx: ['xsave'],
  avx2: ['avx'],
  fma: ['avx'],
  f16c: ['avx'],
  'avx-vnni': ['avx2'],
  vaes: ['avx', 'aes'],
  vpclmulqdq: ['avx', 'pclmulqdq'],
  xsaveopt: ['xsave'],
  xsavec: ['xsave'],
  xgetbv1: ['xsave'],
  xsaves: ['xsave'],
  avx512f: ['avx2', 'xsave'],
  'amx-int8': ['amx-tile'],
  'amx-bf16': ['amx-tile'],
  'amx-tile': ['xsave'],
};
for (const f of FEATURE_FAMILIES.find((x) => x.family === 'AVX-512')!.features) if (f !== 'avx512f') NEEDS[f] = ['avx512f'];

export interface FeatureAdviceRow {
  family: string;
  feature: string;
  host: boolean;
  /** Every pool member has it (true when no pool was given). */
  pool: boolean;
  model: boolean;
  /** Host (and pool) have it but the model hides it: worth adding. */
  addable: boolean;
}

export interface FeatureAdvice {
  model: string;
  rows: FeatureAdviceRow[];
  /** Features to add to the model, dependency-complete, inside the pool. */
  add: string[];
  /** `-cpu MODEL,+a,+b,enforce` (enforce: refuse to start rather than silently drop). */
  cpuString: string;
  /** Features the host has beyond the model that `-cpu host` would expose, i.e. what pins the guest to identical hosts. */
  hostOnly: string[];
  hostCost: string;
}

export function adviseFeatures(opts: { model: string; modelFeatures: string[]; hostFeatures: string[]; poolFeatures?: string[] }): FeatureAdvice {
  const model = new Set(opts.modelFeatures);
  const host = new Set(opts.hostFeatures);
  const pool = opts.poolFeatures ? new Set(opts.poolFeatures) : null;
  const rows: FeatureAdviceRow[] = [];
  for (const fam of FEATURE_FAMILIES) {
    for (const f of fam.features) {
      const inPool = pool ? pool.has(f) : true;
      rows.push({ family: fam.family, feature: f, host: host.has(f), pool: inPool, model: model.has(f), addable: host.has(f) && inPool && !model.has(f) });
    }
  }
  const available = (f: string) => host.has(f) && (pool ? pool.has(f) : true);
  const add = new Set<string>();
  const want = (f: string, seen: Set<string>): boolean => {
    if (model.has(f) || add.has(f)) return true;
    if (!available(f) || seen.has(f)) return false;
    seen.add(f);
    for (const d of NEEDS[f] ?? []) if (!want(d, seen)) return false;
    add.add(f);
    return true;
  };
  for (const r of rows) if (r.addable) want(r.feature, new Set());
  const addList = [...add].sort();
  const hostOnly = [...host].filter((f) => !model.has(f)).sort();
  return {
    model: opts.model,
    rows,
    add: addList,
    cpuString: [opts.model, ...addList.map((f) => `+${f}`), 'enforce'].join(','),
    hostOnly,
    hostCost:
      '`-cpu host` passes every host feature through: best performance, but the guest can only live-migrate to hosts with the same CPU and microcode ' +
      `(it would see ${hostOnly.length} feature(s) beyond ${opts.model}); a named model + the additions above keeps the pool migratable`,
  };
}

/** The part of a `cpu explain` answer a suggestion is checked with. */
export interface SuggestionCheck {
  fails: boolean;
  unavailable: string[];
  qemuError?: string;
}

export interface SettledSuggestion {
  /** A `-cpu` string that passes `cpu explain` for the accelerator (null: none could be made). */
  cpuString: string | null;
  add: string[];
  /** Additions dropped because the accelerator cannot give them. */
  dropped: string[];
  /** Model features the accelerator lacks, turned off (`-f`) so `enforce` can start. */
  disabled: string[];
  /** Why no string could be made (QEMU's error for the last try). */
  error?: string;
}

/**
 * Make the suggested `MODEL,+a,…,enforce` pass `cpu explain` for the accelerator the guest will
 * use: additions the accelerator cannot give are dropped, model features it lacks are turned off,
 * and the string is checked again (the suggestion is computed through the same explain).
 */
export function settleSuggestion(model: string, add: string[], explain: (cpu: string) => SuggestionCheck): SettledSuggestion {
  let adds = [...add];
  const dropped: string[] = [];
  const disabled: string[] = [];
  for (let i = 0; i < 4; i++) {
    const cpu = [model, ...adds.map((f) => `+${f}`), ...disabled.map((f) => `-${f}`), 'enforce'].join(',');
    const ex = explain(cpu);
    if (!ex.fails) return { cpuString: cpu, add: adds, dropped, disabled };
    if (!ex.unavailable.length) return { cpuString: null, add: adds, dropped, disabled, ...(ex.qemuError ? { error: ex.qemuError } : {}) };
    const unav = new Set(ex.unavailable);
    dropped.push(...adds.filter((f) => unav.has(f)));
    adds = adds.filter((f) => !unav.has(f));
    disabled.push(...ex.unavailable.filter((f) => !dropped.includes(f) && !disabled.includes(f) && !f.includes('=')));
  }
  return { cpuString: null, add: adds, dropped, disabled, error: 'no -cpu string passes enforce' };
}
