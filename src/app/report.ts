import { existsSync } from 'node:fs';
import { didYouMean } from '../core/suggest-names.ts';
import { join, resolve } from 'node:path';
import { collectCheckSection } from '../check/report-section.ts';
import { KvcpuError } from '../core/errors.ts';
import { collectModelsSection } from '../cpu-models/report-section.ts';
import { collectGuestsSection, collectOvercommitSection } from '../guests/report-section.ts';
import { readHostIdentity } from '../host/read-identity.ts';
import { collectHostSection } from '../host/report-section.ts';
import { collectReport, type SectionCollector } from '../report/collect-report.ts';
import { memoHost } from '../report/report-host.ts';
import type { ReportSection } from '../report/types.ts';
import { assertReport, REPORT_SCHEMA_ID, type Report, type ReportSectionId } from './report-schema.ts';

/** Report sections in the order they print; each capability contributes one or more. */
export const reportSections: { id: ReportSectionId; title: string; collect: SectionCollector }[] = [
  { id: 'host', title: 'Host CPUs', collect: collectHostSection },
  { id: 'checks', title: 'Virtualization readiness', collect: collectCheckSection },
  { id: 'models', title: 'CPU models', collect: collectModelsSection },
  { id: 'guests', title: 'Guests and vCPU placement', collect: collectGuestsSection },
  { id: 'overcommit', title: 'Overcommit', collect: collectOvercommitSection },
];

export interface BuildReportOptions {
  /** Root prefix ("/" = this host; else a `kvcpu capture` tree: live-only probes are skipped). */
  root?: string;
  /** Section ids to collect (default: all, in print order). */
  only?: string[];
  /** Colour the sections' text renderings. */
  color?: boolean;
  kvcpuVersion: string;
}

/** A built report: the `kvcpu/report/1` document and each section's human rendering. */
export interface BuiltReport {
  report: Report;
  sections: ReportSection[];
  /** 1 when a section has findings (a FAIL), else 0: the CLI's exit status, the HTTP verdict. */
  findings: boolean;
}

/**
 * Collect the host report (what `kvcpu report` prints and `kvcpu serve` answers): the host is
 * read once for every section (and the guests scanned once for guests and overcommit), the KVM probe is the one cached probe, and the document is
 * checked against ReportSchema before anyone sees it (a section drifting from the schema is a
 * kvcpu bug, caught here rather than by a consumer). Throws E_USAGE for an unknown section and
 * E_SYSFS_MISSING for a root that is not a host tree.
 */
export async function buildReport(opts: BuildReportOptions): Promise<BuiltReport> {
  const root = resolve(opts.root ?? '/');
  const only = opts.only?.map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((id) => !reportSections.some((s) => s.id === id)) ?? [];
  if (unknown.length) {
    throw new KvcpuError('E_USAGE', `unknown report section(s): ${unknown.join(', ')}`, {
      hint: `${
        (didYouMean(
          unknown[0]!,
          reportSections.map((s) => s.id),
        ) ?? '') + ' '
      }sections: ${reportSections.map((s) => s.id).join(', ')}`.trim(),
    });
  }
  // A root with neither /proc/cpuinfo nor /sys/devices/system/cpu is a wrong path, not a host
  // whose every section is "skipped": refuse it like `kvcpu host` does.
  if (!existsSync(join(root, 'proc/cpuinfo')) && !existsSync(join(root, 'sys/devices/system/cpu'))) {
    throw new KvcpuError('E_SYSFS_MISSING', `${root} has neither proc/cpuinfo nor sys/devices/system/cpu`, {
      hint: 'pass --root a directory made by `kvcpu capture DIR`, or omit --root for this host',
    });
  }
  const chosen = only ? reportSections.filter((s) => only.includes(s.id)) : reportSections;
  const collected = await collectReport(
    chosen,
    { root, live: root === '/', color: opts.color ?? false, host: memoHost(root), shared: new Map() },
    opts.kvcpuVersion,
  );
  const doc = {
    schema: REPORT_SCHEMA_ID,
    kvcpuVersion: collected.kvcpuVersion,
    generatedAt: collected.generatedAt,
    root: collected.root,
    host: readHostIdentity(root),
    sections: Object.fromEntries(
      collected.sections.map((s) => [
        s.id,
        { title: s.title, status: s.status, data: s.data, ...(s.reason !== undefined ? { reason: s.reason } : {}), ...(s.error ? { error: s.error } : {}) },
      ]),
    ),
  };
  assertReport(doc);
  // The document as collected (not zod's copy): key order and values exactly as the sections made them.
  return { report: doc as Report, sections: collected.sections, findings: collected.sections.some((s) => s.status === 'findings') };
}
