import { KvcpuError } from '../core/errors.ts';
import type { SmpError, TopologyLevel } from './types.ts';

/**
 * QEMU versions and machine types, as far as `-smp` is concerned.
 *
 * Modelled QEMU versions: 6.1 (legacy algorithm), 6.2 – 10.2 (generic algorithm).
 * How checked (see /work/shared/notes/smp-rules.md):
 *   - 7.2: live against qemu-system-x86_64 7.2.22 (Debian 12) — shared vectors plus kvcpu's own
 *     generated vectors in test/e2e/smp-verify.test.ts; machine list from `-machine help`.
 *   - 6.1, 6.2, 8.x, 9.x, 10.x: from QEMU's source and unit tables as summarised in the notes
 *     (not run here). 5.2/6.0 parsed -smp with QemuOpts: kvcpu applies the 6.1 rules and keyval
 *     syntax texts to them, so their syntax-error texts may differ.
 */
export interface QemuVersion {
  major: number;
  minor: number;
}

export const DEFAULT_QEMU_VERSION = '7.2';
export const DEFAULT_MACHINE = 'pc-q35-7.2';

/** Every release that added machine-type versions (x.y). */
const RELEASES = [
  '1.4',
  '1.5',
  '1.6',
  '1.7',
  '2.0',
  '2.1',
  '2.2',
  '2.3',
  '2.4',
  '2.5',
  '2.6',
  '2.7',
  '2.8',
  '2.9',
  '2.10',
  '2.11',
  '2.12',
  '3.0',
  '3.1',
  '4.0',
  '4.1',
  '4.2',
  '5.0',
  '5.1',
  '5.2',
  '6.0',
  '6.1',
  '6.2',
  '7.0',
  '7.1',
  '7.2',
  '8.0',
  '8.1',
  '8.2',
  '9.0',
  '9.1',
  '9.2',
  '10.0',
  '10.1',
  '10.2',
];

export function parseQemuVersion(s: string): QemuVersion | null {
  const m = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(s.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function cmpVersion(a: QemuVersion, b: QemuVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

const verCache = new Map<string, QemuVersion>();
export function ver(s: string): QemuVersion {
  const hit = verCache.get(s);
  if (hit) return hit;
  const v = parseQemuVersion(s);
  if (!v) throw new KvcpuError('E_INTERNAL', `bad QEMU version literal ${s} in kvcpu's machine tables`);
  verCache.set(s, v);
  return v;
}

/** `a >= b` for version strings/objects. */
export function atLeast(a: QemuVersion, b: string): boolean {
  return cmpVersion(a, ver(b)) >= 0;
}

export const MODELLED_QEMU_VERSIONS = { min: '5.2', max: '10.2' } as const;

export type MachineFamily = 'pc-i440fx' | 'pc-q35' | 'microvm' | 'isapc' | 'none' | 'x-remote' | 'virt' | 's390-ccw-virtio';

export interface MachineInfo {
  /** Concrete machine type (what QEMU's messages name). */
  name: string;
  family: MachineFamily;
  arch: 'x86_64' | 'aarch64' | 's390x';
  /** Machine-type version (`pc-q35-6.1` → 6.1); undefined for unversioned machines. */
  version?: QemuVersion;
  /** QEMU >= 6.2: machine types <= 6.1 fill omitted sockets before cores. */
  preferSockets: boolean;
  /** Levels beyond sockets/cores/threads this machine has, for this QEMU version. */
  supports: Record<'drawers' | 'books' | 'dies' | 'clusters' | 'modules', boolean>;
  minCpus: number;
  maxCpus: number;
  /** x86 machines with an APIC: TCG < 9.0 refuses APIC IDs >= 255. */
  x86Apic: boolean;
  /** `-machine none` creates no CPU at all (query-cpus-fast is empty). */
  createsCpus: boolean;
  /**
   * A board-init limit below maxCpus, checked after -smp parsing: arm virt with GICv2 (the
   * default when no `gic-version=` is given) takes 8 CPUs (live 7.2, qemu-system-aarch64).
   */
  boardLimit?: { maxCpus: number; message: (maxcpus: number) => string };
  /** s390x types >= 7.2: threads > 1 refused at board init (hw/s390x/s390-virtio-ccw.c, live 7.2). */
  noSmt?: string;
}

function versionsOf(prefix: string, qemu: QemuVersion, oldest: string): string[] {
  const out: string[] = [];
  for (const r of RELEASES) {
    const v = ver(r);
    if (cmpVersion(v, qemu) > 0 || cmpVersion(v, ver(oldest)) < 0) continue;
    out.push(`${prefix}-${r}`);
    if (prefix === 'pc-q35' && r === '4.0') out.push('pc-q35-4.0.1');
  }
  return out;
}

/**
 * Oldest versioned pc types per QEMU release. 7.2: pc-i440fx-1.4 and pc-q35-2.4 (live
 * `-machine help`). Later: 1.4–1.7 removed in 9.0, everything before 2.6 gone in 10.0 (notes §5;
 * from the release notes, not run).
 */
function oldestPc(family: 'pc-i440fx' | 'pc-q35', qemu: QemuVersion): string {
  if (atLeast(qemu, '10.0')) return '2.6';
  if (family === 'pc-q35') return '2.4';
  return atLeast(qemu, '9.0') ? '2.0' : '1.4';
}

/** Machine types kvcpu knows for a QEMU version, aliases included (x86 first). */
const knownCache = new Map<string, Set<string>>();
export function knownMachines(qemu: QemuVersion): Set<string> {
  const key = `${qemu.major}.${qemu.minor}`;
  const hit = knownCache.get(key);
  if (hit) return hit;
  const names = ['pc', 'q35', 'microvm', 'isapc', 'none', 'x-remote', 'virt', 's390-ccw-virtio'];
  names.push(...versionsOf('pc-i440fx', qemu, oldestPc('pc-i440fx', qemu)));
  names.push(...versionsOf('pc-q35', qemu, oldestPc('pc-q35', qemu)));
  names.push(...versionsOf('virt', qemu, '2.6'));
  names.push(...versionsOf('s390-ccw-virtio', qemu, '2.4'));
  const set = new Set(names);
  knownCache.set(key, set);
  return set;
}

function latestMachineVersion(qemu: QemuVersion): string {
  return `${qemu.major}.${qemu.minor}`;
}

const UNKNOWN_MACHINE: SmpError = {
  code: 'E_SMP_MACHINE_UNKNOWN',
  // QEMU 7.2 system/vl.c prints this, then "Use -machine help to list supported machines".
  message: 'unsupported machine type',
};

/**
 * Resolve `-machine` (undefined = QEMU's default, the newest pc-i440fx) to its `-smp` properties.
 * Aliases: `pc` = newest pc-i440fx, `q35` = newest pc-q35, `virt`, `s390-ccw-virtio` = newest.
 */
export function resolveMachine(machine: string | undefined, qemu: QemuVersion): MachineInfo | SmpError {
  const latest = latestMachineVersion(qemu);
  // `-machine type=X,...` / `X,accel=...`: only the type matters here.
  const [first, ...props] = (machine ?? 'pc').split(',');
  let name = first!.replace(/^type=/, '');
  const prop = (k: string) => props.find((p) => p.startsWith(`${k}=`))?.slice(k.length + 1);
  if (name === 'pc') name = `pc-i440fx-${latest}`;
  else if (name === 'q35') name = `pc-q35-${latest}`;
  else if (name === 'virt') name = `virt-${latest}`;
  else if (name === 's390-ccw-virtio') name = `s390-ccw-virtio-${latest}`;
  if (!knownMachines(qemu).has(name)) return UNKNOWN_MACHINE;

  const generic = atLeast(qemu, '6.2');
  const base = {
    supports: { drawers: false, books: false, dies: false, clusters: false, modules: false },
    minCpus: 1,
    x86Apic: false,
    createsCpus: true,
  };
  const versioned = /^(pc-i440fx|pc-q35|virt|s390-ccw-virtio)-(\d+\.\d+)(?:\.\d+)?$/.exec(name);
  if (versioned) {
    const family = versioned[1] as MachineFamily;
    const mv = ver(versioned[2]!);
    // QEMU >= 6.2 hw/core/machine.c: compat props of <= 6.1 types set smp_props.prefer_sockets.
    // QEMU 6.1's legacy algorithm always fills sockets first.
    const preferSockets = !generic || cmpVersion(mv, ver('6.1')) <= 0;
    if (family === 'pc-i440fx' || family === 'pc-q35') {
      let maxCpus = 255; // hw/i386/pc_piix.c: i440fx max_cpus 255 in every version
      if (family === 'pc-q35') {
        // hw/i386/pc_q35.c: 255 for <= 2.7, 288 from 2.8, 1024 from 8.1, 4096 from 9.0 (per machine type).
        if (cmpVersion(mv, ver('9.0')) >= 0) maxCpus = 4096;
        else if (cmpVersion(mv, ver('8.1')) >= 0) maxCpus = 1024;
        else if (cmpVersion(mv, ver('2.8')) >= 0) maxCpus = 288;
      }
      return {
        ...base,
        name,
        family,
        arch: 'x86_64',
        version: mv,
        preferSockets,
        // dies: a class property of every pc type (QEMU >= 4.1); modules: QEMU >= 9.1.
        supports: { ...base.supports, dies: true, modules: atLeast(qemu, '9.1') },
        maxCpus,
        x86Apic: true,
      };
    }
    if (family === 'virt') {
      // hw/arm/virt.c: clusters supported from QEMU 7.0; class max_cpus 512 (the GIC may allow
      // fewer: GICv2, the default, takes 8 — checked at board init, not by -smp).
      return {
        ...base,
        name,
        family,
        arch: 'aarch64',
        version: mv,
        preferSockets,
        supports: { ...base.supports, clusters: atLeast(qemu, '7.0') },
        // virt_machine_2_12_options: mc->max_cpus = 255 for virt-2.12 and older (only one GICv3
        // redistributor region before 3.0's high-memory second region).
        maxCpus: mv && cmpVersion(mv, ver('2.12')) <= 0 ? 255 : 512,
        ...((prop('gic-version') ?? '2') === '2'
          ? { boardLimit: { maxCpus: 8, message: (n: number) => `Number of SMP CPUs requested (${n}) exceeds max CPUs supported by machine 'mach-virt' (8)` } }
          : {}),
      };
    }
    // hw/s390x/s390-virtio-ccw.c: S390_MAX_CPUS 248; drawers/books from QEMU 8.2 on the 8.2+ types.
    const books = atLeast(qemu, '8.2') && cmpVersion(mv, ver('8.2')) >= 0;
    return {
      ...base,
      name,
      family,
      arch: 's390x',
      version: mv,
      preferSockets,
      supports: { ...base.supports, drawers: books, books },
      maxCpus: 248,
      // Types <= 7.1 keep allowing threads > 1 (compat, live 7.2: s390-ccw-virtio-7.1 accepts threads=2).
      ...(cmpVersion(mv, ver('7.2')) >= 0 ? { noSmt: 'S390 does not support more than 1 threads.' } : {}),
    };
  }
  switch (name) {
    case 'microvm': // hw/i386/microvm.c: max 288, no dies
      return { ...base, name, family: 'microvm', arch: 'x86_64', preferSockets: !generic, maxCpus: 288, x86Apic: true };
    case 'isapc': // hw/i386/pc_piix.c: a pc machine with max_cpus 1
      return {
        ...base,
        name,
        family: 'isapc',
        arch: 'x86_64',
        preferSockets: !generic,
        supports: { ...base.supports, dies: true, modules: atLeast(qemu, '9.1') },
        maxCpus: 1,
        x86Apic: true,
      };
    case 'none': // hw/core/null-machine.c: max 1, no CPU created unless -cpu
      return { ...base, name, family: 'none', arch: 'x86_64', preferSockets: !generic, maxCpus: 1, createsCpus: false };
    case 'x-remote': // hw/remote/machine.c: MachineClass default max_cpus 1, creates no CPU (live 7.2)
      return { ...base, name, family: 'x-remote', arch: 'x86_64', preferSockets: !generic, maxCpus: 1, createsCpus: false };
  }
  return UNKNOWN_MACHINE;
}

/** Levels shown in QEMU's "product of the hierarchy" text and in kvcpu's canonical spec. */
export function shownLevels(m: MachineInfo): TopologyLevel[] {
  const out: TopologyLevel[] = [];
  if (m.supports.drawers) out.push('drawers');
  if (m.supports.books) out.push('books');
  out.push('sockets');
  if (m.supports.dies) out.push('dies');
  if (m.supports.clusters) out.push('clusters');
  if (m.supports.modules) out.push('modules');
  out.push('cores', 'threads');
  return out;
}
