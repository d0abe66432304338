import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * vCPU TIDs libvirt recorded for a running domain: its status XML
 * (/run/libvirt/qemu/NAME.xml, root-only) has `<vcpus><vcpu id='0' pid='1234'/>` inside
 * `<domstatus>` (libvirt src/qemu/qemu_domain.c qemuDomainObjPrivateXMLFormatVcpus).
 */
export function readLibvirtVcpuTids(root: string, name: string): Map<number, number> {
  const m = new Map<number, number>();
  let xml: string;
  try {
    xml = readFileSync(join(root, 'run/libvirt/qemu', `${name}.xml`), 'utf8');
  } catch {
    return m;
  }
  const block = /<vcpus>([\s\S]*?)<\/vcpus>/.exec(xml);
  if (!block) return m;
  for (const v of block[1]!.matchAll(/<vcpu\s+id=['"](\d+)['"]\s+pid=['"](\d+)['"]/g)) m.set(Number(v[2]), Number(v[1]));
  return m;
}
