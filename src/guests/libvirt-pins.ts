import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { formatCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import type { AffinityEdge } from './affinity-edge.ts';
import type { PinResult } from './apply-pins.ts';
import type { PinRequest } from './build-pin-requests.ts';
import type { GuestProcess } from './types.ts';

const execFileP = promisify(execFile);

/** One libvirt pin target: what `virsh vcpupin|emulatorpin|iothreadpin` addresses. */
export interface LibvirtPin {
  domain: string;
  what: 'vcpu' | 'emulator' | 'iothread';
  /** vCPU number or libvirt IOThread id (null for the emulator). */
  id: string | null;
  /** Live affinity before kvcpu pinned it (cpulist). */
  before: string;
  /** The domain XML's pinning before (cpulist), when `--config` was used; null otherwise. */
  beforeConfig: string | null;
  after: string;
}

/** libvirt numbers IOThreads (1, 2, ...) and names the QEMU objects iothread1, iothread2. */
function libvirtIothreadId(id: string): string {
  return /^iothread(\d+)$/.exec(id)?.[1] ?? id;
}

function targetOf(r: PinRequest): Pick<LibvirtPin, 'what' | 'id'> {
  if (r.role === 'vcpu') return { what: 'vcpu', id: String(r.vcpu ?? 0) };
  if (r.role === 'iothread') return { what: 'iothread', id: libvirtIothreadId(r.iothread ?? '') };
  return { what: 'emulator', id: null };
}

/** One virsh call per target: vCPU n, IOThread n, or the domain's emulator. */
const targetKey = (domain: string, t: Pick<LibvirtPin, 'what' | 'id'>) => `${domain}/${t.what}/${t.id}`;

/** `virsh vcpupin DOM 0 2 --live [--config]` and friends. */
export function virshPinArgs(domain: string, t: Pick<LibvirtPin, 'what' | 'id'>, cpus: string, flags: string[]): string[] {
  if (t.what === 'vcpu') return ['vcpupin', domain, t.id!, cpus, ...flags];
  if (t.what === 'iothread') return ['iothreadpin', domain, t.id!, cpus, ...flags];
  return ['emulatorpin', domain, cpus, ...flags];
}

/** The virsh commands for a request list: one per vCPU/IOThread, one emulatorpin per domain. */
export function virshCommands(guests: Map<number, GuestProcess>, reqs: PinRequest[], persist: boolean): string[][] {
  const flags = ['--live', ...(persist ? ['--config'] : [])];
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const r of reqs) {
    const domain = guests.get(r.pid)!.name;
    const t = targetOf(r);
    const key = targetKey(domain, t);
    if (seen.has(key)) continue; // emulatorpin covers every emulator thread
    seen.add(key);
    out.push(virshPinArgs(domain, t, formatCpulist(r.cpus), flags));
  }
  return out;
}

/** Run virsh (the default connection: qemu:///system for root) and return its stdout. */
export async function virsh(args: string[], timeoutMs = 30_000): Promise<string> {
  return (await execFileP('virsh', args, { timeout: timeoutMs })).stdout;
}

/**
 * The pinning stored in the domain XML (`virsh vcpupin DOM N --config`, `emulatorpin --config`,
 * `iothreadinfo --config`): the last column of the matching table row.
 */
export async function readConfigAffinity(domain: string, t: Pick<LibvirtPin, 'what' | 'id'>): Promise<string> {
  const args = t.what === 'vcpu' ? ['vcpupin', domain, t.id!, '--config'] : t.what === 'emulator' ? ['emulatorpin', domain, '--config'] : ['iothreadinfo', domain, '--config'];
  const text = await virsh(args).catch((e: unknown) => {
    throw new KvcpuError('E_PIN_FAILED', `virsh ${args.join(' ')} failed: ${errText(e)}; nothing was changed`, { hint: 'check the domain with `virsh dominfo`' });
  });
  for (const line of text.split('\n')) {
    const m = /^\s*(\*|\d+):?\s+([\d,-]+)\s*$/.exec(line);
    if (m && (t.what === 'emulator' || m[1] === t.id)) return m[2]!;
  }
  throw new KvcpuError('E_PIN_FAILED', `cannot read ${domain}'s configured ${t.what}${t.id ? ' ' + t.id : ''} pinning from virsh`, {
    hint: `check \`virsh ${t.what === 'iothread' ? 'iothreadinfo' : t.what + 'pin'} ${domain} --config\``,
  });
}

/** virsh's own error line (stderr), else the exec error. */
export function errText(e: unknown): string {
  return String((e as { stderr?: string }).stderr || (e as Error).message).trim();
}

/**
 * Pin through libvirt, all or nothing: record every target's live (and, with --config, stored)
 * affinity, run virsh per target, re-read each thread's Cpus_allowed_list from /proc, and on any
 * failure or mismatch put every target back the way it was.
 */
export async function pinViaLibvirt(
  guests: Map<number, GuestProcess>,
  reqs: PinRequest[],
  persist: boolean,
  edge: AffinityEdge,
): Promise<PinResult & { pins: LibvirtPin[] }> {
  const beforeTid = new Map<number, number[]>();
  for (const r of reqs) beforeTid.set(r.tid, (await edge.get(r.pid, r.tid)) ?? []);
  // One target per vCPU/IOThread/domain emulator; its live "before" is its first thread's.
  const pins = new Map<string, LibvirtPin & { req: PinRequest }>();
  for (const r of reqs) {
    const domain = guests.get(r.pid)!.name;
    const t = targetOf(r);
    const key = targetKey(domain, t);
    // The main thread (tid = pid) speaks for the emulator: libvirt pins it first.
    if (pins.has(key) && !(t.what === 'emulator' && r.tid === r.pid)) continue;
    pins.set(key, { domain, ...t, before: formatCpulist(beforeTid.get(r.tid)!), beforeConfig: null, after: formatCpulist(r.cpus), req: r });
  }
  if (persist) {
    // --config writes the domain XML: a transient domain (virsh create) has none. Refuse up front.
    const transient: string[] = [];
    for (const domain of new Set([...pins.values()].map((p) => p.domain))) {
      const info = await virsh(['dominfo', domain]).catch((e: unknown) => {
        throw new KvcpuError('E_PIN_FAILED', `virsh dominfo ${domain} failed: ${errText(e)}; nothing was changed`, { hint: 'check `virsh list --all`' });
      });
      if (/^Persistent:\s*no\s*$/m.test(info)) transient.push(domain);
    }
    if (transient.length) {
      throw new KvcpuError('E_PIN_INVALID', `refusing to pin (nothing was changed): --config needs a persistent domain; transient: ${transient.join(', ')}`, {
        hint: 'drop --config (pin live only), or `virsh define` the domain first',
        details: { problems: transient.map((d) => `${d} is transient (no domain XML to persist into)`) },
      });
    }
    for (const p of pins.values()) p.beforeConfig = await readConfigAffinity(p.domain, p);
  }

  const done: (LibvirtPin & { req: PinRequest })[] = [];
  const fail = async (why: string): Promise<never> => {
    const n = done.length;
    const problems = await restoreLibvirtPins([...done].reverse());
    throw new KvcpuError('E_PIN_FAILED', `${why}; rolled back ${n} virsh change(s)${problems.length ? `, rollback problems: ${problems.join('; ')}` : ''}`, {
      hint: 'check `virsh list` and the domain state (--config needs a persistent domain: virsh define)',
      details: { rolledBack: n, rollbackProblems: problems },
    });
  };

  for (const p of pins.values()) {
    try {
      await virsh(virshPinArgs(p.domain, p, p.after, ['--live', ...(persist ? ['--config'] : [])]));
      done.push(p);
    } catch (e) {
      // A failed --live --config may still have applied the live half: undo it too.
      done.push(p);
      await fail(`virsh ${virshPinArgs(p.domain, p, p.after, []).slice(0, 3).join(' ')} failed: ${errText(e)}`);
    }
  }
  // Verify from /proc: vCPU and IOThread threads exactly; the emulator through its main thread.
  const applied: PinResult['applied'] = [];
  const wrong: string[] = [];
  for (const r of reqs) {
    const now = await edge.get(r.pid, r.tid);
    const after = now ? formatCpulist(now) : 'gone';
    applied.push({ guest: r.guest, pid: r.pid, tid: r.tid, comm: r.comm, label: r.label, before: formatCpulist(beforeTid.get(r.tid)!), after });
    const strict = r.role !== 'emulator' || r.tid === r.pid;
    if (strict && after !== formatCpulist(r.cpus)) wrong.push(`${r.guest} ${r.label} (tid ${r.tid}) is on ${after}, wanted ${formatCpulist(r.cpus)}`);
  }
  if (wrong.length) await fail(`libvirt accepted the pins but /proc disagrees: ${wrong.join('; ')}`);
  return { method: 'virsh', applied, pins: [...pins.values()].map(({ req: _r, ...p }) => p) };
}

/** Put libvirt pins back (live, and the domain XML where kvcpu changed it). */
export async function restoreLibvirtPins(pins: LibvirtPin[]): Promise<string[]> {
  const problems: string[] = [];
  for (const p of pins) {
    try {
      await virsh(virshPinArgs(p.domain, p, p.before, ['--live']));
      if (p.beforeConfig !== null) await virsh(virshPinArgs(p.domain, p, p.beforeConfig, ['--config']));
    } catch (e) {
      problems.push(`${p.domain} ${p.what}${p.id ? ' ' + p.id : ''} back to ${p.before}: ${errText(e)}`);
    }
  }
  return problems;
}
