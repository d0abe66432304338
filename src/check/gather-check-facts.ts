import { accessSync, constants, existsSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { KvcpuError } from '../core/errors.ts';
import { TreeAccess } from '../host/host-tree.ts';
import { readHost } from '../host/read-host.ts';
import type { HostSnapshot } from '../host/types.ts';
import { probeKvm, probeKvmCached, type ProbeKvmOptions } from './probe-kvm.ts';
import { readKernelLog } from './read-kernel-log.ts';
import { hostFactsFrom } from './run-checks.ts';
import type {
  CgroupFacts,
  CheckFacts,
  DeviceNodeFacts,
  IommuFacts,
  LibvirtFacts,
  ModuleFacts,
  NetInterfaceFacts,
  PciFunctionFacts,
  UserFacts,
} from './types.ts';
import { createConnection } from 'node:net';

export interface GatherCheckFactsOptions {
  /** Root prefix for /proc and /sys (default "/"). */
  root?: string;
  /** Live host: stat /dev/kvm, probe it, read the kernel log. Default: root is "/". */
  live?: boolean;
  /** Probe KVM by creating a VM (default: live). */
  probe?: boolean;
  probeOptions?: ProbeKvmOptions;
  /** A host snapshot already read (saves a second read). */
  host?: HostSnapshot;
  /** Records every file used (kvcpu capture passes its own so captures include them). */
  access?: TreeAccess;
}

/** Directory entries without dotfiles (fixture trees keep empty folders with a .keep file). */
function entries(a: TreeAccess, rel: string): string[] | null {
  return a.list(rel)?.filter((e) => !e.startsWith('.')) ?? null;
}

/** Modules whose /sys/module entry matters to KVM readiness (x86, s390, ppc, arm64 all call theirs kvm*). */
const KVM_MODULE = /^kvm(_[a-z0-9]+)?$/;

function readModules(a: TreeAccess): Record<string, ModuleFacts> | null {
  const names = entries(a, 'sys/module');
  if (names === null) return null;
  const out: Record<string, ModuleFacts> = {};
  for (const name of names.filter((n) => KVM_MODULE.test(n)).sort()) {
    const dir = `sys/module/${name}`;
    const params: Record<string, string> = {};
    for (const p of (entries(a, `${dir}/parameters`) ?? []).sort()) {
      const v = a.readTrim(`${dir}/parameters/${p}`);
      if (v !== null) params[p] = v;
    }
    // Loadable modules have initstate; built-in ones only show parameters/ (kernel/params.c).
    out[name] = { builtin: a.readTrim(`${dir}/initstate`) === null, params };
  }
  return out;
}

function readMiscKvm(a: TreeAccess): boolean | null {
  const misc = a.read('proc/misc');
  if (misc !== null) return /^\s*232\s+kvm\s*$/m.test(misc);
  const cls = entries(a, 'sys/class/misc');
  return cls === null ? null : cls.includes('kvm');
}

/** Basename of a symlink's target (or of a flattened link's text, see resolveTreeLink). */
function linkBase(a: TreeAccess, rel: string): string | null {
  try {
    const t = readlinkSync(a.abs(rel));
    a.noteLink(rel);
    return path.basename(t);
  } catch {
    const text = a.readTrim(rel);
    return text !== null && /^\.\.\/[^\n]*$/.test(text) ? path.basename(text) : null;
  }
}

function readIommu(a: TreeAccess): IommuFacts {
  const tables = entries(a, 'sys/firmware/acpi/tables');
  const groupsList = entries(a, 'sys/kernel/iommu_groups');
  let groupTypes: Record<string, number> | null = null;
  if (groupsList !== null) {
    groupTypes = {};
    for (const g of groupsList) {
      const t = a.readTrim(`sys/kernel/iommu_groups/${g}/type`);
      if (t !== null) groupTypes[t] = (groupTypes[t] ?? 0) + 1;
    }
  }
  return {
    dmar: tables === null ? null : tables.includes('DMAR'),
    ivrs: tables === null ? null : tables.includes('IVRS'),
    iort: tables === null ? null : tables.includes('IORT'),
    classDevices: entries(a, 'sys/class/iommu')?.sort() ?? null,
    groups: groupsList === null ? null : groupsList.filter((g) => /^\d+$/.test(g)).length,
    groupTypes,
  };
}

/**
 * A sysfs symlink inside a captured tree, as a path relative to the root. Real symlinks resolve by
 * themselves; some copies of captures flatten each symlink into a small file holding its target
 * (`../../../devices/pci0000:5d/.../0000:60:00.0`), so follow that text when it names a folder
 * inside the root.
 */
export function resolveTreeLink(a: TreeAccess, rel: string): string {
  const abs = a.abs(rel);
  try {
    if (statSync(abs).isDirectory()) return rel;
  } catch {
    return rel;
  }
  const text = a.readTrim(rel);
  if (text === null || text.includes('\n') || !/^(\.\.\/|\/)/.test(text)) return rel;
  const target = path.resolve(path.dirname(abs), text.startsWith('/') ? path.relative('/', text) : text);
  const inside = path.relative(a.root, target);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return rel;
  try {
    return statSync(target).isDirectory() ? inside : rel;
  } catch {
    return rel;
  }
}

function readSriov(a: TreeAccess): PciFunctionFacts[] | null {
  const devs = entries(a, 'sys/bus/pci/devices');
  if (devs === null) return null;
  const out: PciFunctionFacts[] = [];
  for (const bdf of devs.sort()) {
    const dir = resolveTreeLink(a, `sys/bus/pci/devices/${bdf}`);
    const total = a.readTrim(`${dir}/sriov_totalvfs`);
    if (total === null || !/^\d+$/.test(total) || Number(total) === 0) continue;
    const num = a.readTrim(`${dir}/sriov_numvfs`);
    out.push({
      bdf,
      vendor: a.readTrim(`${dir}/vendor`),
      device: a.readTrim(`${dir}/device`),
      class: a.readTrim(`${dir}/class`),
      totalVfs: Number(total),
      numVfs: num !== null && /^\d+$/.test(num) ? Number(num) : 0,
      driver: linkBase(a, `${dir}/driver`),
      numaNode: a.readTrim(`${dir}/numa_node`),
      netdevs: entries(a, `${dir}/net`)?.sort() ?? [],
    });
  }
  return out;
}

const BDF = /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;

/** The PCI function a device sits on: itself, or its nearest PCI ancestor (virtio-net hangs under virtioN under the PCI function). */
function pciAncestor(a: TreeAccess, rel: string): string | null {
  try {
    const parts = realpathSync(a.abs(resolveTreeLink(a, rel))).split('/');
    for (let i = parts.length - 1; i >= 0; i--) if (BDF.test(parts[i]!)) return parts[i]!;
  } catch {
    /* dangling */
  }
  return null;
}

function readNet(a: TreeAccess): NetInterfaceFacts[] | null {
  const ifaces = entries(a, 'sys/class/net');
  if (ifaces === null) return null;
  const out: NetInterfaceFacts[] = [];
  for (const name of ifaces.sort()) {
    const dir = `sys/class/net/${name}`;
    const dev = linkBase(a, `${dir}/device`);
    const queues = entries(a, `${dir}/queues`) ?? [];
    out.push({
      name,
      pci: dev !== null ? pciAncestor(a, `${dir}/device`) : null,
      driver: dev !== null ? linkBase(a, `${dir}/device/driver`) : null,
      rxQueues: queues.filter((q) => q.startsWith('rx-')).length,
      txQueues: queues.filter((q) => q.startsWith('tx-')).length,
    });
  }
  return out;
}

function readIrqbalancePids(a: TreeAccess): number[] | null {
  const pids = (a.list('proc') ?? []).filter((e) => /^\d+$/.test(e)).map(Number);
  if (pids.length === 0) return null; // captured trees carry no process list
  const out: number[] = [];
  for (const pid of pids) {
    // Read directly (not through the access record): process files must never go into a capture.
    try {
      if (readFileSync(a.abs(`proc/${pid}/comm`), 'utf8').trim() === 'irqbalance') out.push(pid);
    } catch {
      /* exited meanwhile */
    }
  }
  return out.sort((x, y) => x - y);
}

function groupEntry(etcGroup: string | null, gid: number): { name: string; members: string[] } | null {
  if (etcGroup === null) return null;
  for (const line of etcGroup.split('\n')) {
    const [name, , id, members] = line.split(':');
    if (name && id !== undefined && Number(id) === gid) return { name, members: (members ?? '').split(',').filter(Boolean) };
  }
  return null;
}

function userName(etcPasswd: string | null, uid: number): string | null {
  if (etcPasswd === null) return null;
  for (const line of etcPasswd.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && Number(id) === uid) return name;
  }
  return null;
}

/** stat() a device node and test access(2) for read-write (live host). */
export function statDeviceNode(devPath: string): DeviceNodeFacts {
  const etcGroup = safeRead('/etc/group');
  const etcPasswd = safeRead('/etc/passwd');
  try {
    const st = statSync(devPath);
    let accessible = true;
    try {
      accessSync(devPath, constants.R_OK | constants.W_OK);
    } catch {
      accessible = false;
    }
    const kind = st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
    const dev = kind === 'char' || kind === 'block';
    // Linux dev_t encoding (include/linux/kdev_t.h new_decode_dev): major bits 8-19, minor bits 0-7 and 20-31.
    const rdev = st.rdev;
    return {
      path: devPath,
      exists: true,
      kind,
      major: dev ? (rdev >> 8) & 0xfff : null,
      minor: dev ? (rdev & 0xff) | ((rdev >> 12) & 0xfff00) : null,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      owner: userName(etcPasswd, st.uid),
      group: groupEntry(etcGroup, st.gid)?.name ?? null,
      accessible,
    };
  } catch {
    return {
      path: devPath,
      exists: false,
      kind: null,
      major: null,
      minor: null,
      mode: null,
      uid: null,
      gid: null,
      owner: null,
      group: null,
      accessible: false,
    };
  }
}

function safeRead(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function currentUser(device: DeviceNodeFacts | null): UserFacts {
  const uid = process.getuid?.() ?? -1;
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  const gid = device?.gid ?? null;
  const members = gid !== null ? (groupEntry(safeRead('/etc/group'), gid)?.members ?? null) : null;
  return { uid, name, gids: process.getgroups?.() ?? [], deviceGroupMembers: members };
}

/**
 * Gather every fact `kvcpu check` judges, under `root`. Captured trees lack some folders
 * (sys/module, sys/class/iommu, processes): those facts come back null and their verdicts SKIP
 * instead of guessing. Live-only facts (/dev/kvm, the probe, the kernel log) need `live`.
 */
export async function gatherCheckFacts(opts: GatherCheckFactsOptions = {}): Promise<CheckFacts> {
  const root = path.resolve(opts.root ?? '/');
  if (!existsSync(root) || (!existsSync(path.join(root, 'sys')) && !existsSync(path.join(root, 'proc')))) {
    throw new KvcpuError('E_SYSFS_MISSING', `no sys/ or proc/ under ${root}`, {
      hint: root === '/' ? 'mount sysfs and procfs' : 'point --root at the top of a captured tree (the directory holding proc/ and sys/)',
    });
  }
  const live = opts.live ?? root === '/';
  const host = opts.host ?? readHost({ root });
  const a = opts.access ?? new TreeAccess(root);
  const kvmDevice = live ? statDeviceNode('/dev/kvm') : null;
  const libvirt = live ? await probeLibvirt() : null;
  const probe = live && (opts.probe ?? true) ? await (opts.probeOptions ? probeKvm(opts.probeOptions) : probeKvmCached()) : null;
  return {
    root,
    live,
    host: hostFactsFrom(host),
    ...readCheckTree(a),
    kernelLog: live ? readKernelLog() : null,
    kvmDevice,
    user: live ? currentUser(kvmDevice) : null,
    probe,
    irqbalancePids: readIrqbalancePids(a),
    vhostNetDevice: live ? statDeviceNode('/dev/vhost-net') : null,
    tunDevice: live ? statDeviceNode('/dev/net/tun') : null,
    libvirt,
  };
}

/** libvirtd's sockets (monolithic daemon, then the modular virtqemud); connect() tells it answers. */
async function probeLibvirt(): Promise<LibvirtFacts> {
  const paths = ['/run/libvirt/libvirt-sock', '/run/libvirt/virtqemud-sock'];
  const sockets = await Promise.all(
    paths.map(
      (p) =>
        new Promise<LibvirtFacts['sockets'][number]>((resolve) => {
          if (!existsSync(p)) return resolve({ path: p, exists: false, connects: null });
          const s = createConnection(p);
          const done = (connects: boolean, error?: string) => {
            s.destroy();
            resolve({ path: p, exists: true, connects, ...(error ? { error } : {}) });
          };
          s.setTimeout(2000, () => done(false, 'timeout'));
          s.once('connect', () => done(true));
          s.once('error', (e) => done(false, (e as NodeJS.ErrnoException).code ?? e.message));
        }),
    ),
  );
  return { sockets };
}

/** /proc/misc: `minor name` per line. */
function readMiscDevices(a: TreeAccess): Record<string, number> | null {
  const t = a.read('proc/misc');
  if (t === null) return null;
  const out: Record<string, number> = {};
  for (const line of t.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (m) out[m[2]!] = Number(m[1]);
  }
  return out;
}

/**
 * cgroup controllers from proc/self/mountinfo (proc(5): field 5 mount point, after " - " the fs
 * type and super options; v1 options name the controllers), cgroup2's cgroup.controllers, and
 * the partition the VM manager uses: libvirt's default /machine (machine.slice under systemd,
 * where systemd-machined owns it).
 */
function readCgroups(a: TreeAccess): CgroupFacts | null {
  const mi = a.read('proc/self/mountinfo');
  if (mi === null) return null;
  const v1: Record<string, string> = {};
  let v2Mount: string | null = null;
  for (const line of mi.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const mountPoint = pre.split(' ')[4];
    const [fstype, , superOpts] = post.split(' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') v2Mount ??= mountPoint;
    else if (fstype === 'cgroup') for (const o of (superOpts ?? '').split(',')) if (['cpu', 'cpuset', 'cpuacct', 'memory'].includes(o)) v1[o] ??= mountPoint;
  }
  const rel = (p: string) => p.replace(/^\/+/, '');
  const controllersAt = (dir: string) =>
    a
      .readTrim(`${rel(dir)}/cgroup.controllers`)
      ?.split(/\s+/)
      .filter(Boolean) ?? null;
  const v2Controllers = v2Mount ? controllersAt(v2Mount) : null;
  const systemd = a.list('run/systemd/system') !== null;
  const manager: CgroupFacts['manager'] = a.list('run/libvirt') !== null ? 'libvirt' : systemd ? 'systemd' : 'none';
  const partitions: CgroupFacts['partitions'] = {};
  if (manager !== 'none') {
    const name = systemd ? 'machine.slice' : 'machine';
    // v1: under each controller's own mount; v2: under the unified tree.
    for (const controller of ['cpu', 'cpuset']) {
      const base = v1[controller] ?? v2Mount;
      if (!base) continue;
      const path = `${base}/${name}`;
      partitions[controller] = {
        path,
        exists: a.list(rel(path)) !== null,
        v2Controllers: base === v2Mount ? controllersAt(path) : null,
        parentSubtreeControl: `${base}/cgroup.subtree_control`,
      };
    }
  }
  return { v1, v2Mount, v2Controllers, manager, partitions };
}

/** The facts that live in /proc and /sys files (capturable), as opposed to live probes. */
export type CheckTreeFacts = Pick<
  CheckFacts,
  'cmdline' | 'procVersion' | 'modules' | 'miscKvm' | 'iommu' | 'sriov' | 'net' | 'nohzFull' | 'miscDevices' | 'cgroups'
>;

/**
 * Read the capturable check facts through `access`. `kvcpu capture` can call this with its own
 * TreeAccess so a capture carries everything `kvcpu check --root` needs (process files excluded).
 */
export function readCheckTree(a: TreeAccess): CheckTreeFacts {
  return {
    cmdline: a.readTrim('proc/cmdline'),
    procVersion: a.readTrim('proc/version'),
    modules: readModules(a),
    miscKvm: readMiscKvm(a),
    iommu: readIommu(a),
    sriov: readSriov(a),
    net: readNet(a),
    nohzFull: a.readTrim('sys/devices/system/cpu/nohz_full'),
    miscDevices: readMiscDevices(a),
    cgroups: readCgroups(a),
  };
}
