import { quoteInline } from '../core/errors.ts';
import { paint, renderTable, type ColorOption } from '../core/format.ts';
import { countStatuses } from './run-checks.ts';
import type { Check } from './types.ts';

/** The `--json` shape of `kvcpu check`: `{"checks":[{id,status,summary,evidence,fix}]}`. */
export function checksJson(checks: Check[]): { checks: Check[] } {
  return { checks: checks.map((c) => ({ id: c.id, status: c.status, summary: c.summary, evidence: c.evidence, fix: c.fix })) };
}

/**
 * Human output: an aligned STATUS ID SUMMARY table (virt-host-validate's order of facts, lscpu's
 * table style), then evidence and a `fix:` line for every check that did not PASS (a SKIP
 * with neither has nothing to add and gets no block), then a one-line tally.
 */
export function renderChecks(checks: Check[], io: ColorOption): string {
  const p = paint(io);
  const rows = checks.map((c) => [{ text: c.status, style: (s: string) => p.status(s) }, c.id, c.summary]);
  let out = renderTable(['STATUS', 'ID', 'SUMMARY'], rows);
  const details = checks.filter((c) => c.status !== 'PASS' && (c.status !== 'SKIP' || c.evidence.length > 0 || c.fix !== null));
  for (const c of details) {
    // Summaries and evidence quote files and command output: one line each, controls escaped.
    out += `\n${p.status(c.status)} ${p.bold(c.id)}: ${quoteInline(c.summary)}\n`;
    for (const e of c.evidence) out += `  ${p.dim('-')} ${quoteInline(e)}\n`;
    if (c.fix) out += `  ${p.cyan('fix:')} ${quoteInline(c.fix)}\n`;
  }
  const n = countStatuses(checks);
  out += `\n${n.PASS} pass, ${n.WARN} warn, ${n.FAIL} fail, ${n.SKIP} skip\n`;
  return out;
}
