import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { KvcpuError } from '../core/errors.ts';
import type { CpuMapFeature, CpuMapModel, CpuMapVendor, CpuidReg, LibvirtCpuMap } from './cpu-map-types.ts';

type Node = Record<string, unknown>;

const REPEATED = new Set(['arch', 'include', 'vendor', 'feature', 'model', 'signature', 'alias', 'cpuid', 'msr']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Keep "0x07" and "yes" as strings: we convert the few numeric attributes ourselves.
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => REPEATED.has(name),
});

function parseXml(text: string, file: string): Node {
  const ok = XMLValidator.validate(text);
  if (ok !== true) {
    throw new KvcpuError('E_BAD_XML', `${file}: ${ok.err.msg} (line ${ok.err.line})`, {
      hint: 'the libvirt cpu_map file is damaged: reinstall libvirt0 or use the shipped snapshot',
    });
  }
  return parser.parse(text) as Node;
}

const arr = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : v === undefined ? [] : [v as Node]);
const attr = (n: Node, name: string): string | undefined => {
  const v = n[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
};

function num(v: string | undefined, what: string): number {
  const n = v === undefined ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new KvcpuError('E_BAD_XML', `cpu_map: bad number ${String(v)} for ${what}`);
  return n;
}

function parseFeature(f: Node): CpuMapFeature {
  const name = attr(f, 'name');
  if (!name) throw new KvcpuError('E_BAD_XML', 'cpu_map: feature without a name');
  const out: CpuMapFeature = {
    name,
    migratable: attr(f, 'migratable') !== 'no',
    aliases: arr(f.alias).map((a) => ({ name: attr(a, 'name') ?? '', source: attr(a, 'source') ?? '' })),
  };
  const cpuid = arr(f.cpuid)[0];
  if (cpuid) {
    // libvirt 9.0: one register mask per feature (x86_features.xml never sets two registers).
    for (const reg of ['eax', 'ebx', 'ecx', 'edx'] as CpuidReg[]) {
      const m = attr(cpuid, reg);
      if (m !== undefined && Number(m) !== 0) {
        out.cpuid = {
          eaxIn: num(attr(cpuid, 'eax_in'), `${name} eax_in`),
          ecxIn: attr(cpuid, 'ecx_in') === undefined ? 0 : num(attr(cpuid, 'ecx_in'), `${name} ecx_in`),
          reg,
          mask: num(m, `${name} ${reg}`),
        };
      }
    }
  }
  const msr = arr(f.msr)[0];
  if (msr) {
    const eax = Number(attr(msr, 'eax') ?? 0);
    const edx = Number(attr(msr, 'edx') ?? 0);
    out.msr = { index: num(attr(msr, 'index'), `${name} msr index`), reg: eax !== 0 ? 'eax' : 'edx', mask: eax !== 0 ? eax : edx };
  }
  return out;
}

/**
 * Parse libvirt's cpu_map directory (x86 part) into plain data. `read(file)` returns a file's text
 * (file names relative to the cpu_map directory). Follows index.xml's include order, which is the
 * order libvirt keeps features and models in (libvirt src/cpu/cpu_map.c cpuMapLoad).
 */
export function parseCpuMap(read: (file: string) => string, source: LibvirtCpuMap['source']): LibvirtCpuMap {
  const index = parseXml(read('index.xml'), 'index.xml');
  const arches = arr((index.cpus as Node | undefined)?.arch);
  const x86 = arches.find((a) => attr(a, 'name') === 'x86');
  if (!x86) throw new KvcpuError('E_BAD_XML', 'cpu_map index.xml has no x86 arch');
  const vendors: CpuMapVendor[] = [];
  const features: CpuMapFeature[] = [];
  const models: CpuMapModel[] = [];
  const featureNames = new Set<string>();

  for (const inc of arr(x86.include)) {
    const file = attr(inc, 'filename');
    if (!file) continue;
    const root = (parseXml(read(file), file).cpus ?? {}) as Node;
    for (const v of arr(root.vendor)) {
      vendors.push({ name: attr(v, 'name') ?? '', string: attr(v, 'string') ?? '' });
    }
    // Features and models share the <feature> tag name: features live at the top level of x86_features.xml.
    for (const f of arr(root.feature)) {
      const feat = parseFeature(f);
      featureNames.add(feat.name);
      features.push(feat);
    }
    for (const m of arr(root.model)) {
      const name = attr(m, 'name');
      if (!name) throw new KvcpuError('E_BAD_XML', `${file}: model without a name`);
      const decode = arr(m.decode as Node | Node[] | undefined)[0];
      const ancestorName = arr(m.model)[0] ? attr(arr(m.model)[0]!, 'name') : undefined;
      const ancestor = ancestorName ? models.find((x) => x.name === ancestorName) : undefined;
      if (ancestorName && !ancestor) throw new KvcpuError('E_BAD_XML', `${file}: ancestor ${ancestorName} of ${name} not found`);
      const sigs = arr(m.signature).map((s) => ({
        family: num(attr(s, 'family'), `${name} signature family`),
        model: num(attr(s, 'model'), `${name} signature model`),
        ...(attr(s, 'stepping') === undefined ? {} : { stepping: attr(s, 'stepping')! }),
      }));
      const vendorNode = arr(m.vendor)[0];
      const own: string[] = [];
      const removed: string[] = [];
      for (const f of arr(m.feature)) {
        const fname = attr(f, 'name') ?? '';
        if (!featureNames.has(fname)) throw new KvcpuError('E_BAD_XML', `${file}: feature ${fname} of model ${name} not found`);
        if (attr(f, 'removed') === 'yes') removed.push(fname);
        else own.push(fname);
      }
      const inherited = ancestor ? ancestor.features.filter((f) => !own.includes(f)) : [];
      models.push({
        name,
        vendor: vendorNode ? (attr(vendorNode, 'name') ?? null) : (ancestor?.vendor ?? null),
        signatures: sigs.length ? sigs : (ancestor?.signatures ?? []),
        decode: { host: attr(decode ?? {}, 'host') !== 'off', guest: attr(decode ?? {}, 'guest') !== 'off' },
        features: [...inherited, ...own],
        removed,
        ...(ancestorName ? { parent: ancestorName } : {}),
      });
    }
  }
  return { schema: 'kvcpu/libvirt-cpu-map/1', source, vendors, features, models };
}
