import { KvcpuError } from '../core/errors.ts';
import { formatSmp, levelOf, productOf } from '../smp/format-smp.ts';
import { DEFAULT_QEMU_VERSION, parseQemuVersion, resolveMachine } from '../smp/qemu-machines.ts';
import type { GuestTopology } from '../smp/types.ts';
import { TOPOLOGY_LEVELS } from '../smp/types.ts';
import { comments, type RenderContext, type RenderedTopology } from './render-helpers.ts';
import { renderKubevirt } from './render-kubevirt.ts';
import { renderLibvirt } from './render-libvirt.ts';
import { renderNova } from './render-nova.ts';
import { renderProxmox } from './render-proxmox.ts';

export type { RenderContext, RenderedTopology } from './render-helpers.ts';

export type TopologyFormat = 'qemu' | 'libvirt' | 'kubevirt' | 'nova' | 'proxmox' | 'json';
export const TOPOLOGY_FORMATS: TopologyFormat[] = ['qemu', 'libvirt', 'kubevirt', 'nova', 'proxmox', 'json'];

export interface RenderOptions {
  /** QEMU machine type (aliases ok); default q35 (pc-q35-7.2 on 7.2). Decides which levels exist. */
  machine?: string;
  /** Guest/VM name (libvirt `<name>`, KubeVirt `metadata.name`); default `guest`. */
  name?: string;
  /** QEMU version the machine belongs to; default 7.2. */
  qemuVersion?: string;
}

/** Throw unless `t` is a topology QEMU could hold (every level >= 1, product = maxcpus, cpus <= maxcpus). */
export function assertTopology(t: GuestTopology): void {
  for (const k of [...TOPOLOGY_LEVELS, 'cpus', 'maxcpus'] as const) {
    const v = k === 'modules' ? (t.modules ?? 1) : t[k];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new KvcpuError('E_BAD_INPUT', `topology ${k} must be a positive integer, got ${String(v)}`, {
        hint: 'render a topology returned by parseSmp or topology suggest',
      });
    }
  }
  if (productOf(t) !== t.maxcpus) {
    throw new KvcpuError('E_BAD_INPUT', `topology product ${productOf(t)} does not match maxcpus ${t.maxcpus}`, {
      hint: 'drawers*books*sockets*dies*clusters*modules*cores*threads must equal maxcpus',
    });
  }
  if (t.cpus > t.maxcpus) {
    throw new KvcpuError('E_BAD_INPUT', `topology cpus ${t.cpus} exceeds maxcpus ${t.maxcpus}`, { hint: 'cpus are the vCPUs present at boot, maxcpus all possible ones' });
  }
}

export function renderContext(t: GuestTopology, opts: RenderOptions = {}): RenderContext {
  assertTopology(t);
  const version = parseQemuVersion(opts.qemuVersion ?? DEFAULT_QEMU_VERSION);
  if (!version) throw new KvcpuError('E_BAD_INPUT', `not a QEMU version: ${opts.qemuVersion}`, { hint: 'use MAJOR.MINOR, e.g. 7.2' });
  const machine = resolveMachine(opts.machine ?? 'q35', version);
  if ('code' in machine) {
    throw new KvcpuError('E_SMP_MACHINE_UNKNOWN', `unsupported machine type '${opts.machine}'`, { hint: 'use e.g. q35, pc, pc-q35-7.2, microvm' });
  }
  const warnings: string[] = [];
  for (const level of TOPOLOGY_LEVELS) {
    if (level === 'sockets' || level === 'cores' || level === 'threads') continue;
    if (levelOf(t, level) > 1 && !machine.supports[level]) {
      warnings.push(`${level}=${levelOf(t, level)}: machine ${machine.name} has no ${level} level; QEMU will refuse this topology`);
    }
  }
  if (t.maxcpus > machine.maxCpus) warnings.push(`maxcpus ${t.maxcpus} exceeds machine ${machine.name}'s limit of ${machine.maxCpus}`);
  return { t, machine, name: opts.name ?? 'guest', smp: formatSmp(t, machine), warnings };
}

/** Render a guest topology with its warnings (see renderTopology). */
export function renderTopologyDetailed(t: GuestTopology, format: TopologyFormat, opts: RenderOptions = {}): RenderedTopology {
  const c = renderContext(t, opts);
  switch (format) {
    case 'qemu': {
      // `-machine` only when the caller chose one: the -smp value is what matters.
      const args = `${opts.machine ? `-machine ${c.machine.name} ` : ''}-smp ${c.smp}`;
      return { text: comments('#', c.warnings) + args + '\n', warnings: c.warnings };
    }
    case 'libvirt':
      return renderLibvirt(c);
    case 'kubevirt':
      return renderKubevirt(c);
    case 'nova':
      return renderNova(c);
    case 'proxmox':
      return renderProxmox(c);
    case 'json': {
      const topology = { ...t, modules: t.modules ?? 1 };
      const text = JSON.stringify({ topology, machine: c.machine.name, qemu: `-smp ${c.smp}`, warnings: c.warnings }, null, 2) + '\n';
      return { text, warnings: c.warnings };
    }
  }
  throw new KvcpuError('E_USAGE', `unknown format '${String(format)}'`, { hint: `use one of ${TOPOLOGY_FORMATS.join(', ')}` });
}

/**
 * Render one guest topology for a consumer: QEMU args, a libvirt domain, a KubeVirt VMI,
 * Nova flavor extra specs, Proxmox VM options, or JSON. Whatever the format cannot express is
 * said in comments (`# warning: ...` / `<!-- warning: ... -->`), never dropped silently.
 */
export function renderTopology(t: GuestTopology, format: TopologyFormat, opts: RenderOptions = {}): string {
  return renderTopologyDetailed(t, format, opts).text;
}

