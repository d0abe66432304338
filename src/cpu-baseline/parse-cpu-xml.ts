import { KvcpuError } from '../core/errors.ts';
import { emptyCpuDef, type CpuDef, type FeaturePolicy } from './cpu-def.ts';
import { scanXml, type XmlElement } from './scan-xml.ts';

const POLICIES = new Set<FeaturePolicy>(['require', 'force', 'optional', 'disable', 'forbid']);

const child = (e: XmlElement, name: string) => e.children.find((c) => c.name === name);
const children = (e: XmlElement, name: string) => e.children.filter((c) => c.name === name);

/**
 * Parse libvirt CPU XML the way `virsh cpu-baseline` / `cpu-compare` accept it: one or more
 * `<cpu>` elements, concatenated without a wrapper, or embedded anywhere in capabilities
 * (`<host><cpu>`), domain (`<domain><cpu>`) or domcapabilities XML (the `host-model` mode).
 * A `<cpu>` with an `<arch>` child is a host CPU (libvirt virCPUDefParseXML, type auto).
 */
export function parseCpuXml(xml: string, label: string): CpuDef[] {
  const found: XmlElement[] = [];
  const walk = (els: XmlElement[]) => {
    for (const e of els) {
      // `virsh capabilities`: only /capabilities/host/cpu is the host CPU. The NUMA topology
      // (<host><topology><cells><cell><cpus><cpu id='0' socket_id=… siblings=…/>) lists logical
      // CPUs, not CPU definitions; libvirt's virsh cpu-baseline skips them (it reads
      // /capabilities/host/cpu), and so do we.
      if (e.name === 'cpus') continue;
      if (e.name === 'capabilities') {
        const host = child(e, 'host');
        if (host) for (const c of children(host, 'cpu')) found.push(c);
        continue;
      }
      if (e.name !== 'cpu') {
        walk(e.children);
        continue;
      }
      // domcapabilities: <cpu><mode name='host-model' supported='yes'>model + features</mode>...
      const modes = children(e, 'mode');
      if (modes.length) {
        const hm = modes.find((m) => m.attrs.name === 'host-model' && m.attrs.supported !== 'no' && child(m, 'model'));
        if (hm) found.push({ ...hm, name: 'cpu', attrs: { mode: 'host-model', match: 'exact' } });
      } else found.push(e);
    }
  };
  walk(scanXml(xml, label));
  if (found.length === 0) {
    throw new KvcpuError('E_CPU_NO_INPUT', `${label}: no <cpu> element found`, {
      hint: 'give `virsh capabilities`, `virsh domcapabilities` or concatenated <cpu> elements',
    });
  }
  return found.map((c, i) => cpuElementToDef(c, found.length > 1 ? `${label}#${i + 1}` : label));
}

function cpuElementToDef(c: XmlElement, label: string): CpuDef {
  const arch = child(c, 'arch');
  const host = arch !== undefined;
  const def = emptyCpuDef(label, 'libvirt-xml', host ? 'host' : 'guest');
  def.arch = arch?.text || null;
  def.mode = host ? null : (c.attrs.mode ?? 'custom');
  def.match = host ? null : (c.attrs.match ?? 'exact');
  const model = child(c, 'model');
  if (model) {
    def.model = model.text || null;
    def.fallback = model.attrs.fallback ?? null;
  }
  def.vendor = child(c, 'vendor')?.text || null;
  const sig = child(c, 'signature');
  if (sig) {
    def.signature = {
      family: Number(sig.attrs.family),
      model: Number(sig.attrs.model),
      stepping: sig.attrs.stepping === undefined ? null : Number(sig.attrs.stepping),
    };
  }
  for (const f of children(c, 'feature')) {
    const name = f.attrs.name;
    if (!name) throw new KvcpuError('E_BAD_XML', `${label}: <feature> without a name`);
    const p = f.attrs.policy;
    if (p !== undefined && host) {
      throw new KvcpuError('E_BAD_XML', `${label}: attribute 'policy' is only allowed for guest CPUs`, {
        hint: 'host CPUs (with <arch>) list plain <feature name=.../> elements',
      });
    }
    const policy = (p ?? 'require') as FeaturePolicy;
    if (!POLICIES.has(policy))
      throw new KvcpuError('E_BAD_XML', `${label}: invalid feature policy '${p}'`, { hint: 'require, force, optional, disable or forbid' });
    def.features.push({ name, policy });
  }
  return def;
}
