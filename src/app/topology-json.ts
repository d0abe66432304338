import type { TopologyFormat } from '../render/render-topology.ts';
import type { NovaBestResult } from '../topology/nova-topology.ts';
import type { TopologySuggestion } from '../topology/suggest-topology.ts';

/** `kvcpu topology suggest --json` (and the agent's answer): the suggestion, plus the rendering when one was asked for. */
export function suggestionJson(s: TopologySuggestion, rendered?: { format: TopologyFormat; text: string }): Record<string, unknown> {
  return {
    ok: true,
    topology: s.topology,
    smp: s.smp,
    machine: s.machine,
    reasons: s.reasons,
    warnings: s.warnings,
    pin: s.pin,
    numa: s.numa,
    hotplug: s.hotplug,
    ...(rendered ? { rendered } : {}),
  };
}

/** `kvcpu topology nova --json`: Nova 26.2.2's choice, or the exception it raises (still ok: the answer is data). */
export function novaAnswerJson(r: NovaBestResult, warnings: string[]): Record<string, unknown> {
  return r.ok
    ? { ok: true, nova: '26.2.2', best: r.best, ranked: r.ranked, preferred: r.preferred, maximum: r.maximum, warnings }
    : { ok: true, nova: '26.2.2', error: r.error, message: r.message, ...(r.preferred ? { preferred: r.preferred, maximum: r.maximum } : {}), warnings };
}
