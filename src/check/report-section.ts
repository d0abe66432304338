import { reportHost } from '../report/report-host.ts';
import type { ReportOptions, ReportSection } from '../report/types.ts';
import { gatherCheckFacts } from './gather-check-facts.ts';
import { checksJson, renderChecks } from './render-checks.ts';
import { runChecks } from './run-checks.ts';

/** `kvcpu report` section "checks": the same verdicts as `kvcpu check`; 'findings' when any FAIL. */
export async function collectCheckSection(opts: ReportOptions): Promise<ReportSection> {
  const facts = await gatherCheckFacts({ root: opts.root, live: opts.live, ...(opts.host ? { host: reportHost(opts) } : {}) });
  const checks = runChecks(facts);
  return {
    id: 'checks',
    title: 'Virtualization readiness',
    data: checksJson(checks),
    text: renderChecks(checks, { color: opts.color }),
    status: checks.some((c) => c.status === 'FAIL') ? 'findings' : 'ok',
  };
}
