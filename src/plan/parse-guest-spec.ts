import { MAX_CPUS, parseCpulist } from '../core/cpulist.ts';
import { KvcpuError, shownValue } from '../core/errors.ts';
import type { GuestRequest } from './plan-types.ts';

const KEYS = ['name', 'vcpus', 'memory', 'policy', 'threads', 'emulator', 'numa', 'l3', 'mask', 'iothreads'];

function bad(msg: string, hint = `keys: ${KEYS.join(', ')}; e.g. name=g1,vcpus=4,policy=dedicated,threads=prefer,emulator=isolate,numa=1,l3=true`): never {
  throw new KvcpuError('E_BAD_INPUT', msg, { hint });
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], key: string, name: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(`guest ${name}: ${key}=${shownValue(v)} (use ${allowed.join('|')})`);
  return v as T;
}

function bool(v: unknown, key: string, name: string): boolean {
  if (v === true || v === 'true' || v === 'yes' || v === '1' || v === 1) return true;
  if (v === false || v === 'false' || v === 'no' || v === '0' || v === 0) return false;
  return bad(`guest ${name}: ${key}=${shownValue(v)} (use true|false)`);
}

function int(v: unknown, key: string, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min) bad(`guest ${name}: ${key}=${shownValue(v)} is not an integer >= ${min}`);
  // Counts of CPUs (vcpus, NUMA nodes, iothreads) share the documented CPU bound: `vcpus=1e308`
  // would otherwise size arrays.
  if (n > max) bad(`guest ${name}: ${key}=${shownValue(v)} is more than ${max}`, `at most ${max} (kvcpu's CPU limit)`);
  return n;
}

/** Build a request from key/value pairs (from `--guest` or a guests JSON file). */
export function guestFromRecord(o: Record<string, unknown>, index = 0): GuestRequest {
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) bad(`guest #${index + 1}: unknown key "${k}"`);
  const name =
    o.name === undefined
      ? `guest${index + 1}`
      : typeof o.name === 'string' || typeof o.name === 'number'
        ? String(o.name)
        : bad(`guest #${index + 1}: name=${shownValue(o.name)} is not a string`);
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) bad(`guest name "${name}" has characters a shell or XML would mangle`, 'use letters, digits, _ . : -');
  if (o.vcpus === undefined) bad(`guest ${name}: vcpus= is required`);
  const vcpus = int(o.vcpus, 'vcpus', name, 1, MAX_CPUS);
  const policy = oneOf(o.policy ?? 'dedicated', ['dedicated', 'shared', 'mixed'] as const, 'policy', name);
  const numaRaw = o.numa ?? 1;
  const numa = numaRaw === 'auto' ? 'auto' : int(numaRaw, 'numa', name, 1, MAX_CPUS);
  let dedicatedVcpus: number[] | undefined;
  if (o.mask !== undefined) {
    if (typeof o.mask !== 'string' && typeof o.mask !== 'number') bad(`guest ${name}: mask=${shownValue(o.mask)} is not a CPU list`);
    const m = String(o.mask);
    // Nova's hw:cpu_dedicated_mask: a cpulist, or ^list = every vCPU but those.
    if (m.startsWith('^')) {
      const not = new Set(parseCpulist(m.slice(1)));
      dedicatedVcpus = Array.from({ length: vcpus }, (_, i) => i).filter((i) => !not.has(i));
    } else dedicatedVcpus = parseCpulist(m);
  }
  return {
    name,
    vcpus,
    memoryMiB: o.memory === undefined ? 1024 : int(o.memory, 'memory', name),
    policy,
    threads: oneOf(o.threads ?? 'prefer', ['prefer', 'isolate', 'require'] as const, 'threads', name),
    emulator: oneOf(o.emulator ?? 'share', ['share', 'isolate'] as const, 'emulator', name),
    numa,
    l3: o.l3 === undefined ? true : bool(o.l3, 'l3', name),
    ...(dedicatedVcpus ? { dedicatedVcpus } : {}),
    iothreads: o.iothreads === undefined ? 0 : int(o.iothreads, 'iothreads', name, 0, MAX_CPUS),
  };
}

/**
 * Parse `--guest 'name=g1,vcpus=4,policy=dedicated,threads=prefer,emulator=isolate,numa=1,l3=true'`.
 * A comma-separated piece without `=` continues the previous value, so `mask=0-1,3` works.
 */
export function parseGuestSpec(spec: string, index = 0): GuestRequest {
  const o: Record<string, string> = {};
  let last: string | null = null;
  for (const part of spec.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (last === null) bad(`--guest "${spec}": "${p}" is not key=value`);
      o[last] += `,${p}`;
      continue;
    }
    last = p.slice(0, eq).trim();
    o[last] = p.slice(eq + 1).trim();
  }
  return guestFromRecord(o, index);
}

/** Guests from a JSON file: an array of guest objects, or `{guests: [...]}`. */
export function guestsFromJson(v: unknown): GuestRequest[] {
  const list = Array.isArray(v) ? v : (v as { guests?: unknown })?.guests;
  if (!Array.isArray(list)) bad('guests file: expected an array of guests or {"guests": [...]}');
  return list.map((g, i) => {
    if (typeof g !== 'object' || g === null) bad(`guests file: entry ${i + 1} is not an object`);
    return guestFromRecord(g as Record<string, unknown>, i);
  });
}
