import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpulist } from '../core/cpulist.ts';
import { reportHost } from '../report/report-host.ts';
import type { ReportOptions, ReportSection } from '../report/types.ts';
import { assessOvercommit } from './assess-overcommit.ts';
import { psJson } from './ps-json.ts';
import { renderOvercommit, renderPsTable } from './render-guests.ts';
import { snapshotGuests } from './snapshot-guests.ts';

/** Why the guest sections cannot run under this root (a captured tree without proc/), or null. */
function noProc(opts: ReportOptions): string | null {
  return existsSync(join(opts.root, 'proc')) ? null : `no ${join(opts.root, 'proc')} to scan`;
}

/** `kvcpu report` section "guests": what `kvcpu ps` shows (threads, placement). */
export async function collectGuestsSection(opts: ReportOptions): Promise<ReportSection> {
  const reason = noProc(opts);
  if (reason) return { id: 'guests', title: 'Guests and vCPU placement', data: null, reason, text: `skipped: ${reason}\n`, status: 'skipped' };
  const host = reportHost(opts);
  // QMP only on the live host: sockets named in a captured tree's cmdlines are not ours.
  const snap = await snapshotGuests({ root: opts.root, host, qmp: opts.live });
  return { id: 'guests', title: 'Guests and vCPU placement', data: psJson(snap), text: renderPsTable(snap), status: 'ok' };
}

/** `kvcpu report` section "overcommit": `kvcpu overcommit` with the default 4:1 limit. */
export async function collectOvercommitSection(opts: ReportOptions): Promise<ReportSection> {
  const reason = noProc(opts);
  if (reason) return { id: 'overcommit', title: 'CPU overcommit', data: null, reason, text: `skipped: ${reason}\n`, status: 'skipped' };
  const host = reportHost(opts);
  const snap = await snapshotGuests({ root: opts.root, host, full: false, qmp: opts.live });
  const report = assessOvercommit(snap, parseCpulist(host.cpus.online));
  return { id: 'overcommit', title: 'CPU overcommit', data: report, text: renderOvercommit(report), status: report.verdict === 'FAIL' ? 'findings' : 'ok' };
}
