import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /**
   * With `--config`: whether the inactive XML had this <vcpupin>/<emulatorpin>/<iothreadpin>
   * element, and a <cputune> at all, before kvcpu. Restoring removes what was not there
   * (libvirt has no "unpin": `vcpupin --config` with every CPU still writes the element).
   * Absent in state files of older kvcpu versions: then only the value is restored.
   */
  configHad?: boolean;
  cputuneHad?: boolean;
  /** IOThread targets: whether <iothreadids> was there (libvirt writes it on iothreadpin --config). */
  iothreadidsHad?: boolean;
  /** vCPU not plugged yet (libvirt keeps its pin for when it is): no thread to verify. */
  unplugged?: boolean;
  after: string;
}

/** A vCPU of a libvirt domain with no thread yet (hot-pluggable, below <vcpu> maximum). */
export interface UnpluggedVcpuPin {
  pid: number;
  domain: string;
  vcpu: number;
  cpus: number[];
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
export function virshCommands(guests: Map<number, GuestProcess>, reqs: PinRequest[], persist: boolean, unplugged: UnpluggedVcpuPin[] = []): string[][] {
  const flags = ['--live', ...(persist ? ['--config'] : [])];
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const u of unplugged) out.push(virshPinArgs(u.domain, { what: 'vcpu', id: String(u.vcpu) }, formatCpulist(u.cpus), flags));
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
  const args =
    t.what === 'vcpu'
      ? ['vcpupin', domain, t.id!, '--config']
      : t.what === 'emulator'
        ? ['emulatorpin', domain, '--config']
        : ['iothreadinfo', domain, '--config'];
  const text = await virsh(args).catch((e: unknown) => {
    throw new KvcpuError('E_PIN_FAILED', `virsh ${args.join(' ')} failed: ${errText(e)}; nothing was changed`, {
      hint: 'check the domain with `virsh dominfo`',
    });
  });
  for (const line of text.split('\n')) {
    const m = /^\s*(\*|\d+):?\s+([\d,-]+)\s*$/.exec(line);
    if (m && (t.what === 'emulator' || m[1] === t.id)) return m[2]!;
  }
  throw new KvcpuError('E_PIN_FAILED', `cannot read ${domain}'s configured ${t.what}${t.id ? ' ' + t.id : ''} pinning from virsh`, {
    hint: `check \`virsh ${t.what === 'iothread' ? 'iothreadinfo' : t.what + 'pin'} ${domain} --config\``,
  });
}

/** The live pinning libvirt holds for a vCPU (`virsh vcpupin DOM N`), also for unplugged ones. */
export async function readLiveVcpuPin(domain: string, vcpu: number): Promise<string> {
  const text = await virsh(['vcpupin', domain, String(vcpu), '--live']);
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+):?\s+([\d,-]+)\s*$/.exec(line);
    if (m && Number(m[1]) === vcpu) return m[2]!;
  }
  throw new KvcpuError('E_PIN_FAILED', `cannot read ${domain}'s live vCPU ${vcpu} pinning from virsh`, { hint: `check \`virsh vcpupin ${domain} ${vcpu}\`` });
}

/** The persistent domain XML, passwords included (redefining without them would drop them). */
export async function readInactiveXml(domain: string): Promise<string> {
  return virsh(['dumpxml', '--inactive', '--security-info', domain]);
}

function cputuneOf(xml: string): string | null {
  return /<cputune\b[^>]*?(?:\/>|>[\s\S]*?<\/cputune>)/.exec(xml)?.[0] ?? null;
}

/** The <cputune> child element a target is stored as, as a RegExp over the XML. */
function pinElementRe(t: Pick<LibvirtPin, 'what' | 'id'>): RegExp {
  if (t.what === 'vcpu') return new RegExp(`[ \\t]*<vcpupin\\s+vcpu=['"]${t.id}['"][^>]*/>\\n?`);
  if (t.what === 'iothread') return new RegExp(`[ \\t]*<iothreadpin\\s+iothread=['"]${t.id}['"][^>]*/>\\n?`);
  return /[ \t]*<emulatorpin\b[^>]*\/>\n?/;
}

/** Does the inactive XML hold a pin element for this target (and a <cputune> at all)? */
export function configPinPresence(xml: string, t: Pick<LibvirtPin, 'what' | 'id'>): { configHad: boolean; cputuneHad: boolean; iothreadidsHad?: boolean } {
  const tune = cputuneOf(xml);
  return {
    configHad: tune !== null && pinElementRe(t).test(tune),
    cputuneHad: tune !== null,
    ...(t.what === 'iothread' ? { iothreadidsHad: /<iothreadids\b/.test(xml) } : {}),
  };
}

/**
 * Drop an <iothreadids> block libvirt wrote while pinning (iothreadpin --config spells out the
 * default ids) when it holds exactly the default ids 1..N of <iothreads>N</iothreads>, which
 * is what the domain meant without it (pure).
 */
export function removeDefaultIothreadids(xml: string): string {
  const m = /[ \t]*<iothreadids>\s*((?:<iothread id='\d+'\/>\s*)*)<\/iothreadids>\n?/.exec(xml);
  const n = Number(/<iothreads>(\d+)<\/iothreads>/.exec(xml)?.[1] ?? NaN);
  if (!m) return xml;
  const ids = [...m[1]!.matchAll(/id='(\d+)'/g)].map((x) => Number(x[1]));
  if (ids.length !== n || ids.some((id, i) => id !== i + 1)) return xml;
  return xml.replace(m[0], '');
}

/**
 * Drop pin elements kvcpu added from a domain XML, and the <cputune> when kvcpu created it and
 * nothing else is left in it (pure).
 */
export function removePinElements(xml: string, targets: Pick<LibvirtPin, 'what' | 'id'>[], dropEmptyCputune: boolean): string {
  const tune = cputuneOf(xml);
  if (tune === null) return xml;
  let next = tune;
  for (const t of targets) next = next.replace(pinElementRe(t), '');
  if (dropEmptyCputune && /^<cputune\b[^>]*>\s*<\/cputune>$|^<cputune\b[^>]*\/>$/.test(next)) {
    // Remove the whole element and the indentation/newline around it.
    const at = xml.indexOf(tune);
    let from = at;
    while (from > 0 && (xml[from - 1] === ' ' || xml[from - 1] === '\t')) from--;
    const to = xml[at + tune.length] === '\n' ? at + tune.length + 1 : at + tune.length;
    return xml.slice(0, from) + xml.slice(to);
  }
  return xml.replace(tune, next);
}

/** `virsh define` a domain XML (updates the persistent definition; a running domain keeps running). */
async function defineXml(xml: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-define-'));
  try {
    const file = join(dir, 'domain.xml');
    writeFileSync(file, xml);
    await virsh(['define', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** virsh's own error line (stderr), else the exec error. */
export function errText(e: unknown): string {
  return String((e as { stderr?: string }).stderr || (e as Error).message).trim();
}

/**
 * Whether a virsh failure means libvirtd itself is gone (not that it refused the change): the
 * client library's connection errors (libvirt src/rpc/virnetsocket.c "Failed to connect socket",
 * virnetclient.c "End of file while reading data", "Cannot recv data", "Cannot write data"), or
 * virsh killed by kvcpu's timeout (a stopped libvirtd accepts the connection and never answers).
 */
export function isLibvirtGone(e: unknown): boolean {
  if (neverReachedLibvirt(e)) return true;
  if ((e as { killed?: boolean }).killed) return true;
  return /End of file while reading data|Cannot recv data|Cannot write data|Broken pipe|Connection reset by peer|client socket is closed/i.test(errText(e));
}

/** virsh could not even connect: the call cannot have changed anything. */
function neverReachedLibvirt(e: unknown): boolean {
  return /failed to connect to the hypervisor|Failed to connect socket/i.test(errText(e));
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
  unplugged: UnpluggedVcpuPin[] = [],
): Promise<PinResult & { pins: LibvirtPin[] }> {
  const beforeTid = new Map<number, number[]>();
  for (const r of reqs) beforeTid.set(r.tid, (await edge.get(r.pid, r.tid)) ?? []);
  // One target per vCPU/IOThread/domain emulator; its live "before" is its first thread's.
  const pins = new Map<string, LibvirtPin & { req: PinRequest | null }>();
  for (const u of unplugged) {
    const t = { what: 'vcpu' as const, id: String(u.vcpu) };
    const before = await readLiveVcpuPin(u.domain, u.vcpu).catch((e: unknown) => {
      throw new KvcpuError('E_PIN_FAILED', `virsh vcpupin ${u.domain} ${u.vcpu} failed: ${errText(e)}; nothing was changed`, {
        hint: 'check `virsh vcpucount`',
      });
    });
    pins.set(targetKey(u.domain, t), { domain: u.domain, ...t, before, beforeConfig: null, after: formatCpulist(u.cpus), unplugged: true, req: null });
  }
  for (const r of reqs) {
    const domain = guests.get(r.pid)!.name;
    const t = targetOf(r);
    const key = targetKey(domain, t);
    // The main thread (tid = pid) speaks for the emulator: libvirt pins it first.
    if (pins.has(key) && !(t.what === 'emulator' && r.tid === r.pid)) continue;
    pins.set(key, { domain, ...t, before: formatCpulist(beforeTid.get(r.tid)!), beforeConfig: null, after: formatCpulist(r.cpus), req: r });
  }
  if (persist) {
    // (--config on a transient domain was refused by the caller, before any change.)
    const xmls = new Map<string, string>();
    for (const p of pins.values()) {
      if (!xmls.has(p.domain)) {
        xmls.set(
          p.domain,
          await readInactiveXml(p.domain).catch((e: unknown) => {
            throw new KvcpuError('E_PIN_FAILED', `virsh dumpxml --inactive ${p.domain} failed: ${errText(e)}; nothing was changed`, {
              hint: 'check `virsh dominfo`',
            });
          }),
        );
      }
      Object.assign(p, configPinPresence(xmls.get(p.domain)!, p));
      p.beforeConfig = await readConfigAffinity(p.domain, p);
    }
  }

  const done: LibvirtPin[] = [];
  const fail = async (why: string, lost = false): Promise<never> => {
    const n = done.length;
    const notRolledBack: (LibvirtPin & { lostLibvirt?: boolean })[] = [];
    const problems = await restoreLibvirtPins([...done].reverse(), notRolledBack);
    if (lost && notRolledBack.length === 0) {
      throw new KvcpuError('E_LIBVIRT_UNREACHABLE', `${why}: libvirtd stopped answering; ${n ? `rolled back ${n} virsh change(s), ` : ''}nothing was changed`, {
        hint: 'start libvirtd again (check `virsh list`), then run the same pin again',
        details: { rolledBack: n },
      });
    }
    if (notRolledBack.length && notRolledBack.every((p) => p.lostLibvirt)) {
      // libvirtd went away between kvcpu's virsh calls: only libvirt may undo them (its XML, its
      // live view), so they are left as virsh set them and handed to the caller to save.
      const targets = notRolledBack.map((p) => `${p.domain} ${p.what}${p.id ? ' ' + p.id : ''}`);
      // Their threads' own "before" too: unpin restores each thread after virsh, and a later pin
      // (which reads "before" from /proc, now the half-applied value) must not become the first.
      const lostKeys = new Set(notRolledBack.map((p) => targetKey(p.domain, p)));
      const threads = reqs
        .filter((r) => lostKeys.has(targetKey(guests.get(r.pid)!.name, targetOf(r))))
        .map((r) => ({ pid: r.pid, tid: r.tid, comm: r.comm, label: r.label, before: formatCpulist(beforeTid.get(r.tid)!), after: formatCpulist(r.cpus) }));
      throw new KvcpuError(
        'E_LIBVIRT_LOST',
        `${why}; libvirtd stopped answering, so ${notRolledBack.length} of ${n} virsh change(s) could not be rolled back (${targets.join(', ')})`,
        {
          hint: 'start libvirtd again, then `kvcpu unpin DOMAIN` (or run the same pin again)',
          details: {
            rolledBack: n - notRolledBack.length,
            notRolledBack: notRolledBack.map(({ lostLibvirt: _l, ...p }) => p),
            threads,
            rollbackProblems: problems,
          },
        },
      );
    }
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
      // A failed --live --config may still have applied the live half: undo it too (unless
      // virsh never reached libvirtd: then nothing of this call happened).
      if (!neverReachedLibvirt(e)) done.push(p);
      await fail(`virsh ${virshPinArgs(p.domain, p, p.after, []).slice(0, 3).join(' ')} failed: ${errText(e)}`, isLibvirtGone(e));
    }
  }
  // Verify from /proc: vCPU and IOThread threads exactly; the emulator through its main thread;
  // vCPUs not plugged yet through libvirt's own view.
  const applied: PinResult['applied'] = [];
  const wrong: string[] = [];
  for (const r of reqs) {
    const now = await edge.get(r.pid, r.tid);
    const after = now ? formatCpulist(now) : 'gone';
    applied.push({ guest: r.guest, pid: r.pid, tid: r.tid, comm: r.comm, label: r.label, before: formatCpulist(beforeTid.get(r.tid)!), after });
    const strict = r.role !== 'emulator' || r.tid === r.pid;
    if (strict && after !== formatCpulist(r.cpus)) wrong.push(`${r.guest} ${r.label} (tid ${r.tid}) is on ${after}, wanted ${formatCpulist(r.cpus)}`);
  }
  for (const u of unplugged) {
    const now = await readLiveVcpuPin(u.domain, u.vcpu).catch(() => 'unreadable');
    const p = pins.get(targetKey(u.domain, { what: 'vcpu', id: String(u.vcpu) }))!;
    applied.push({ guest: u.domain, pid: u.pid, tid: 0, comm: '(not plugged)', label: `vcpu ${u.vcpu}`, before: p.before, after: now });
    if (now !== formatCpulist(u.cpus)) wrong.push(`${u.domain} vcpu ${u.vcpu} (not plugged) is pinned to ${now} in libvirt, wanted ${formatCpulist(u.cpus)}`);
  }
  if (wrong.length) await fail(`libvirt accepted the pins but /proc disagrees: ${wrong.join('; ')}`);
  return { method: 'virsh', applied, pins: [...pins.values()].map(({ req: _r, ...p }) => p) };
}

/**
 * Put libvirt pins back: live values through virsh; in the domain XML the old values where
 * kvcpu changed an element that was there, and elements kvcpu added removed again (with the
 * <cputune> kvcpu created), by redefining the persistent XML.
 */
export async function restoreLibvirtPins(pins: LibvirtPin[], failed: (LibvirtPin & { lostLibvirt?: boolean })[] = []): Promise<string[]> {
  const problems: string[] = [];
  // Once libvirtd is gone every further virsh call only waits for its own failure.
  let gone = false;
  const removals = new Map<string, { targets: LibvirtPin[]; dropEmptyCputune: boolean; dropIothreadids: boolean }>();
  for (const p of pins) {
    if (gone) {
      failed.push({ ...p, lostLibvirt: true });
      problems.push(`${p.domain} ${p.what}${p.id ? ' ' + p.id : ''} back to ${p.before}: libvirtd does not answer`);
      continue;
    }
    try {
      await virsh(virshPinArgs(p.domain, p, p.before, ['--live']));
      if (p.beforeConfig !== null) {
        if (p.configHad === false) {
          const r = removals.get(p.domain) ?? { targets: [], dropEmptyCputune: true, dropIothreadids: false };
          r.targets.push(p);
          if (p.cputuneHad !== false) r.dropEmptyCputune = false;
          if (p.iothreadidsHad === false) r.dropIothreadids = true;
          removals.set(p.domain, r);
        } else await virsh(virshPinArgs(p.domain, p, p.beforeConfig, ['--config']));
      }
    } catch (e) {
      gone = isLibvirtGone(e);
      failed.push({ ...p, lostLibvirt: gone });
      problems.push(`${p.domain} ${p.what}${p.id ? ' ' + p.id : ''} back to ${p.before}: ${errText(e)}`);
    }
  }
  for (const [domain, r] of removals) {
    if (gone) {
      // Not redefined: these targets are in `failed` only if their live restore failed too.
      for (const t of r.targets) if (!failed.some((f) => f.domain === t.domain && f.what === t.what && f.id === t.id)) failed.push({ ...t, lostLibvirt: true });
      problems.push(`${domain}: removing the pin elements kvcpu added to the domain XML: libvirtd does not answer`);
      continue;
    }
    try {
      const xml = await readInactiveXml(domain);
      let next = removePinElements(xml, r.targets, r.dropEmptyCputune);
      if (r.dropIothreadids) next = removeDefaultIothreadids(next);
      if (next !== xml) await defineXml(next);
    } catch (e) {
      gone = isLibvirtGone(e);
      for (const t of r.targets) if (!failed.some((f) => f.domain === t.domain && f.what === t.what && f.id === t.id)) failed.push({ ...t, lostLibvirt: gone });
      problems.push(`${domain}: removing the pin elements kvcpu added to the domain XML: ${errText(e)}`);
    }
  }
  return problems;
}
