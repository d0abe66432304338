import { readFileSync } from 'node:fs';
import { KvcpuError } from '../core/errors.ts';
import { parseJsonText } from '../core/parse-json.ts';
import { parseHostCpuJson } from '../host/host-json.ts';
import { parseCpuinfo } from '../host/parse-cpuinfo.ts';
import { cpuinfoFlagsToQemu } from './feature-names.ts';

/** One pool member's CPU features in QEMU names, read from a file. */
export interface PoolHostFeatures {
  file: string;
  vendor: string | null;
  features: string[];
}

/**
 * Read a pool member from a `kvcpu host --json` report or a saved /proc/cpuinfo (lossy: hidden
 * bits and MSR features are not in cpuinfo). libvirt `<cpu>` XML is handled by `kvcpu cpu baseline`.
 */
export function readPoolHost(file: string): PoolHostFeatures {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KvcpuError('E_IO', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parsePoolHost(text, file);
}

export function parsePoolHost(text: string, file: string): PoolHostFeatures {
  const t = text.trimStart();
  let flags: string[];
  let vendor: string | null;
  if (t.startsWith('{')) {
    const j = parseHostCpuJson(parseJsonText(t, file), file);
    if (!j) {
      throw new KvcpuError('E_BAD_INPUT', `${file}: no cpu.flags (expected \`kvcpu host --json\` output)`, { hint: 'kvcpu host --json > host.json' });
    }
    flags = j.cpu.flags;
    vendor = j.cpu.vendor ?? null;
  } else {
    const info = parseCpuinfo(text);
    const rec = info.cpus[0]?.fields ?? info.global;
    if (!rec.flags) {
      throw new KvcpuError('E_BAD_INPUT', `${file}: neither kvcpu host JSON nor an x86 /proc/cpuinfo (no flags line)`, {
        hint: 'pass `kvcpu host --json` output or a copy of /proc/cpuinfo',
      });
    }
    flags = rec.flags.split(/\s+/).filter(Boolean);
    vendor = rec.vendor_id ?? null;
  }
  return { file, vendor, features: cpuinfoFlagsToQemu(flags, vendor).qemu };
}
