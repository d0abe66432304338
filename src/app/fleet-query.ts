import { KvcpuError } from '../core/errors.ts';
import { baselineCpus, type BaselineCpu, type BaselineOptions } from '../cpu-baseline/baseline-cpus.ts';
import type { CpuDef } from '../cpu-baseline/cpu-def.ts';
import { effectiveBits } from '../cpu-baseline/decode-cpu.ts';
import { planPoolsOf, type PoolEntry, type PoolsOptions, type PoolsPlan } from '../cpu-baseline/plan-pools.ts';
import { NOT_IN_QEMU_7_2, renderKubevirt, renderLibvirtXml, renderNova, renderQemu } from '../cpu-baseline/render-baseline.ts';
import { bitsToNames, countBits, type X86Map } from '../cpu-baseline/x86-map.ts';
import { cpuDefOf, type FleetHostSummary, type StoredCpu } from './fleet-record.ts';

/** A host as the fleet queries see it: the stored summary, its CPU and when it was last heard of. */
export interface FleetHost {
  summary: FleetHostSummary;
  cpu: StoredCpu;
  cpuDigest: string;
  lastSeen: string;
  reports: number;
}

/** Default: a host that has not reported for a day is stale (agents push every few minutes). */
export const DEFAULT_STALE_AFTER_MS = 24 * 3600 * 1000;

export type WherePredicate =
  | { key: 'model'; value: string }
  | { key: 'vendor'; value: string }
  | { key: 'feature'; value: string; negate: boolean }
  | { key: 'check'; id: string; status: 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | null }
  | { key: 'name'; value: string }
  | { key: 'stale'; value: boolean }
  | { key: 'source'; value: string };

const WHERE_KEYS = ['model', 'vendor', 'feature', 'check', 'name', 'stale', 'fresh', 'source'] as const;

/**
 * `--where model=Haswell*,feature=avx2,feature=!avx512f,check=kvm.usable:FAIL,stale`: every term
 * must hold (AND). Names and models match case-insensitively, `*` as a wildcard.
 */
export function parseWhere(text: string | undefined): WherePredicate[] {
  if (!text || text.trim() === '') return [];
  return text.split(',').map((raw): WherePredicate => {
    const term = raw.trim();
    const eq = term.indexOf('=');
    const key = (eq < 0 ? term : term.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : term.slice(eq + 1).trim();
    const bad = (why: string) =>
      new KvcpuError('E_FLEET_BAD_WHERE', `--where ${JSON.stringify(term)}: ${why}`, {
        hint: 'terms: model=NAME, vendor=Intel|AMD, feature=F or feature=!F, check=ID[:PASS|WARN|FAIL|SKIP], name=GLOB, source=report|capture|..., stale, fresh',
      });
    if (!(WHERE_KEYS as readonly string[]).includes(key)) throw bad(`unknown key ${JSON.stringify(key)}`);
    if (key === 'stale' || key === 'fresh') {
      if (value !== '') throw bad(`${key} takes no value`);
      return { key: 'stale', value: key === 'stale' };
    }
    if (value === '') throw bad('missing value');
    if (key === 'feature') return value.startsWith('!') ? { key, value: value.slice(1), negate: true } : { key, value, negate: false };
    if (key === 'check') {
      const [id, st] = value.split(':');
      const status = st === undefined ? null : st.toUpperCase();
      if (status !== null && !['PASS', 'WARN', 'FAIL', 'SKIP'].includes(status)) throw bad(`status ${JSON.stringify(st)} is not PASS, WARN, FAIL or SKIP`);
      return { key, id: id!, status: status as 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | null };
    }
    return { key: key as 'model' | 'vendor' | 'name' | 'source', value };
  });
}

function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
}

export function isStale(h: { lastSeen: string }, now: Date, staleAfterMs: number): boolean {
  return now.getTime() - Date.parse(h.lastSeen) > staleAfterMs;
}

/** The hosts every predicate holds for. Feature names are libvirt's or Linux's (`avx512f`, `pni`/`sse3`). */
export function filterHosts(hosts: FleetHost[], where: WherePredicate[], opts: { now?: Date; staleAfterMs?: number } = {}): FleetHost[] {
  const now = opts.now ?? new Date();
  const staleAfter = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const featureSets = new Map<string, Set<string>>();
  const featuresOf = (h: FleetHost) => {
    let s = featureSets.get(h.cpuDigest);
    if (!s) featureSets.set(h.cpuDigest, (s = new Set(h.cpu.allFeatures.map((f) => f.toLowerCase()))));
    return s;
  };
  const tests = where.map((w): ((h: FleetHost) => boolean) => {
    switch (w.key) {
      case 'model': {
        const re = glob(w.value);
        return (h) => h.summary.cpu.decodedModel !== null && re.test(h.summary.cpu.decodedModel);
      }
      case 'vendor': {
        const re = glob(w.value);
        return (h) => h.summary.cpu.vendor !== null && re.test(h.summary.cpu.vendor);
      }
      case 'name': {
        const re = glob(w.value);
        return (h) => re.test(h.summary.name);
      }
      case 'source':
        return (h) => h.summary.source === w.value;
      case 'feature': {
        // Accept the Linux/QEMU spellings users type (sse4.2 → sse4.2, pni → pni); libvirt's names
        // are what is stored, so try the value as given and with '_'/'.' variants.
        const v = w.value.toLowerCase();
        const alts = [v, v.replace(/_/g, '.'), v.replace(/\./g, '_'), v === 'sse3' ? 'pni' : v];
        return (h) => alts.some((a) => featuresOf(h).has(a)) !== w.negate;
      }
      case 'check':
        return (h) => h.summary.checks.some((c) => c.id === w.id && (w.status === null || c.status === w.status));
      case 'stale':
        return (h) => isStale(h, now, staleAfter) === w.value;
    }
  });
  return hosts.filter((h) => tests.every((t) => t(h)));
}

/** One CpuDef per distinct stored CPU, in order of first appearance, with its hosts' names. */
function groupByCpu(hosts: FleetHost[]): PoolEntry[] {
  const groups = new Map<string, PoolEntry>();
  for (const h of hosts) {
    const g = groups.get(h.cpuDigest);
    if (g) g.labels.push(h.summary.name);
    else groups.set(h.cpuDigest, { def: cpuDefOf(h.cpu, h.summary.name), labels: [h.summary.name] });
  }
  return [...groups.values()];
}

/** One CpuDef per distinct CPU: a baseline over identical CPUs equals the baseline over one of them. */
function distinctDefs(hosts: FleetHost[]): CpuDef[] {
  return groupByCpu(hosts).map((g) => g.def);
}

/** Models a QEMU command line can name: libvirt's list minus those QEMU 7.2 lacks. */
export function qemuModelNames(x: X86Map): Set<string> {
  return new Set(x.models.map((m) => m.def.name).filter((n) => !NOT_IN_QEMU_7_2.has(n)));
}

/** The baseline of these hosts exactly as `kvcpu cpu baseline` computes it from the same inputs. */
export function fleetBaseline(x: X86Map, hosts: FleetHost[], opts: BaselineOptions = {}): ReturnType<typeof baselineCpus> {
  if (hosts.length === 0) throw new KvcpuError('E_FLEET_NO_HOSTS', 'no hosts match', { hint: 'check --hosts/--where against `kvcpu fleet hosts`' });
  return baselineCpus(x, distinctDefs(hosts), opts);
}

export type RenderedBaseline = { qemu: string; libvirt: string; kubevirt: string; nova: string };

export function renderBaselineForms(cpu: BaselineCpu): RenderedBaseline {
  return { qemu: renderQemu(cpu).text.trim(), libvirt: renderLibvirtXml(cpu), kubevirt: renderKubevirt(cpu), nova: renderNova(cpu) };
}

/** Which hosts hold a pool back, and what the pool would gain without them. */
export interface Holdback {
  /** Hosts that share one CPU (the same stored definition). */
  hosts: string[];
  hostCount: number;
  /** Features the rest of the pool has in common and these hosts lack (libvirt names). */
  lacks: string[];
  /** The pool's baseline model without these hosts. */
  modelWithout: string;
  /** How many features the baseline gains without them. */
  gain: number;
}

export interface FleetPool {
  vendor: string | null;
  hostCount: number;
  /** At most 50 host names (a 10,000-host pool would print megabytes); all with --json --all-hosts. */
  hosts: { name: string; lost: number; lostFeatures: string[] }[];
  baseline: BaselineCpu;
  level: string | null;
  features: number;
  rendered: RenderedBaseline;
  /** Best first: the CPUs whose removal gains the most features (at most 5). */
  heldBackBy: Holdback[];
}

export interface FleetPools {
  pools: FleetPool[];
  tradeoff: PoolsPlan['tradeoff'];
  chosen: number;
  rule: string;
  hosts: number;
}

/**
 * Migration pools over the stored hosts: `kvcpu cpu pools`' algorithm on each host's stored CPU,
 * then, per pool, for each distinct CPU in it, the baseline the pool would get without the hosts
 * of that CPU ("held back to Haswell by db-17: it lacks avx512f; without it, Skylake-Server").
 */
export function fleetPools(x: X86Map, hosts: FleetHost[], opts: PoolsOptions & { hostLimit?: number } = {}): FleetPools {
  if (hosts.length === 0) throw new KvcpuError('E_FLEET_NO_HOSTS', 'the store has no hosts (or none match)', { hint: 'kvcpu fleet import --db DB FILES...' });
  const plan = planPoolsOf(x, groupByCpu(hosts), opts);
  const byName = new Map(hosts.map((h) => [h.summary.name, h]));
  const limit = opts.hostLimit ?? 50;
  const pools = plan.pools.map((pl): FleetPool => {
    const members = pl.hosts.map((h) => byName.get(h.label)!);
    // One representative per distinct CPU: baselines over identical CPUs equal those over one.
    const groups = new Map<string, FleetHost[]>();
    for (const m of members) groups.set(m.cpuDigest, [...(groups.get(m.cpuDigest) ?? []), m]);
    const reps = [...groups.values()].map((g) => g[0]!);
    const base = baselineCpus(
      x,
      reps.map((r) => cpuDefOf(r.cpu, r.summary.name)),
      opts,
    );
    const baseBits = effectiveBits(x, base.cpu);
    const baseCount = countBits(baseBits);
    const heldBackBy: Holdback[] = [];
    if (reps.length > 1) {
      for (const [digest, group] of groups) {
        const rest = reps.filter((r) => r.cpuDigest !== digest);
        const without = baselineCpus(
          x,
          rest.map((r) => cpuDefOf(r.cpu, r.summary.name)),
          opts,
        );
        const wBits = effectiveBits(x, without.cpu);
        const gain = countBits(wBits) - baseCount;
        if (gain <= 0) continue;
        const mine = new Set(group[0]!.cpu.allFeatures);
        const lacks = bitsToNames(x, wBits).filter((f) => !mine.has(f));
        heldBackBy.push({ hosts: group.slice(0, 10).map((g) => g.summary.name), hostCount: group.length, lacks, modelWithout: without.cpu.model, gain });
      }
    }
    heldBackBy.sort((a, b) => b.gain - a.gain || a.hostCount - b.hostCount);
    return {
      vendor: pl.vendor,
      hostCount: pl.hosts.length,
      hosts: pl.hosts.slice(0, limit).map((h) => ({ name: h.label, lost: h.lost, lostFeatures: h.lostFeatures })),
      baseline: pl.baseline,
      level: pl.level,
      features: pl.features,
      rendered: renderBaselineForms(pl.baseline),
      heldBackBy: heldBackBy.slice(0, 5),
    };
  });
  return { pools, tradeoff: plan.tradeoff, chosen: plan.chosen, rule: plan.rule, hosts: hosts.length };
}

/** Fleet readiness and overcommit: hosts failing checks, vCPU:CPU per host and over the fleet. */
export interface FleetHealth {
  hosts: number;
  stale: string[];
  failing: { check: string; hosts: string[] }[];
  overcommit: { name: string; ratio: number; guestVcpus: number; hostCpus: number }[];
  fleetRatio: number | null;
}

export function fleetHealth(hosts: FleetHost[], opts: { now?: Date; staleAfterMs?: number } = {}): FleetHealth {
  const now = opts.now ?? new Date();
  const staleAfter = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const failing = new Map<string, string[]>();
  for (const h of hosts) for (const c of h.summary.checks) if (c.status === 'FAIL') failing.set(c.id, [...(failing.get(c.id) ?? []), h.summary.name]);
  const oc = hosts.flatMap((h) => (h.summary.overcommit ? [{ name: h.summary.name, ...h.summary.overcommit }] : []));
  const cpus = oc.reduce((s, o) => s + o.hostCpus, 0);
  const vcpus = oc.reduce((s, o) => s + o.guestVcpus, 0);
  return {
    hosts: hosts.length,
    stale: hosts.filter((h) => isStale(h, now, staleAfter)).map((h) => h.summary.name),
    failing: [...failing].map(([check, hs]) => ({ check, hosts: hs })).sort((a, b) => b.hosts.length - a.hosts.length || a.check.localeCompare(b.check)),
    overcommit: oc.sort((a, b) => b.ratio - a.ratio),
    fleetRatio: cpus > 0 ? vcpus / cpus : null,
  };
}
