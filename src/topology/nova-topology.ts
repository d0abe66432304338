/**
 * OpenStack Nova 26.2.2 ("Zed") guest CPU topology choice, re-implemented from the documented
 * rules (shared notes nova-algorithms.md §2) and checked case by case against Nova's own answers
 * (reference/nova/topology-cases.jsonl). The functions mirror nova/virt/hardware.py:
 * get_cpu_topology_constraints → _get_possible_cpu_topologies → _sort_possible_cpu_topologies.
 *
 * Nova's exceptions are returned as values ({error: ClassName}) because they are Nova's
 * answer, not a kvcpu failure.
 */

import { pythonInt } from '../core/python-semantics.ts';
import { KvcpuError } from '../core/errors.ts';

/** [sockets, cores, threads]. */
export type Sct = [number, number, number];

/** Nova's "no limit" value (hardware.py uses 65536 when neither flavor nor image sets one). */
export const NOVA_NO_LIMIT = 65536;

export type NovaTopologyErrorClass = 'InvalidRequest' | 'ImageVCPULimitsRangeExceeded' | 'ImageVCPUTopologyRangeExceeded' | 'ImageVCPULimitsRangeImpossible';

export interface NovaTopologyError {
  error: NovaTopologyErrorClass;
  /** Nova's message text (for people; match on `error`). */
  message: string;
}

export interface NovaTopologyRequest {
  vcpus: number;
  /** Flavor extra specs; Nova receives them as strings. */
  flavorExtraSpecs?: Record<string, string | number>;
  /** Image properties (integers or integer strings, as ImageMeta.from_dict takes them). */
  imageProperties?: Record<string, string | number>;
  /** Hypervisor supports threads (libvirt: true; VMware: false). Default true. */
  allowThreads?: boolean;
}

export interface NovaConstraints {
  /** Preferred [s,c,t]; 0 = no preference. */
  preferred: Sct;
  /** Limits; 65536 = none. */
  maximum: Sct;
}

export type NovaConstraintsResult = ({ ok: true } & NovaConstraints) | ({ ok: false } & NovaTopologyError);

export type NovaBestResult =
  { ok: true; best: Sct; ranked: Sct[]; preferred: Sct; maximum: Sct } | ({ ok: false; preferred?: Sct; maximum?: Sct } & NovaTopologyError);

class NovaRaise extends Error {
  constructor(
    readonly cls: NovaTopologyErrorClass,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Python's int() on a str/int as Nova calls it on flavor extra specs: surrounding whitespace,
 * an optional sign, decimal digits with single underscores between them. Anything else is
 * Python's ValueError, which Nova turns into InvalidRequest with this text.
 */
function pyInt(value: string | number): number {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new NovaRaise('InvalidRequest', `Invalid flavor extra spec. Error: cannot convert float ${value} to integer`);
  }
  const n = pythonInt(value);
  if (n === null) throw new NovaRaise('InvalidRequest', `Invalid flavor extra spec. Error: invalid literal for int() with base 10: '${value}'`);
  return n;
}

/** ImageMeta's IntegerField coercion (int(value)); a bad value is not a Nova topology error. */
function imageInt(key: string, value: string | number | undefined): number {
  if (value === undefined || value === null) return 0;
  try {
    return pyInt(value);
  } catch {
    throw new ImagePropertyError(key, value);
  }
}

/**
 * An image property Nova's ImageMeta.from_dict itself would refuse (ValueError before any
 * topology code runs): a KvcpuError E_BAD_INPUT that also carries the key and value, so the
 * batch answerer can reply Nova's `ValueError`.
 */
export class ImagePropertyError extends KvcpuError {
  constructor(
    readonly key: string,
    readonly value: unknown,
  ) {
    super('E_BAD_INPUT', `image property ${key}=${JSON.stringify(value)} is not an integer`, {
      hint: 'image hw_cpu_* properties are integers',
      details: { key, value, novaError: 'ValueError' },
    });
  }
}

const DIMS = ['sockets', 'cores', 'threads'] as const;

function fmt3(a: Sct | number[], names: readonly string[] = DIMS): string {
  return names.map((n, i) => `${n}=${a[i]}`).join(', ');
}

function constraintsOrRaise(req: NovaTopologyRequest): NovaConstraints {
  const flavor = req.flavorExtraSpecs ?? {};
  const image = req.imageProperties ?? {};
  const fl = (key: string) => flavor[`hw:${key}`] ?? 0;
  const im = (key: string) => imageInt(`hw_${key}`, image[`hw_${key}`]);

  // ImageMeta.from_dict coerces every image property before any topology code runs.
  const imageMax = DIMS.map((d) => im(`cpu_max_${d}`)) as Sct;
  const imagePref = DIMS.map((d) => im(`cpu_${d}`)) as Sct;
  // Limits first: Nova converts all three flavor limits, then compares (hardware.py order).
  const flavorMax = DIMS.map((d) => pyInt(fl(`cpu_max_${d}`))) as Sct;
  // A flavor limit of 0 means unset, so only set flavor limits bound the image limits.
  if (DIMS.some((_, i) => flavorMax[i]! !== 0 && imageMax[i]! > flavorMax[i]!)) {
    throw new NovaRaise('ImageVCPULimitsRangeExceeded', `Image vCPU topology limits (${fmt3(imageMax)}) exceeds the limits of the flavor (${fmt3(flavorMax)})`);
  }
  // Python `image or flavor or 65536`: the first non-zero wins (negative values are "set").
  const maximum = DIMS.map((_, i) => imageMax[i]! || flavorMax[i]! || NOVA_NO_LIMIT) as Sct;

  let flavorPref = DIMS.map((d) => pyInt(fl(`cpu_${d}`))) as Sct;
  // One flavor preference over its limit silently drops all three.
  if (flavorPref.some((v, i) => v > maximum[i]!)) flavorPref = [0, 0, 0];
  if (imagePref.some((v, i) => v > maximum[i]!)) {
    throw new NovaRaise(
      'ImageVCPUTopologyRangeExceeded',
      `Image vCPU topology (${fmt3(imagePref)}) exceeds the limits of the flavor or image (${fmt3(maximum)})`,
    );
  }
  // Any image preference (even one dimension) replaces the whole flavor preference.
  const preferred: Sct = imagePref.some((v) => v !== 0) ? imagePref : flavorPref;
  return { preferred, maximum };
}

/** get_cpu_topology_constraints: the preference and limits Nova derives from flavor + image. */
export function getNovaConstraints(req: NovaTopologyRequest): NovaConstraintsResult {
  try {
    return { ok: true, ...constraintsOrRaise(req) };
  } catch (e) {
    if (e instanceof NovaRaise) return { ok: false, error: e.cls, message: e.message };
    throw e;
  }
}

function divisorsUpTo(n: number, limit: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= Math.min(n, limit); d++) if (n % d === 0) out.push(d);
  return out;
}

function possibleOrRaise(vcpus: number, maximum: Sct, allowThreads: boolean): Sct[] {
  const maxS = Math.min(vcpus, maximum[0]);
  const maxC = Math.min(vcpus, maximum[1]);
  const maxT = allowThreads ? Math.min(vcpus, maximum[2]) : 1;
  // Nova loops s, c, t over 1..max (O(v³)); enumerating divisors gives the same set.
  const possible: Sct[] = [];
  for (const s of divisorsUpTo(vcpus, maxS)) {
    for (const c of divisorsUpTo(vcpus / s, maxC)) {
      const t = vcpus / s / c;
      if (t >= 1 && t <= maxT && Number.isInteger(t)) possible.push([s, c, t]);
    }
  }
  // Python sorted(reverse=True) by (s·c, s, t); keys are unique per topology, so stability is moot.
  possible.sort((a, b) => b[0] * b[1] - a[0] * a[1] || b[0] - a[0] || b[2] - a[2]);
  if (possible.length === 0) {
    throw new NovaRaise('ImageVCPULimitsRangeImpossible', `Requested vCPU limits ${maxS}:${maxC}:${maxT} are impossible to satisfy for vcpus count ${vcpus}`);
  }
  return possible;
}

/** _get_possible_cpu_topologies: every s·c·t = vcpus within the limits, in Nova's base order. */
export function getNovaPossibleTopologies(
  vcpus: number,
  maximum: Sct,
  allowThreads = true,
): { ok: true; possible: Sct[] } | ({ ok: false } & NovaTopologyError) {
  try {
    return { ok: true, possible: possibleOrRaise(vcpus, maximum, allowThreads) };
  } catch (e) {
    if (e instanceof NovaRaise) return { ok: false, error: e.cls, message: e.message };
    throw e;
  }
}

/** _score_cpu_topology: one point per set (truthy) preference that matches. */
function score(t: Sct, want: Sct): number {
  let n = 0;
  for (let i = 0; i < 3; i++) if (want[i] && t[i] === want[i]) n++;
  return n;
}

/** _sort_possible_cpu_topologies: stable buckets by score 3, 2, 1, 0. */
export function sortNovaTopologies(possible: Sct[], preferred: Sct): Sct[] {
  const buckets: Sct[][] = [[], [], [], []];
  for (const t of possible) buckets[3 - score(t, preferred)]!.push(t);
  return buckets.flat();
}

/** get_best_cpu_topology / _get_desirable_cpu_topologies, with the whole ranking. */
export function chooseNovaTopology(req: NovaTopologyRequest): NovaBestResult {
  let constraints: NovaConstraints | undefined;
  try {
    constraints = constraintsOrRaise(req);
    const possible = possibleOrRaise(req.vcpus, constraints.maximum, req.allowThreads ?? true);
    const ranked = sortNovaTopologies(possible, constraints.preferred);
    return { ok: true, best: ranked[0]!, ranked, ...constraints };
  } catch (e) {
    if (e instanceof NovaRaise) return { ok: false, error: e.cls, message: e.message, ...(constraints ?? {}) };
    throw e;
  }
}

/**
 * Nova's traps around these settings, as one-line warnings: things Nova accepts silently but
 * that do not do what the admin most likely meant.
 */
export function novaTopologyWarnings(req: NovaTopologyRequest, result: NovaBestResult): string[] {
  const w: string[] = [];
  const flavor = req.flavorExtraSpecs ?? {};
  const image = req.imageProperties ?? {};
  const known = new Set(DIMS.flatMap((d) => [`hw:cpu_${d}`, `hw:cpu_max_${d}`]));
  for (const key of Object.keys(flavor)) {
    const m = /^hw:max_cpu_(sockets|cores|threads)$/.exec(key);
    if (m) {
      // Nova 26.2.2 api/validation/extra_specs/hw.py registers hw:max_cpu_*, while
      // virt/hardware.py reads hw:cpu_max_* (bug 2120862, fixed in 32.0.0).
      w.push(`${key} passes Nova's extra-spec validator but the topology code ignores it: the limit is hw:cpu_max_${m[1]}`);
    } else if (/^hw:cpu_?max_?(sockets|cores|threads)$|^hw:cpu_(socket|core|thread)$/.test(key) && !known.has(key)) {
      w.push(`${key} is not a key Nova reads (typo?): the topology code ignores it (and API microversion >= 2.86 rejects it)`);
    }
  }
  for (const d of DIMS) {
    if (flavor[`hw:cpu_max_${d}`] !== undefined) {
      w.push(
        `hw:cpu_max_${d} is honoured by the topology code, but Nova 26.2.2's strict extra-spec validation (API microversion >= 2.86) rejects it as unknown (bug 2120862, fixed in 32.0.0); set it with microversion < 2.86 (e.g. openstack --os-compute-api-version 2.85 flavor set ...)`,
      );
      break;
    }
  }
  if (!result.ok) return w;
  const flavorPref = DIMS.map((d) => flavor[`hw:cpu_${d}`]);
  const imagePrefSet = DIMS.some((d) => image[`hw_cpu_${d}`] !== undefined && Number(image[`hw_cpu_${d}`]) !== 0);
  const flavorPrefSet = flavorPref.some((v) => v !== undefined && Number(v) !== 0);
  if (flavorPrefSet && !imagePrefSet && result.preferred.every((v) => v === 0)) {
    w.push('a flavor preference (hw:cpu_sockets/cores/threads) exceeds a limit, so Nova silently dropped all three flavor preferences');
  }
  if (flavorPrefSet && imagePrefSet) {
    w.push('the image sets a topology preference, so Nova ignores all of the flavor preferences (even the dimensions the image leaves unset)');
  }
  const unmet = DIMS.filter((_, i) => result.preferred[i]! > 0 && result.best[i] !== result.preferred[i]);
  if (unmet.length) {
    w.push(
      `preferred ${unmet.map((d) => `${d}=${result.preferred[DIMS.indexOf(d)]}`).join(', ')} cannot be met for ${req.vcpus} vCPUs within the limits: Nova silently picked the next best`,
    );
  }
  if (result.best[0] > 2 && result.best[1] === 1) {
    w.push(`${result.best[0]} sockets x 1 core: Windows client editions use at most 2 sockets (set hw:cpu_sockets or hw:cpu_max_sockets)`);
  }
  return w;
}
