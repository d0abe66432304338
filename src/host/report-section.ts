import type { ReportOptions, ReportSection } from '../report/types.ts';
import { readHost } from './read-host.ts';
import { renderHost } from './render-host.ts';

/**
 * The `host` section of `kvcpu report`: the HostSnapshot (same JSON as `kvcpu host --json`)
 * and its lscpu-like rendering. Reading the host is not a check, so the status is 'ok';
 * a broken /proc or /sys throws (the report turns it into a skipped section).
 */
export async function collectHostSection(opts: ReportOptions): Promise<ReportSection> {
  const snapshot = readHost({ root: opts.root });
  return { id: 'host', title: 'Host CPUs', data: snapshot, text: renderHost(snapshot), status: 'ok' };
}
