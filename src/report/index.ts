/**
 * `kvcpu/report`: Report: gather every capability's section into one document (`kvcpu report`).
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { collectReport } from './collect-report.ts';
export type { CollectedReport, SectionCollector } from './collect-report.ts';
export type { ReportSection, ReportOptions } from './types.ts';
