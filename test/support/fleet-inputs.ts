// Fleet test inputs made from the real CPUs of ../shared/reference/cpu/real-cpus.json: each becomes
// the host <cpu> of `virsh capabilities` (libvirt's host decode of its CPUID dump), which is what a
// fleet imports from a host that has no kvcpu yet.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const REAL_CPUS = path.resolve(repoRoot, '../shared/reference/cpu/real-cpus.json');

export interface RealCpu {
  name: string;
  vendor: string;
  family: number;
  model: number;
  stepping: number;
  libvirt_expected?: { host_decode?: { model: string; vendor?: string; require?: string[] } };
}

export function loadRealCpus(): RealCpu[] {
  if (!existsSync(REAL_CPUS)) {
    if (process.env.CI) throw new Error(`reference data missing: ${REAL_CPUS} (CI must have ../shared)`);
    return [];
  }
  const d = JSON.parse(readFileSync(REAL_CPUS, 'utf8')) as { cpus: RealCpu[] };
  return d.cpus.filter((c) => c.libvirt_expected?.host_decode?.model);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');

/** `virsh capabilities`-style XML of one real CPU (the whole document, with a NUMA cell list). */
export function capabilitiesXml(c: RealCpu, cpus = 4): string {
  const d = c.libvirt_expected!.host_decode!;
  const feats = (d.require ?? []).map((f) => `      <feature name='${esc(f)}'/>`).join('\n');
  const cells = Array.from({ length: cpus }, (_, i) => `            <cpu id='${i}' socket_id='0' die_id='0' core_id='${i}' siblings='${i}'/>`).join('\n');
  return `<capabilities>
  <host>
    <uuid>00000000-0000-0000-0000-000000000000</uuid>
    <cpu>
      <arch>x86_64</arch>
      <model>${esc(d.model)}</model>
      <vendor>${esc(d.vendor ?? c.vendor)}</vendor>
      <topology sockets='1' dies='1' cores='${cpus}' threads='1'/>
${feats}
    </cpu>
    <topology>
      <cells num='1'>
        <cell id='0'>
          <cpus num='${cpus}'>
${cells}
          </cpus>
        </cell>
      </cells>
    </topology>
  </host>
</capabilities>
`;
}

/** Only the host <cpu> element (what `cpu baseline` takes most often). */
export function hostCpuXml(c: RealCpu): string {
  const d = c.libvirt_expected!.host_decode!;
  const feats = (d.require ?? []).map((f) => `  <feature name='${esc(f)}'/>`).join('\n');
  return `<cpu>\n  <arch>x86_64</arch>\n  <model>${esc(d.model)}</model>\n  <vendor>${esc(d.vendor ?? c.vendor)}</vendor>\n${feats}\n</cpu>\n`;
}
