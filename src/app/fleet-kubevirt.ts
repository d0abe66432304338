import { compareCpu } from '../cpu-baseline/compare-cpu.ts';
import { emptyCpuDef } from '../cpu-baseline/cpu-def.ts';
import type { X86Map } from '../cpu-baseline/x86-map.ts';
import { KUBEVIRT_LABEL, kubevirtNodeLabels, type DomCapabilities } from '../kubevirt/node-labels.ts';
import { cpuDefOf } from './fleet-record.ts';
import type { FleetHost } from './fleet-query.ts';
import { qemuModelNames } from './fleet-query.ts';

/** One stored host's KubeVirt labels, as far as the fleet store can tell them. */
export interface FleetNodeLabels {
  host: string;
  labels: Record<string, string>;
  /** Where the usable models came from: the agent's report (QEMU under its accelerator) or libvirt's compare on the stored CPU. */
  modelsFrom: 'report' | 'cpu';
}

/** Which libvirt models the stored report's `models` section calls runnable (QEMU named models, same names as libvirt's). */
function runnableFromReport(report: unknown): Set<string> | null {
  const data = (report as { sections?: { models?: { data?: { runnable?: unknown } } } } | null)?.sections?.models?.data;
  return data && Array.isArray(data.runnable) ? new Set(data.runnable.filter((n): n is string => typeof n === 'string')) : null;
}

/**
 * KubeVirt v1.9.0's node labels for a stored host. The fleet keeps the host CPU (libvirt's decode,
 * every feature) and, for agent reports, the runnable QEMU models — not the node's domcapabilities
 * or capabilities. So: the host-model is the stored CPU's model and features (libvirt builds it
 * from QEMU's `host` expansion, which can lack features KVM does not virtualize); the cpu-feature
 * labels are the stored CPU's features; a model is usable when the report lists it runnable, or,
 * without a report, when libvirt's compare says the CPU runs the bare model; known models are
 * libvirt's cpu_map models QEMU 7.2 has. No TSC, machine-type, SEV/TDX, hyperv or realtime labels
 * (the report does not carry them).
 */
export function fleetNodeLabels(x: X86Map, host: FleetHost, report: unknown): FleetNodeLabels {
  const name = host.summary.name;
  const cpu = cpuDefOf(host.cpu, name);
  const qemu = qemuModelNames(x);
  const runnable = runnableFromReport(report);
  const known = x.models.map((m) => m.def.name).filter((m) => qemu.has(m));
  const usable = (m: string) => {
    if (runnable) return runnable.has(m);
    const g = emptyCpuDef(m, 'model-name', 'guest');
    g.mode = 'custom';
    g.match = 'exact';
    g.model = m;
    return compareCpu(x, cpu, g).result !== 'incompatible';
  };
  const modelFeatures = new Set(cpu.model && x.modelByName.has(cpu.model) ? x.modelByName.get(cpu.model)!.def.features : []);
  const dc: DomCapabilities = {
    arch: 'x86_64',
    hostModel: cpu.model
      ? {
          models: [{ name: cpu.model, usable: '', fallback: 'forbid' }],
          vendor: cpu.vendor,
          // libvirt's host-model lists the features beyond the model as require, those of the model it lacks as disable.
          features: [
            ...host.cpu.allFeatures.filter((f) => !modelFeatures.has(f)).map((f) => ({ name: f, policy: 'require' })),
            ...[...modelFeatures].filter((f) => !host.cpu.allFeatures.includes(f)).map((f) => ({ name: f, policy: 'disable' })),
          ],
        }
      : null,
    models: known.map((m) => ({ name: m, usable: usable(m) ? 'yes' : 'no', fallback: null })),
    sev: null,
    launchSecurityTypes: [],
    tdx: false,
    s390pv: false,
  };
  const r = kubevirtNodeLabels({
    domCapabilities: dc,
    supportedFeatures: host.cpu.allFeatures.map((f) => ({ name: f, policy: 'require' })),
    counter: null,
    machines: [],
    hyperv: [],
    realtime: false,
  });
  return { host: name, labels: r.labels, modelsFrom: runnable ? 'report' : 'cpu' };
}

export interface KubevirtSchedulingAnswer {
  /** Hosts whose labels satisfy the VMI's node selector (cpu-model and every required cpu-feature). */
  matching: string[];
  /** Per host: the selector labels it lacks (empty for matching hosts). */
  lacking: Record<string, string[]>;
  /** cpu-model labels every host carries: the models a VMI can use and still schedule on (and migrate between) all of them. */
  everywhere: string[];
  hosts: number;
}

/**
 * What KubeVirt's scheduling would do with these labels: a VMI with `cpu.model: X` gets the node
 * selector cpu-model.node.kubevirt.io/X=true, each `cpu.features` entry with policy require
 * cpu-feature.node.kubevirt.io/F=true (virt-controller's template service,
 * pkg/virt-controller/services/nodeselectorrenderer.go CPUModelLabelFromCPUModel /
 * CPUFeatureLabelsFromCPUFeatures); a node qualifies when it has them all.
 */
export function kubevirtScheduling(nodes: FleetNodeLabels[], want: { model?: string; features?: string[] }): KubevirtSchedulingAnswer {
  const selector = [...(want.model ? [KUBEVIRT_LABEL.cpuModel + want.model] : []), ...(want.features ?? []).map((f) => KUBEVIRT_LABEL.cpuFeature + f)];
  const lacking: Record<string, string[]> = {};
  const matching: string[] = [];
  for (const n of nodes) {
    const miss = selector.filter((k) => n.labels[k] !== 'true');
    lacking[n.host] = miss;
    if (!miss.length) matching.push(n.host);
  }
  const modelsOf = (n: FleetNodeLabels): string[] =>
    Object.keys(n.labels)
      .filter((k) => k.startsWith(KUBEVIRT_LABEL.cpuModel))
      .map((k) => k.slice(KUBEVIRT_LABEL.cpuModel.length));
  const everywhere = nodes.length ? modelsOf(nodes[0]!).filter((m) => nodes.every((n) => n.labels[KUBEVIRT_LABEL.cpuModel + m] === 'true')) : [];
  return { matching: matching.sort(), lacking, everywhere: everywhere.sort(), hosts: nodes.length };
}
