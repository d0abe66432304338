import { firstUnexpectedKey } from './unknown-key-order.ts';
import { formatSmp } from './format-smp.ts';
import { apicIdLimit } from './cpu-slots.ts';
import { parseInt64 } from './parse-int64.ts';
import { mergeKeyval, parseKeyval, type KeyvalDict } from './parse-keyval.ts';
import {
  atLeast,
  cmpVersion,
  DEFAULT_QEMU_VERSION,
  MODELLED_QEMU_VERSIONS,
  parseQemuVersion,
  resolveMachine,
  shownLevels,
  ver,
  type MachineInfo,
  type QemuVersion,
} from './qemu-machines.ts';
import type { GuestTopology, SmpError, SmpErrorCode, SmpFill, SmpMember, SmpResult, TopologyLevel } from './types.ts';
import { SMP_MEMBERS } from './types.ts';

export interface ParseSmpOptions {
  /** `-machine` value (aliases ok). Default `q35` = pc-q35-7.2 on 7.2 (kvcpu's target), not QEMU's `pc` default. */
  machine?: string;
  /** QEMU version to model, MAJOR.MINOR[.MICRO]; default 7.2. */
  qemuVersion?: string;
  /**
   * Accelerator, for the one accelerator-dependent -smp check kvcpu models: x86 TCG before QEMU
   * 9.0 refuses APIC IDs >= 255. Omitted: not refused, but warned about.
   */
  accel?: 'tcg' | 'kvm';
}

/**
 * The -smp members a QEMU version knows (qapi/machine.json SMPConfiguration, schema order):
 * 6.1–6.2 cpus,sockets,dies,cores,threads,maxcpus; 7.0 + clusters; 8.2 + drawers, books;
 * 9.1 + modules.
 */
export function smpMembers(qemu: QemuVersion): SmpMember[] {
  return SMP_MEMBERS.filter((m) => {
    if (m === 'clusters') return atLeast(qemu, '7.0');
    if (m === 'drawers' || m === 'books') return atLeast(qemu, '8.2');
    if (m === 'modules') return atLeast(qemu, '9.1');
    return true;
  });
}

/** What `-smp help` prints (7.2: "smp-opts options:" then the members sorted, `=<num>`). */
export function smpHelpText(qemu: QemuVersion): string {
  return ['smp-opts options:', ...[...smpMembers(qemu)].sort().map((m) => `  ${m}=<num>`)].join('\n');
}

const U32 = 0xffffffff;

/**
 * Thrown inside the algorithm when QEMU's 32-bit arithmetic would wrap or divide by zero.
 * Internal control flow, not exported: parseSmp returns it as an E_SMP_OUT_OF_RANGE result.
 */
class Wrap extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

/** 32-bit unsigned product like QEMU's `unsigned` arithmetic; kvcpu refuses instead of wrapping. */
function mul(...xs: number[]): number {
  let p = 1;
  for (const x of xs) {
    p *= x;
    if (p > U32) throw new Wrap('the product of the topology overflows 32 bits');
  }
  return p;
}

function div(a: number, b: number): number {
  if (b === 0) throw new Wrap('division by zero (QEMU 7.2 crashes with SIGFPE)');
  return Math.floor(a / b);
}

/** C `%d` of an unsigned 32-bit value (QEMU prints some counts with %d). */
function asInt32(v: number): number {
  return v | 0;
}

type Given = Partial<Record<SmpMember, bigint>>;

function fail(code: SmpErrorCode, message: string, extra: Partial<SmpError> = {}, warnings: string[] = [], m?: MachineInfo, v?: string): SmpResult {
  return { ok: false, error: { code, message, ...extra }, warnings, ...(m ? { machine: m.name } : {}), ...(v ? { qemuVersion: v } : {}) };
}

/**
 * QEMU's "sockets (S) * dies (D) * cores (C) * threads (T)" — the levels this machine has,
 * largest first (hw/core/machine-smp.c cpu_hierarchy_to_string).
 */
function hierarchy(m: MachineInfo, v: Record<TopologyLevel, number>): string {
  return shownLevels(m)
    .map((l) => `${l} (${v[l]})`)
    .join(' * ');
}

interface Computed {
  topology: GuestTopology;
  fills: SmpFill[];
  warnings: string[];
}

type AlgoResult = { ok: true; value: Computed } | { ok: false; code: SmpErrorCode; message: string; warnings: string[] };

type OptionalLevel = 'dies' | 'clusters' | 'books' | 'drawers' | 'modules';

/**
 * How machine_parse_smp_config() (hw/core/machine-smp.c) changed between the QEMU releases
 * kvcpu models from 6.2 on: one row per release that changed it; a version follows the newest
 * row at or below it. Which members a version knows at all is smpMembers().
 */
interface SmpConfigRules {
  since: string;
  /** A member given as 0: deprecated (warning, then treated as omitted) until 8.2, an error from 9.0. */
  zero: 'warn' | 'error';
  /** Levels a machine may lack, in the order QEMU checks them. */
  optionalLevels: readonly OptionalLevel[];
  /** The refusal of such a level given > 1. */
  unsupportedMessage: (level: OptionalLevel) => string;
  /** 9.0 alone also warned about an unsupported level given as 1. */
  warnUnsupportedAsOne: boolean;
}

const SMP_CONFIG_RULES: readonly SmpConfigRules[] = [
  // 6.2 – 8.2: 7.2 checks dies, clusters ("X not supported by this machine's CPU topology"); 8.2 adds books, drawers.
  {
    since: '6.2',
    zero: 'warn',
    optionalLevels: ['dies', 'clusters', 'books', 'drawers'],
    unsupportedMessage: (l) => `${l} not supported by this machine's CPU topology`,
    warnUnsupportedAsOne: false,
  },
  {
    since: '9.0',
    zero: 'error',
    optionalLevels: ['dies', 'clusters', 'books', 'drawers'],
    unsupportedMessage: (l) => `${l} not supported by this machine's CPU topology`,
    warnUnsupportedAsOne: true,
  },
  // 9.1 reorders to modules, clusters, dies, books, drawers and says "X > 1 not supported".
  {
    since: '9.1',
    zero: 'error',
    optionalLevels: ['modules', 'clusters', 'dies', 'books', 'drawers'],
    unsupportedMessage: (l) => `${l} > 1 not supported by this machine's CPU topology`,
    warnUnsupportedAsOne: false,
  },
];

function smpConfigRules(qemu: QemuVersion): SmpConfigRules {
  return SMP_CONFIG_RULES.findLast((r) => atLeast(qemu, r.since)) ?? SMP_CONFIG_RULES[0]!;
}

/** What generic() works on: the given members (0 = omitted) as QEMU's unsigned values, and what it filled. */
interface SmpState {
  g: Given;
  cpus: number;
  maxcpus: number;
  lv: Record<TopologyLevel, number>;
  fills: SmpFill[];
  warnings: string[];
}

type Refusal = Extract<AlgoResult, { ok: false }>;

/** QEMU >= 6.2 machine_parse_smp_config(), per version (notes §4.1, §4.3). */
function generic(g: Given, m: MachineInfo, qemu: QemuVersion): AlgoResult {
  const rules = smpConfigRules(qemu);
  const s = givenState(g);
  const refused = refuseZeros(s, rules) ?? refuseUnsupportedLevels(s, m, qemu, rules);
  if (refused) return refused;
  for (const l of ['drawers', 'books', 'dies', 'clusters', 'modules'] as const) if (s.lv[l] === 0) s.lv[l] = 1;
  fillOmitted(s, m);
  return checkProduct(s, m) ?? finish(s.cpus, s.maxcpus, s.lv, m, s.fills, s.warnings);
}

function givenState(g: Given): SmpState {
  const u = (k: SmpMember): number => (g[k] === undefined ? 0 : Number(BigInt.asUintN(32, g[k]!)));
  return {
    g,
    cpus: u('cpus'),
    maxcpus: u('maxcpus'),
    lv: {
      drawers: u('drawers'),
      books: u('books'),
      sockets: u('sockets'),
      dies: u('dies'),
      clusters: u('clusters'),
      modules: u('modules'),
      cores: u('cores'),
      threads: u('threads'),
    },
    fills: [],
    warnings: [],
  };
}

// Zero given explicitly: deprecated (6.2 – 8.2: warning, then treated as omitted), error from 9.0.
function refuseZeros(s: SmpState, rules: SmpConfigRules): Refusal | undefined {
  if (!Object.values(s.g).some((x) => x === 0n)) return undefined;
  if (rules.zero === 'error') {
    return { ok: false, code: 'E_SMP_ZERO', message: 'Invalid CPU topology: CPU topology parameters must be greater than zero', warnings: s.warnings };
  }
  s.warnings.push('Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero');
  return undefined;
}

// Levels the machine lacks: refused when > 1 (in the version's order and words); 9.0.0 alone
// warned about unsupported levels given as 1.
function refuseUnsupportedLevels(s: SmpState, m: MachineInfo, qemu: QemuVersion, rules: SmpConfigRules): Refusal | undefined {
  for (const l of rules.optionalLevels) {
    if (!smpMembers(qemu).includes(l) || m.supports[l]) continue;
    if (s.lv[l] > 1) return { ok: false, code: 'E_SMP_UNSUPPORTED_LEVEL', message: rules.unsupportedMessage(l), warnings: s.warnings };
    if (rules.warnUnsupportedAsOne && s.g[l] === 1n) {
      s.warnings.push(`Deprecated CPU topology (considered invalid): Unsupported ${l} parameter mustn't be specified as 1`);
    }
  }
  return undefined;
}

// Omitted members: machine types <= 6.1 prefer sockets, >= 6.2 prefer cores; threads take the
// rest when sockets and cores are given; maxcpus and cpus last.
function fillOmitted(s: SmpState, m: MachineInfo): void {
  const { g, lv, fills } = s;
  const pref = m.preferSockets ? 'machine types <= 6.1 prefer sockets' : 'machine types >= 6.2 prefer cores';
  const fill = (member: SmpMember, value: number, rule: string) =>
    fills.push({ member, value, rule: g[member] === 0n ? rule.replace(/^omitted →/, 'given as 0 = omitted (deprecated) →') : rule });
  const upper = () => mul(lv.drawers, lv.books); // levels above sockets
  const mid = () => mul(lv.dies, lv.clusters, lv.modules); // levels between sockets and cores
  if (s.cpus === 0 && s.maxcpus === 0) {
    for (const l of ['sockets', 'cores', 'threads'] as const) {
      if (lv[l] === 0) {
        lv[l] = 1;
        fill(l, 1, 'omitted → 1 (neither cpus nor maxcpus given: the levels decide the size)');
      }
    }
  } else {
    if (s.maxcpus === 0) {
      s.maxcpus = s.cpus;
      fill('maxcpus', s.maxcpus, 'omitted → cpus (no hot-pluggable vCPUs)');
    }
    const maxcpus = s.maxcpus;
    const one = (l: TopologyLevel, why: string) => {
      if (lv[l] === 0) {
        lv[l] = 1;
        fill(l as SmpMember, 1, why);
      }
    };
    if (m.preferSockets) {
      if (lv.sockets === 0) {
        one('cores', `omitted → 1 (${pref}: sockets take the rest)`);
        one('threads', 'omitted → 1');
        lv.sockets = div(maxcpus, mul(upper(), mid(), lv.cores, lv.threads));
        fill('sockets', lv.sockets, `omitted → maxcpus / (other levels) = ${maxcpus} / ${mul(upper(), mid(), lv.cores, lv.threads)} (${pref})`);
      } else if (lv.cores === 0) {
        one('threads', 'omitted → 1');
        lv.cores = div(maxcpus, mul(upper(), lv.sockets, mid(), lv.threads));
        fill(
          'cores',
          lv.cores,
          `omitted → maxcpus / (other levels) = ${maxcpus} / ${mul(upper(), lv.sockets, mid(), lv.threads)} (sockets given, so cores take the rest)`,
        );
      }
    } else {
      if (lv.cores === 0) {
        one('sockets', `omitted → 1 (${pref}: cores take the rest)`);
        one('threads', 'omitted → 1');
        lv.cores = div(maxcpus, mul(upper(), lv.sockets, mid(), lv.threads));
        fill('cores', lv.cores, `omitted → maxcpus / (other levels) = ${maxcpus} / ${mul(upper(), lv.sockets, mid(), lv.threads)} (${pref})`);
      } else if (lv.sockets === 0) {
        one('threads', 'omitted → 1');
        lv.sockets = div(maxcpus, mul(upper(), mid(), lv.cores, lv.threads));
        fill(
          'sockets',
          lv.sockets,
          `omitted → maxcpus / (other levels) = ${maxcpus} / ${mul(upper(), mid(), lv.cores, lv.threads)} (cores given, so sockets take the rest)`,
        );
      }
    }
    if (lv.threads === 0) {
      lv.threads = div(maxcpus, mul(upper(), lv.sockets, mid(), lv.cores));
      fill(
        'threads',
        lv.threads,
        `omitted → maxcpus / (other levels) = ${maxcpus} / ${mul(upper(), lv.sockets, mid(), lv.cores)} (sockets and cores given, so threads take the rest)`,
      );
    }
  }
  const product = mul(upper(), lv.sockets, mid(), lv.cores, lv.threads);
  if (s.maxcpus === 0) {
    s.maxcpus = product;
    fill('maxcpus', s.maxcpus, 'omitted → product of the levels');
  }
  if (s.cpus === 0) {
    s.cpus = s.maxcpus;
    fill('cpus', s.cpus, 'omitted → maxcpus (all vCPUs present at boot)');
  }
}

// The product of the levels must be maxcpus, and maxcpus at least cpus.
function checkProduct(s: SmpState, m: MachineInfo): Refusal | undefined {
  const { lv, cpus, maxcpus, warnings } = s;
  // The same grouping as fillOmitted's (and QEMU's): the 32-bit overflow check sees the same partial products.
  const product = mul(mul(lv.drawers, lv.books), lv.sockets, mul(lv.dies, lv.clusters, lv.modules), lv.cores, lv.threads);
  if (product !== maxcpus) {
    return {
      ok: false,
      code: 'E_SMP_PRODUCT_MISMATCH',
      message: `Invalid CPU topology: product of the hierarchy must match maxcpus: ${hierarchy(m, lv)} != maxcpus (${maxcpus})`,
      warnings,
    };
  }
  if (maxcpus < cpus) {
    return {
      ok: false,
      code: 'E_SMP_MAXCPUS_LT_CPUS',
      message: `Invalid CPU topology: maxcpus must be equal to or greater than smp: ${hierarchy(m, lv)} == maxcpus (${maxcpus}) < smp_cpus (${cpus})`,
      warnings,
    };
  }
  return undefined;
}

function finish(cpus: number, maxcpus: number, lv: Record<TopologyLevel, number>, m: MachineInfo, fills: SmpFill[], warnings: string[]): AlgoResult {
  if (cpus < m.minCpus) {
    return {
      ok: false,
      code: 'E_SMP_TOO_FEW_CPUS',
      message: `Invalid SMP CPUs ${asInt32(cpus)}. The min CPUs supported by machine '${m.name}' is ${m.minCpus}`,
      warnings,
    };
  }
  if (maxcpus > m.maxCpus) {
    return {
      ok: false,
      code: 'E_SMP_TOO_MANY_CPUS',
      message: `Invalid SMP CPUs ${asInt32(maxcpus)}. The max CPUs supported by machine '${m.name}' is ${m.maxCpus}`,
      warnings,
    };
  }
  const topology: GuestTopology = {
    drawers: lv.drawers,
    books: lv.books,
    sockets: lv.sockets,
    dies: lv.dies,
    clusters: lv.clusters,
    cores: lv.cores,
    threads: lv.threads,
    cpus,
    maxcpus,
  };
  if (m.supports.modules) topology.modules = lv.modules;
  return { ok: true, value: { topology, fills, warnings } };
}

/**
 * QEMU 5.2 – 6.1 (hw/core/machine.c smp_parse / hw/i386/pc.c pc_smp_parse; notes §4.4, from
 * source, not run): zero = omitted, always prefer sockets, cpus (not maxcpus) drives the
 * computation, dies only on pc.
 */
function legacy(g: Given, m: MachineInfo): AlgoResult {
  const warnings: string[] = [];
  const fills: SmpFill[] = [];
  const u = (k: SmpMember): number => (g[k] === undefined ? 0 : Number(BigInt.asUintN(32, g[k]!)));
  const isPc = m.supports.dies;
  let cpus = u('cpus');
  let sockets = u('sockets');
  let cores = u('cores');
  let threads = u('threads');
  let dies = 1;
  if (isPc) {
    if (g.dies !== undefined) dies = u('dies');
    if (dies === 0) throw new Wrap('dies=0 reaches a division by zero in QEMU 6.1 pc_smp_parse');
  } else if (u('dies') > 1) {
    return { ok: false, code: 'E_SMP_UNSUPPORTED_LEVEL', message: "dies not supported by this machine's CPU topology", warnings };
  }
  const fill = (member: SmpMember, value: number, rule: string) => fills.push({ member, value, rule });
  const H = (mx: number) =>
    isPc
      ? `sockets (${sockets}) * dies (${dies}) * cores (${cores}) * threads (${threads}) != maxcpus (${mx})`
      : `sockets (${sockets}) * cores (${cores}) * threads (${threads}) != maxcpus (${mx})`;
  if (cpus === 0 || sockets === 0) {
    if (cores === 0) fill('cores', (cores = 1), 'omitted → 1 (QEMU <= 6.1 prefers sockets)');
    if (threads === 0) fill('threads', (threads = 1), 'omitted → 1');
    if (cpus === 0) {
      if (sockets === 0) fill('sockets', (sockets = 1), 'omitted → 1 (cpus omitted too)');
      cpus = mul(sockets, dies, cores, threads);
      fill('cpus', cpus, 'omitted → product of the levels (QEMU <= 6.1)');
    } else {
      const base = g.maxcpus !== undefined ? u('maxcpus') : cpus;
      sockets = div(base, mul(dies, cores, threads));
      fill('sockets', sockets, `omitted → ${g.maxcpus !== undefined ? 'maxcpus' : 'cpus'} / (other levels) (QEMU <= 6.1 prefers sockets)`);
    }
  } else if (cores === 0) {
    if (threads === 0) fill('threads', (threads = 1), 'omitted → 1');
    cores = Math.max(1, div(cpus, mul(sockets, dies, threads)));
    fill('cores', cores, 'omitted → max(1, cpus / (sockets*dies*threads)) (QEMU <= 6.1 computes from cpus)');
  } else if (threads === 0) {
    threads = Math.max(1, div(cpus, mul(sockets, dies, cores)));
    fill('threads', threads, 'omitted → max(1, cpus / (sockets*dies*cores)) (QEMU <= 6.1 computes from cpus)');
  } else if (mul(sockets, dies, cores, threads) < cpus) {
    const message = isPc
      ? `cpu topology: sockets (${sockets}) * dies (${dies}) * cores (${cores}) * threads (${threads}) < smp_cpus (${cpus})`
      : `cpu topology: sockets (${sockets}) * cores (${cores}) * threads (${threads}) < smp_cpus (${cpus})`;
    return { ok: false, code: 'E_SMP_PRODUCT_MISMATCH', message, warnings };
  }
  const maxcpus = g.maxcpus !== undefined ? u('maxcpus') : cpus;
  if (g.maxcpus === undefined) fill('maxcpus', maxcpus, 'omitted → cpus');
  if (maxcpus < cpus) return { ok: false, code: 'E_SMP_MAXCPUS_LT_CPUS', message: 'maxcpus must be equal to or greater than smp', warnings };
  if (mul(sockets, dies, cores, threads) !== maxcpus) {
    return {
      ok: false,
      code: 'E_SMP_PRODUCT_MISMATCH',
      message: isPc ? `Invalid CPU topology deprecated: ${H(maxcpus)}` : `Invalid CPU topology: ${H(maxcpus)}`,
      warnings,
    };
  }
  const lv = { drawers: 1, books: 1, sockets, dies, clusters: 1, modules: 1, cores, threads };
  return finish(cpus, maxcpus, lv, m, fills, warnings);
}

/**
 * Parse and validate a `-smp` value exactly as QEMU does (default: QEMU 7.2, machine
 * pc-q35-7.2), fill omitted members, and return the topology or QEMU's refusal as a value.
 * Several strings = several `-smp` options (merged key by key, later wins).
 *
 * Stages, first failure wins (notes §1): keyval syntax → machine type → QAPI visit (integers,
 * unknown keys) → machine_parse_smp_config → (x86 TCG < 9.0) APIC-ID space.
 * Where QEMU's behaviour rests on 32-bit wrap-around (negative values, >= 2^32, overflowing
 * products; QEMU 7.2 even crashes with SIGFPE), kvcpu refuses with E_SMP_OUT_OF_RANGE instead.
 */
export function parseSmp(spec: string | string[], opts: ParseSmpOptions = {}): SmpResult {
  const versionText = opts.qemuVersion ?? DEFAULT_QEMU_VERSION;
  const qemu = parseQemuVersion(versionText);
  if (!qemu) return fail('E_SMP_QEMU_VERSION', `not a QEMU version: '${versionText}' (use MAJOR.MINOR, e.g. 7.2)`);
  if (cmpVersion(qemu, ver(MODELLED_QEMU_VERSIONS.min)) < 0 || cmpVersion(qemu, ver(MODELLED_QEMU_VERSIONS.max)) > 0) {
    return fail('E_SMP_QEMU_VERSION', `QEMU ${versionText} is not modelled (kvcpu models ${MODELLED_QEMU_VERSIONS.min} to ${MODELLED_QEMU_VERSIONS.max})`);
  }
  const version = `${qemu.major}.${qemu.minor}`;
  const specs = Array.isArray(spec) ? spec : [spec];

  // Stage 1: every -smp option is parsed when QEMU meets it (before the machine is chosen);
  // `help` prints the member list and exits at once.
  const dict: KeyvalDict = Object.create(null) as KeyvalDict;
  for (const s of specs) {
    const kv = parseKeyval(s, 'cpus');
    if (!kv.ok) return fail('E_SMP_SYNTAX', kv.message, { location: `-smp ${s}` }, [], undefined, version);
    if (kv.help) return fail('E_SMP_HELP', smpHelpText(qemu), {}, [], undefined, version);
    mergeKeyval(dict, kv.dict);
  }

  // Stage 2: machine type.
  // Default: the newest q35 of that QEMU version (pc-q35-7.2 for 7.2), kvcpu's target — not QEMU's own default (pc).
  const m = resolveMachine(opts.machine ?? 'q35', qemu);
  if ('code' in m) return fail(m.code, m.message, {}, [], undefined, version);

  // Stage 3: QAPI visit of SMPConfiguration: members in schema order, then unknown keys.
  const members = smpMembers(qemu);
  const given: Given = {};
  for (const k of members) {
    const v = dict[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') return fail('E_SMP_UNKNOWN_KEY', `Parameters 'smp.${k}.*' are unexpected`, {}, [], m, version);
    const n = parseInt64(v);
    if (n === null) return fail('E_SMP_NOT_INTEGER', `Parameter 'smp.${k}' expects integer`, {}, [], m, version);
    given[k] = n;
  }
  // With several unknown keys QEMU names the first in GLib hash-table slot order
  // (qobject_input_check_struct), not the first written: see unknown-key-order.ts.
  const unknown = Object.keys(dict).some((k) => !(members as string[]).includes(k)) ? firstUnexpectedKey(Object.keys(dict), members) : null;
  if (unknown !== null) return fail('E_SMP_UNKNOWN_KEY', `Parameter 'smp.${unknown}' is unexpected`, {}, [], m, version);

  // Stage 4: machine_parse_smp_config.
  const outOfRange = (Object.entries(given) as [SmpMember, bigint][]).find(([, v]) => v < 0n || v > BigInt(U32));
  let r: AlgoResult;
  try {
    if (outOfRange)
      throw new Wrap(`${outOfRange[0]}=${outOfRange[1]} is outside 0..4294967295 and QEMU would truncate it to 32 bits (${BigInt.asUintN(32, outOfRange[1])})`);
    r = atLeast(qemu, '6.2') ? generic(given, m, qemu) : legacy(given, m);
  } catch (e) {
    if (!(e instanceof Wrap)) throw e;
    return fail(
      'E_SMP_OUT_OF_RANGE',
      `kvcpu refuses this -smp: ${e.why}; every value must be a count from 1 to ${m.maxCpus} (machine '${m.name}')`,
      { kvcpuOnly: true },
      [],
      m,
      version,
    );
  }
  if (!r.ok) return fail(r.code, r.message, {}, r.warnings, m, version);
  const { topology, fills, warnings } = r.value;

  // Stage 5: board init limits below the machine class maximum (arm virt + GICv2: 8; s390x: no SMT).
  if (m.noSmt && topology.threads > 1) return fail('E_SMP_UNSUPPORTED_LEVEL', m.noSmt, {}, warnings, m, version);
  if (m.boardLimit && topology.maxcpus > m.boardLimit.maxCpus) {
    return fail('E_SMP_TOO_MANY_CPUS', m.boardLimit.message(topology.maxcpus), {}, warnings, m, version);
  }

  // Stage 6: x86 board init (hw/i386/x86.c x86_cpus_init, QEMU < 9.0): APIC IDs >= 255 need
  // KVM's in-kernel irqchip with the X2APIC API; TCG cannot provide it.
  if (m.x86Apic && !atLeast(qemu, '9.0')) {
    const limit = apicIdLimit(topology);
    if (limit > 255) {
      if (opts.accel === 'tcg') {
        return fail('E_SMP_APIC_ID_LIMIT', 'current -smp configuration requires kernel irqchip and X2APIC API support.', {}, warnings, m, version);
      }
      if (opts.accel === undefined) {
        warnings.push(`APIC IDs reach ${limit - 1}: QEMU ${version} runs this only under KVM with the in-kernel irqchip and X2APIC API (TCG refuses it)`);
      }
    }
  }
  return { ok: true, topology, canonical: formatSmp(topology, m), machine: m.name, qemuVersion: version, warnings, fills };
}
