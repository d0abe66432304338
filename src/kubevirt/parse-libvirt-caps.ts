import { KvcpuError } from '../core/errors.ts';
import { scanXml, type XmlElement } from '../cpu-baseline/scan-xml.ts';
import type { CpuCounter, DomCapabilities, DomCapsModel } from './node-labels.ts';

const child = (e: XmlElement | undefined, name: string) => e?.children.find((c) => c.name === name);
const children = (e: XmlElement | undefined, name: string) => e?.children.filter((c) => c.name === name) ?? [];

function rootElement(xml: string, label: string, name: string, hint: string): XmlElement {
  const top = scanXml(xml, label);
  const root = top.find((e) => e.name === name);
  if (!root) throw new KvcpuError('E_BAD_XML', `${label}: no <${name}> element (found ${top.map((e) => `<${e.name}>`).join(', ') || 'nothing'})`, { hint });
  return root;
}

function intText(e: XmlElement | undefined, label: string, what: string): number {
  if (!e) return 0;
  if (!/^\d+$/.test(e.text)) throw new KvcpuError('E_BAD_XML', `${label}: <${what}> is not a non-negative integer: ${JSON.stringify(e.text.slice(0, 40))}`);
  return Number(e.text);
}

/**
 * `virsh domcapabilities` XML as KubeVirt's labeller reads it (model.go HostDomCapabilities, what
 * encoding/xml fills in): the modes with their models, the host-model vendor and features, and
 * the SEV / launchSecurity / TDX / s390-pv elements under <features>.
 */
export function parseDomCapabilities(xml: string, label: string): DomCapabilities {
  const root = rootElement(xml, label, 'domainCapabilities', 'give the output of `virsh domcapabilities`');
  const cpu = child(root, 'cpu');
  const models: DomCapsModel[] = [];
  let hostModel: DomCapabilities['hostModel'] = null;
  for (const mode of children(cpu, 'mode')) {
    const ms = children(mode, 'model').map((m) => ({ name: m.text, usable: m.attrs.usable ?? '', fallback: m.attrs.fallback ?? null }));
    if (mode.attrs.name === 'host-model' && mode.attrs.supported !== 'no') {
      hostModel = {
        models: ms,
        vendor: child(mode, 'vendor')?.text || null,
        features: children(mode, 'feature')
          .map((f) => ({ name: f.attrs.name ?? '', policy: f.attrs.policy ?? '' }))
          .filter((f) => f.name),
      };
    }
    models.push(...ms);
  }
  const features = child(root, 'features');
  const sevEl = child(features, 'sev');
  const ls = child(features, 'launchSecurity');
  const sectypes = ls?.attrs.supported === 'yes' ? children(ls, 'enum').flatMap((e) => children(e, 'value').map((v) => v.text)) : [];
  return {
    arch: child(root, 'arch')?.text || null,
    hostModel,
    models,
    sev: sevEl ? { supported: sevEl.attrs.supported === 'yes', maxESGuests: intText(child(sevEl, 'maxESGuests'), label, 'maxESGuests') } : null,
    launchSecurityTypes: sectypes,
    tdx: child(features, 'tdx')?.attrs.supported === 'yes',
    s390pv: child(features, 's390-pv')?.attrs.supported === 'yes',
  };
}

/** What KubeVirt reads from `virsh capabilities`: the host CPU counter and every guest machine name. */
export interface HostCapabilities {
  counter: CpuCounter | null;
  machines: string[];
  arch: string | null;
}

/** `virsh capabilities`: /capabilities/host/cpu/counter and /capabilities/guest/arch/machine (libvirtxml Caps). */
export function parseCapabilities(xml: string, label: string): HostCapabilities {
  const root = rootElement(xml, label, 'capabilities', 'give the output of `virsh capabilities`');
  const hostCpu = child(child(root, 'host'), 'cpu');
  const c = child(hostCpu, 'counter');
  let counter: CpuCounter | null = null;
  if (c) {
    const f = c.attrs.frequency ?? '';
    if (!/^\d+$/.test(f))
      throw new KvcpuError('E_BAD_XML', `${label}: <counter frequency=${JSON.stringify(f)}> is not an integer`, {
        hint: 'give the output of `virsh capabilities`',
      });
    counter = { name: c.attrs.name ?? '', frequency: Number(f), scaling: c.attrs.scaling ?? '' };
  }
  const machines = new Set<string>();
  for (const g of children(root, 'guest')) for (const m of children(child(g, 'arch'), 'machine')) if (m.text) machines.add(m.text);
  return { counter, machines: [...machines], arch: child(hostCpu, 'arch')?.text || null };
}

/** `supported_features.xml` (the `<cpu>` that `virsh hypervisor-cpu-baseline --features` prints): its features. */
export function parseSupportedFeatures(xml: string, label: string): { name: string; policy: string }[] {
  const root = rootElement(xml, label, 'cpu', 'give the output of `virsh hypervisor-cpu-baseline --features`');
  return children(root, 'feature')
    .map((f) => ({ name: f.attrs.name ?? '', policy: f.attrs.policy ?? '' }))
    .filter((f) => f.name);
}
