import { cpuinfoFlagsToQemu } from '../cpu-models/feature-names.ts';
import { reportHost } from '../report/report-host.ts';
import type { ReportOptions, ReportSection } from '../report/types.ts';
import { readHostIdentity, type HostIdentity } from './read-identity.ts';
import { renderHost } from './render-host.ts';
import type { HostSnapshot } from './types.ts';

export interface HostSectionData extends HostSnapshot {
  identity: HostIdentity;
  /** The cpuinfo flags as QEMU feature names (null off x86, where QEMU's x86 names do not apply). */
  features: { qemu: string[]; unknown: string[] } | null;
}

/**
 * The `host` section of `kvcpu report`: the HostSnapshot (same JSON as `kvcpu host --json`)
 * plus which host it is and its flags decoded into QEMU feature names, and the lscpu-like
 * rendering. Reading the host is not a check, so the status is 'ok'; a broken /proc or /sys
 * throws (the report turns it into a skipped section).
 */
export async function collectHostSection(opts: ReportOptions): Promise<ReportSection<HostSectionData>> {
  const snapshot = reportHost(opts);
  const x86 = snapshot.arch === 'x86_64' || snapshot.arch === 'i686';
  const data: HostSectionData = {
    ...snapshot,
    identity: readHostIdentity(opts.root),
    features: x86 ? cpuinfoFlagsToQemu(snapshot.cpu.flags, snapshot.cpu.vendor) : null,
  };
  return { id: 'host', title: 'Host CPUs', data, text: renderHost(snapshot), status: 'ok' };
}
