import { parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import { compareCpu } from '../cpu-baseline/compare-cpu.ts';
import { emptyCpuDef, type CpuDef } from '../cpu-baseline/cpu-def.ts';
import { qemuToLibvirtName } from '../cpu-baseline/feature-names.ts';
import type { X86Map } from '../cpu-baseline/x86-map.ts';
import type { HostSnapshot } from '../host/types.ts';
import { buildPlanHost } from '../plan/build-plan-host.ts';
import { hostAfter, newPlanState, planGuest } from '../plan/plan-guests.ts';
import type { GuestRequest, PlannedVcpu } from '../plan/plan-types.ts';
import { cpuDefOf } from './fleet-record.ts';
import type { FleetHost } from './fleet-query.ts';

/**
 * A guest CPU from a QEMU -cpu string (`Skylake-Server,+avx512f,-hle`) as the libvirt guest CPU it
 * stands for: the model (QEMU's versioned names `X-vN` fall back to libvirt's `X`), `+f`/`f=on` as
 * required features and `-f`/`f=off` as disabled ones, in libvirt's names.
 */
export function guestCpuFromString(x: X86Map, text: string): CpuDef {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const modelName = parts.shift();
  if (!modelName) throw new KvcpuError('E_USAGE', '--cpu is empty', { hint: "--cpu 'Skylake-Server,+avx512f'" });
  let model = modelName;
  if (!x.modelByName.has(model)) {
    const unversioned = model.replace(/-v\d+$/, '');
    const ci = x.models.find((m) => m.def.name.toLowerCase() === unversioned.toLowerCase());
    if (!ci) {
      const near = x.models.map((m) => m.def.name).filter((n) => n.toLowerCase().startsWith(unversioned.toLowerCase().slice(0, 4)));
      throw new KvcpuError('E_CPU_UNKNOWN_MODEL', `${modelName} is not a libvirt CPU model`, {
        hint: near.length ? `did you mean ${near.slice(0, 4).join(', ')}?` : 'kvcpu models lists them',
      });
    }
    model = ci.def.name;
  }
  const def = emptyCpuDef(`-cpu ${text}`, 'model-name', 'guest');
  def.mode = 'custom';
  def.match = 'exact';
  def.model = model;
  for (const p of parts) {
    let name: string;
    let on: boolean;
    if (p.startsWith('+') || p.startsWith('-')) {
      name = p.slice(1);
      on = p.startsWith('+');
    } else if (/=(on|off|true|false)$/.test(p)) {
      name = p.slice(0, p.indexOf('='));
      on = /=(on|true)$/.test(p);
    } else if (p === 'check' || p === 'enforce') continue;
    else throw new KvcpuError('E_USAGE', `--cpu: ${JSON.stringify(p)} is not +feature, -feature or feature=on|off`, { hint: "--cpu 'Haswell,+avx512f,-hle'" });
    const lv = qemuToLibvirtName(name);
    if (!x.featureIndex.has(lv))
      throw new KvcpuError('E_CPU_UNKNOWN_FEATURE', `--cpu: ${name} is not a CPU feature libvirt knows`, {
        hint: 'use QEMU feature names (kvcpu cpu explain lists them)',
      });
    def.features.push({ name: lv, policy: on ? 'require' : 'disable' });
  }
  return def;
}

export interface PlacementCandidate {
  host: string;
  /** The guest CPU runs on the host's CPU (libvirt's compare: identical or superset). */
  runnable: boolean;
  /** Required guest features the host lacks. */
  missing: string[];
  /** true: fits the free CPUs under the planner's rules; false: refused (see failed); null: the host sent no topology. */
  fits: boolean | null;
  failed: string | null;
  /** Where the vCPUs would be pinned (dedicated) or float (shared). */
  vcpus: PlannedVcpu[];
  /** Dedicated CPUs still free after this guest. */
  freeAfter: number | null;
  reasons: string[];
}

function snapshotOf(report: unknown): HostSnapshot | null {
  const sections = (report as { sections?: Record<string, { data?: unknown }> } | null)?.sections;
  const host = sections?.host?.data as HostSnapshot | undefined;
  return host && host.cpus && typeof host.cpus.online === 'string' && Array.isArray(host.perCpu) ? host : null;
}

/** CPUs the host's running guests hold: vCPU threads whose affinity is a strict subset of the online CPUs. */
function pinnedByGuests(report: unknown, online: number[]): { pinned: number[]; floatingVcpus: number } {
  const guests = (report as { sections?: Record<string, { data?: { guests?: unknown[] } }> } | null)?.sections?.guests?.data?.guests;
  const pinned = new Set<number>();
  let floating = 0;
  for (const g of Array.isArray(guests) ? guests : []) {
    const threads = (g as { threads?: { role?: string; affinity?: string }[] }).threads ?? [];
    for (const t of threads) {
      if (t.role !== 'vcpu' || typeof t.affinity !== 'string') continue;
      let aff: number[];
      try {
        aff = parseCpulist(t.affinity);
      } catch {
        continue;
      }
      if (aff.length < online.length) for (const c of aff) pinned.add(c);
      else floating++;
    }
  }
  return { pinned: [...pinned], floatingVcpus: floating };
}

/**
 * "Where can this guest run": every host whose CPU runs the guest CPU, and of those the ones with
 * room for it now (the planner on the host's reported topology, with the CPUs its running guests
 * pin taken), best first: fits, then the most dedicated CPUs left free, then by name.
 */
export async function placeGuest(
  x: X86Map,
  hosts: FleetHost[],
  guestCpu: CpuDef | null,
  req: GuestRequest,
  /** The host's latest stored report; asked only for hosts whose CPU runs the guest CPU. */
  loadReport: (name: string) => Promise<unknown>,
): Promise<PlacementCandidate[]> {
  const out: PlacementCandidate[] = [];
  for (const host of hosts) out.push(await placeOn(x, host, guestCpu, req, loadReport));
  const rank = (c: PlacementCandidate) => (c.fits === true ? 0 : c.fits === null && c.runnable ? 1 : 2);
  return out.sort((a, b) => rank(a) - rank(b) || (b.freeAfter ?? -1) - (a.freeAfter ?? -1) || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

async function placeOn(
  x: X86Map,
  host: FleetHost,
  guestCpu: CpuDef | null,
  req: GuestRequest,
  loadReport: (name: string) => Promise<unknown>,
): Promise<PlacementCandidate> {
  const name = host.summary.name;
  const cmp = guestCpu ? compareCpu(x, cpuDefOf(host.cpu, name), guestCpu) : null;
  const runnable = cmp ? cmp.result !== 'incompatible' : true;
  const base: PlacementCandidate = {
    host: name,
    runnable,
    missing: cmp?.missing ?? [],
    fits: null,
    failed: runnable ? null : (cmp?.message ?? 'incompatible CPU'),
    vcpus: [],
    freeAfter: null,
    reasons: [],
  };
  if (!runnable) return { ...base, fits: false };
  const report = await loadReport(name);
  const snap = snapshotOf(report);
  if (!snap) return { ...base, reasons: ['no topology stored for this host (imported from CPU XML or cpuinfo): fit unknown'] };
  const planHost = buildPlanHost(snap, {}, name);
  const { pinned, floatingVcpus } = pinnedByGuests(report, planHost.online);
  const state = newPlanState(pinned);
  // Floating vCPUs of running guests count against the shared capacity, spread over the nodes.
  const n = Math.max(1, planHost.nodes.length);
  planHost.nodes.forEach((node, i) => state.sharedVcpus.set(node.id, Math.floor(floatingVcpus / n) + (i < floatingVcpus % n ? 1 : 0)));
  const plan = planGuest(planHost, state, req);
  if (!plan.fits) return { ...base, fits: false, failed: plan.failed, reasons: plan.reasons };
  const after = hostAfter(planHost, state);
  return { ...base, fits: true, vcpus: plan.vcpus, freeAfter: parseCpulist(after.freeDedicated).length, reasons: plan.reasons };
}
