import type { ReportOptions, ReportSection } from './types.ts';
import { isKvcpuError, quoteControls } from '../core/errors.ts';

/** A capability's contribution to `kvcpu report`. */
export type SectionCollector = (opts: ReportOptions) => Promise<ReportSection>;

/** The sections as collected (app/report.ts turns this into the kvcpu/report/1 document). */
export interface CollectedReport {
  kvcpuVersion: string;
  generatedAt: string;
  root: string;
  sections: ReportSection[];
}

/**
 * Run every collector; a collector that throws becomes a 'skipped' section carrying its
 * error, so one broken edge (say, no QEMU installed) never hides the rest of the report.
 */
export async function collectReport(
  collectors: { id: string; title: string; collect: SectionCollector }[],
  opts: ReportOptions,
  version: string,
): Promise<CollectedReport> {
  const sections: ReportSection[] = [];
  for (const c of collectors) {
    try {
      sections.push(await c.collect(opts));
    } catch (e) {
      const error = isKvcpuError(e) ? e.toJSON() : { code: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
      sections.push({
        id: c.id,
        title: c.title,
        data: null,
        error,
        text: `(not available: ${error.code}: ${quoteControls(error.message)})\n`,
        status: 'skipped',
      });
    }
  }
  return { kvcpuVersion: version, generatedAt: new Date().toISOString(), root: opts.root, sections };
}
