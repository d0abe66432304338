import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Real libvirt domains for end-to-end tests and benchmarks: TCG guests that boot qboot with no
 * kernel (vCPUs halt at once, so dozens stay quiet on 2 host CPUs). .ci/run starts libvirtd
 * (virtlogd + libvirtd -d; no systemd on these machines). Every domain made here is tracked and
 * destroyed by `destroyAllDomains()`, never anyone else's.
 */
const execFileP = promisify(execFile);
const URI = 'qemu:///system';
const made = new Set<string>();

/** libvirtd answers on qemu:///system with a QEMU driver (virsh as root talks to it by default). */
export function libvirtReachable(): boolean {
  const r = spawnSync('virsh', ['-c', URI, 'version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && /Running hypervisor: QEMU/.test(r.stdout);
}

export async function virsh(...args: string[]): Promise<string> {
  return (await execFileP('virsh', ['-c', URI, ...args], { timeout: 60_000 })).stdout;
}

export interface DomainOptions {
  name: string;
  /** vCPUs present at start. */
  vcpus: number;
  /** <vcpu> maximum (hot-pluggable up to it); default vcpus. */
  maxVcpus?: number;
  iothreads?: number;
  memoryMiB?: number;
  /** Inner XML of <cputune> (e.g. "<vcpupin vcpu='0' cpuset='1'/>"); none when absent. */
  cputune?: string;
  /** A multiboot ELF for <kernel> (the spinner: every vCPU busy-loops, so psr follows a pin); none: the vCPUs halt. */
  kernel?: string;
}

/** A minimal TCG domain: qboot as the ROM, no disks or NICs, no balloon. */
export function domainXml(o: DomainOptions): string {
  const max = o.maxVcpus ?? o.vcpus;
  return `<domain type='qemu'>
  <name>${o.name}</name>
  <memory unit='MiB'>${o.memoryMiB ?? 32}</memory>
  <vcpu placement='static' current='${o.vcpus}'>${max}</vcpu>
  ${o.iothreads ? `<iothreads>${o.iothreads}</iothreads>` : ''}
  ${o.cputune ? `<cputune>${o.cputune}</cputune>` : ''}
  <os><type arch='x86_64' machine='pc'>hvm</type><loader type='rom'>/usr/share/qemu/qboot.rom</loader>${o.kernel ? `<kernel>${o.kernel}</kernel>` : ''}</os>
  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model><topology sockets='1' dies='1' cores='${max}' threads='1'/></cpu>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/></devices>
</domain>
`;
}

export interface Domain {
  name: string;
  pid: number;
  persistent: boolean;
}

function pidOf(name: string): number {
  return Number(readFileSync(`/run/libvirt/qemu/${name}.pid`, 'utf8').trim());
}

/** Start a domain: transient (`virsh create`) or persistent (`virsh define` + `start`). */
export async function startDomain(o: DomainOptions, persistent = false): Promise<Domain> {
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-libvirt-'));
  try {
    const file = join(dir, `${o.name}.xml`);
    writeFileSync(file, domainXml(o));
    made.add(o.name);
    if (persistent) {
      await virsh('define', file);
      await virsh('start', o.name);
    } else {
      await virsh('create', file);
    }
    return { name: o.name, pid: pidOf(o.name), persistent };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Stop (and undefine) one domain this module made; quiet when it is already gone. */
export async function destroyDomain(name: string): Promise<void> {
  await virsh('destroy', name).catch(() => undefined);
  await virsh('undefine', name).catch(() => undefined);
  made.delete(name);
}

export async function destroyAllDomains(): Promise<void> {
  await Promise.all([...made].map((n) => destroyDomain(n)));
}
