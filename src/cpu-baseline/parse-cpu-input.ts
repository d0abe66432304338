import { z } from 'zod';
import { KvcpuError } from '../core/errors.ts';
import { parseHostCpuJson } from '../host/host-json.ts';
import { cpuinfoField, parseCpuinfo } from '../host/parse-cpuinfo.ts';
import { emptyCpuDef, type CpuDef, type FeaturePolicy } from './cpu-def.ts';
import { cpuinfoFlagsToLibvirt, linuxToLibvirtName, qemuToLibvirtName } from './feature-names.ts';
import { parseCpuXml } from './parse-cpu-xml.ts';
import type { X86Map } from './x86-map.ts';

const X86 = new Set(['x86_64', 'i686', 'i386', 'x86']);

function vendorName(x: X86Map, v: string | null | undefined): string | null {
  if (!v) return null;
  return x.vendorByString.get(v) ?? (x.vendorNames.has(v) ? v : null);
}

function notX86(label: string, arch: string): KvcpuError {
  return new KvcpuError('E_CPU_NOT_X86', `${label}: architecture ${arch} is not x86`, {
    hint: "kvcpu cpu baseline/compare use libvirt's x86 CPU map",
  });
}

/** A host from its Linux flags (cpuinfo or `kvcpu host --json`), translated to libvirt names. */
function hostFromFlags(x: X86Map, label: string, kind: 'cpuinfo' | 'host-json', vendorString: string | null, flags: string[]): CpuDef {
  const def = emptyCpuDef(label, kind, 'host');
  def.arch = 'x86_64';
  def.vendor = vendorName(x, vendorString);
  if (vendorString && !def.vendor) def.notes.push(`vendor ${vendorString} is unknown to libvirt: treated as vendor-neutral`);
  if (flags.length === 0) {
    throw new KvcpuError('E_BAD_INPUT', `${label}: no CPU flags found`, { hint: 'give the full /proc/cpuinfo (with the `flags` line)' });
  }
  const t = cpuinfoFlagsToLibvirt(flags, def.vendor, new Set(x.featureNames));
  def.features = t.features.map((name) => ({ name, policy: 'require' as FeaturePolicy }));
  def.notes.push(...t.notes);
  return def;
}

/** Parse x86 /proc/cpuinfo text: the first processor's vendor_id, family/model/stepping and flags. */
export function parseCpuinfoCpu(x: X86Map, text: string, label: string): CpuDef {
  // The one cpuinfo reader (host/parse-cpuinfo.ts): the first record with a flags line.
  const info = parseCpuinfo(text);
  const rec = info.cpus.find((r) => r.fields.flags !== undefined) ?? info.cpus[0];
  const field = (k: string): string | null => cpuinfoField(info, rec, k)?.trim() ?? null;
  if (!field('flags') && /^(Features|features|cpu model|platform)\s*:/m.test(text)) throw notX86(label, 'non-x86');
  const def = hostFromFlags(x, label, 'cpuinfo', field('vendor_id'), (field('flags') ?? '').split(/\s+/).filter(Boolean));
  const fam = field('cpu family');
  const mod = field('model');
  if (fam && mod && /^\d+$/.test(fam) && /^\d+$/.test(mod)) {
    const st = field('stepping');
    def.signature = { family: Number(fam), model: Number(mod), stepping: st && /^\d+$/.test(st) ? Number(st) : null };
  }
  const name = field('model name');
  if (name) def.label = `${label} (${name})`;
  return def;
}

type Json = Record<string, unknown>;

const featureList = z.array(z.string()).optional();
/** A CPU definition as `kvcpu cpu baseline --format json` writes it (read back as an input). */
export const KvcpuCpuJsonSchema = z.object({
  model: z.string().min(1),
  vendor: z.string().nullable().optional(),
  names: z.enum(['libvirt', 'qemu', 'linux']).optional(),
  features: z.object({ require: featureList, disable: featureList, force: featureList, optional: featureList, forbid: featureList }),
});

function fromJson(x: X86Map, v: unknown, label: string): CpuDef[] {
  if (Array.isArray(v)) return v.flatMap((e, i) => fromJson(x, e, `${label}#${i + 1}`));
  if (!v || typeof v !== 'object') throw new KvcpuError('E_BAD_INPUT', `${label}: expected a JSON object`);
  const o = v as Json;
  // kvcpu's own baseline JSON (render-baseline.ts baselineJson): {"model","vendor","features":{"require":[],"disable":[]}}.
  if (typeof o.model === 'string' && o.features && typeof o.features === 'object' && !Array.isArray(o.features)) {
    const r = KvcpuCpuJsonSchema.safeParse(o);
    if (!r.success) {
      throw new KvcpuError(
        'E_BAD_INPUT',
        `${label}: not a kvcpu CPU definition: ${r.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
        {
          hint: 'expected {"model","vendor","features":{"require":[...],"disable":[...]}} as `kvcpu cpu baseline --format json` writes',
        },
      );
    }
    const j = r.data;
    const def = emptyCpuDef(label, 'kvcpu-json', 'guest');
    def.mode = 'custom';
    def.match = 'exact';
    def.model = j.model;
    def.vendor = j.vendor ?? null;
    // Its feature names may be in Linux or QEMU spelling (`--names`): back to libvirt's.
    const back = j.names === 'linux' ? linuxToLibvirtName : j.names === 'qemu' ? qemuToLibvirtName : (n: string) => n;
    for (const p of ['require', 'disable', 'force', 'optional', 'forbid'] as FeaturePolicy[]) {
      for (const n of j.features[p] ?? []) def.features.push({ name: back(n), policy: p });
    }
    return [def];
  }
  // `kvcpu host --json` (also wrapped, or a whole kvcpu report): the one host-JSON reader.
  const snap = parseHostCpuJson(o, label);
  if (snap) {
    const cpu = snap.cpu;
    const arch = snap.arch ?? 'x86_64';
    if (!X86.has(arch)) throw notX86(label, arch);
    const host = typeof o.hostname === 'string' ? o.hostname : (snap.hostname ?? snap.identity?.hostname ?? null);
    const def = hostFromFlags(x, host ? `${label} (${host})` : label, 'host-json', cpu.vendor ?? null, cpu.flags);
    if (typeof cpu.family === 'number' && typeof cpu.model === 'number') {
      def.signature = { family: cpu.family, model: cpu.model, stepping: typeof cpu.stepping === 'number' ? cpu.stepping : null };
    }
    return [def];
  }
  throw new KvcpuError('E_BAD_INPUT', `${label}: JSON is neither a \`kvcpu host --json\` report nor a kvcpu CPU definition`, {
    hint: 'expected {"cpu":{"vendor","flags":[...]}} or {"model","features":{"require":[...]}}',
  });
}

/**
 * Read one input (auto-detected): libvirt `<cpu>` XML (one or several), `kvcpu host --json`
 * output, kvcpu baseline JSON, or /proc/cpuinfo text.
 */
export function parseCpuInput(x: X86Map, text: string, label: string): CpuDef[] {
  const t = text.trim();
  if (t === '') throw new KvcpuError('E_CPU_NO_INPUT', `${label} is empty`, { hint: 'give a file with CPU definitions' });
  if (t.startsWith('<')) return parseCpuXml(t, label);
  if (t.startsWith('{') || t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new KvcpuError('E_BAD_JSON', `${label} is not valid JSON: ${(e as Error).message}`, { hint: 'check the file with `jq . FILE`' });
    }
    return fromJson(x, v, label);
  }
  if (/^(processor|flags|vendor_id)\s*:/m.test(t)) return [parseCpuinfoCpu(x, t, label)];
  throw new KvcpuError('E_BAD_INPUT', `${label}: not libvirt CPU XML, kvcpu JSON or /proc/cpuinfo`, {
    hint: 'inputs: `virsh capabilities` / <cpu> XML, `kvcpu host --json`, or a copy of /proc/cpuinfo',
  });
}
