import { xmlEscape } from '../core/xml-text.ts';
import { stringify } from 'yaml';
import type { BaselineCpu } from './baseline-cpus.ts';
import { libvirtToLinux, libvirtToQemu } from './feature-names.ts';

export type BaselineFormat = 'libvirt' | 'qemu' | 'kubevirt' | 'nova' | 'json';
export const BASELINE_FORMATS: BaselineFormat[] = ['libvirt', 'qemu', 'kubevirt', 'nova', 'json'];

export type FeatureVocabulary = 'libvirt' | 'qemu' | 'linux';

/**
 * libvirt models QEMU 7.2 has no `-cpu` model for (RHEL-only cpu64-rhel*, pentiumpro, and the
 * Icelake-Client models QEMU dropped before 7.2): formats that end up on a QEMU command line
 * must pick among the others (checked against `qemu-system-x86_64 -cpu help` of QEMU 7.2).
 */
export const NOT_IN_QEMU_7_2 = new Set(['pentiumpro', 'cpu64-rhel5', 'cpu64-rhel6', 'Icelake-Client', 'Icelake-Client-noTSX']);

/** libvirt guest CPU XML, formatted as `virsh cpu-baseline` prints it. */
export function renderLibvirtXml(cpu: BaselineCpu): string {
  const lines = ["<cpu mode='custom' match='exact'>", `  <model fallback='${cpu.fallback}'>${xmlEscape(cpu.model)}</model>`];
  if (cpu.vendor) lines.push(`  <vendor>${xmlEscape(cpu.vendor)}</vendor>`);
  const feats = [...cpu.require.map((name) => ({ name, policy: 'require' })), ...cpu.disable.map((name) => ({ name, policy: 'disable' }))];
  // virsh --features output lists every feature sorted by name, whatever its policy.
  if (cpu.expanded) feats.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const f of feats) lines.push(`  <feature policy='${f.policy}' name='${xmlEscape(f.name)}'/>`);
  lines.push('</cpu>');
  return lines.join('\n') + '\n';
}

/** Translate names; returns the translated list and the names the vocabulary cannot express. */
export function translateFeatures(names: string[], vocab: FeatureVocabulary): { names: string[]; dropped: string[] } {
  if (vocab === 'libvirt') return { names: [...names], dropped: [] };
  const out: string[] = [];
  const dropped: string[] = [];
  for (const n of names) {
    const t = vocab === 'qemu' ? libvirtToQemu(n) : libvirtToLinux(n);
    if (t === null) dropped.push(n);
    else out.push(t);
  }
  return { names: out, dropped };
}

/**
 * QEMU `-cpu` value: model, `+feat`/`-feat` in QEMU spelling, and `enforce` so QEMU refuses to
 * start instead of silently dropping a feature the host lacks (QEMU's default `check` only warns).
 */
export function renderQemu(cpu: BaselineCpu): { text: string; dropped: string[] } {
  const req = translateFeatures(cpu.require, 'qemu');
  const dis = translateFeatures(cpu.disable, 'qemu');
  const parts = [cpu.model, ...req.names.map((f) => `+${f}`), ...dis.names.map((f) => `-${f}`), 'enforce'];
  return { text: parts.join(',') + '\n', dropped: [...req.dropped, ...dis.dropped] };
}

/** KubeVirt `spec.domain.cpu` (model + features with libvirt names, which KubeVirt hands to libvirt). */
export function renderKubevirt(cpu: BaselineCpu): string {
  const features = [...cpu.require.map((name) => ({ name, policy: 'require' })), ...cpu.disable.map((name) => ({ name, policy: 'disable' }))];
  return stringify({ cpu: { model: cpu.model, ...(features.length ? { features } : {}) } });
}

/** nova.conf `[libvirt]` section: custom mode, the model, and extra flags (`-flag` disables). */
export function renderNova(cpu: BaselineCpu): string {
  const flags = [...cpu.require.map((f) => `+${f}`), ...cpu.disable.map((f) => `-${f}`)];
  return (
    ['[libvirt]', 'cpu_mode = custom', `cpu_models = ${cpu.model}`, ...(flags.length ? [`cpu_model_extra_flags = ${flags.join(', ')}`] : [])].join('\n') + '\n'
  );
}

export interface BaselineJson {
  model: string;
  vendor: string | null;
  fallback: 'forbid' | 'allow';
  names: FeatureVocabulary;
  features: { require: string[]; disable: string[] };
  /** libvirt features the chosen vocabulary has no name for (left out of `features`). */
  untranslatable?: string[];
}

export function baselineJson(cpu: BaselineCpu, vocab: FeatureVocabulary): BaselineJson {
  const req = translateFeatures(cpu.require, vocab);
  const dis = translateFeatures(cpu.disable, vocab);
  const dropped = [...req.dropped, ...dis.dropped];
  return {
    model: cpu.model,
    vendor: cpu.vendor,
    fallback: cpu.fallback,
    names: vocab,
    features: { require: req.names, disable: dis.names },
    ...(dropped.length ? { untranslatable: dropped } : {}),
  };
}
