import type { CpuDef } from './cpu-def.ts';
import { andBits, bitsToNames, cpuData, isEmptyBits, isSubsetBits, minusBits, type X86Map } from './x86-map.ts';

export type CompareVerdict = 'identical' | 'superset' | 'incompatible';

export interface CompareResult {
  result: CompareVerdict;
  /** Required guest features the host lacks (libvirt names, cpu_map order). */
  missing: string[];
  /** Guest `forbid` features the host has. */
  forbidden: string[];
  /** Host features the guest CPU does not mention (what makes it a superset). */
  extra: string[];
  /** Why it is incompatible, in libvirt's words (`Host CPU does not provide required features: ...`). */
  message: string | null;
}

const X86_ARCHES = new Set(['x86_64', 'i686']);

/**
 * Compare a host CPU with a guest CPU like libvirt 9.0's x86Compute (`virsh cpu-compare`,
 * `hypervisor-cpu-compare` against the host-model): vendor and arch first, then forbidden
 * features, then required = model + require − force − optional − disable must be a subset of
 * the host; identical when the host has nothing else, superset otherwise (incompatible for
 * `match='strict'` guests).
 */
export function compareCpu(x: X86Map, host: CpuDef, guest: CpuDef): CompareResult {
  const none = { missing: [], forbidden: [], extra: [] };
  if (guest.arch && !X86_ARCHES.has(guest.arch)) {
    return { result: 'incompatible', ...none, message: `CPU arch ${guest.arch} does not match host arch` };
  }
  if (guest.vendor && (!host.vendor || guest.vendor !== host.vendor)) {
    return { result: 'incompatible', ...none, message: `host CPU vendor does not match required CPU vendor ${guest.vendor}` };
  }
  const h = cpuData(x, host, 'all');
  const force = cpuData(x, guest, 'force');
  let require = cpuData(x, guest, 'require');
  const optional = cpuData(x, guest, 'optional');
  const disable = cpuData(x, guest, 'disable');
  const forbid = andBits(cpuData(x, guest, 'forbid'), h);
  if (!isEmptyBits(forbid)) {
    const forbidden = bitsToNames(x, forbid);
    return { result: 'incompatible', ...none, forbidden, message: `Host CPU provides forbidden features: ${forbidden.join(', ')}` };
  }
  require = minusBits(minusBits(minusBits(require, force), optional), disable);
  if (!isSubsetBits(require, h)) {
    const missing = bitsToNames(x, minusBits(require, h));
    return { result: 'incompatible', ...none, missing, message: `Host CPU does not provide required features: ${missing.join(', ')}` };
  }
  const diff = minusBits(minusBits(minusBits(minusBits(h, optional), require), disable), force);
  const extra = bitsToNames(x, diff);
  if (extra.length === 0) return { result: 'identical', ...none, message: null };
  if (guest.type === 'guest' && guest.match === 'strict') {
    return { result: 'incompatible', ...none, extra, message: `Host CPU does not strictly match guest CPU: Extra features: ${extra.join(', ')}` };
  }
  return { result: 'superset', ...none, extra, message: null };
}
