import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { loadNative } from '../io/native.ts';

/**
 * The raw /proc + /sys files kvcpu's host reader uses, as plain strings (I/O edge).
 * `readHostTree` fills it from a root prefix; `buildHostSnapshot` turns it into a HostSnapshot.
 * Every path is relative to the root (no leading slash), e.g. `sys/devices/system/cpu/online`.
 */
export interface RawHostTree {
  root: string;
  /** proc/cpuinfo text, null when absent. */
  cpuinfo: string | null;
  /** proc/self/status text (for Cpus_allowed_list), null when absent. */
  selfStatus: string | null;
  /** sys/devices/system/cpu exists. */
  cpuDir: boolean;
  /** sys/kernel/cpu_byteorder (little | big), null when absent (Linux < 3.13 or not captured). */
  cpuByteorder: string | null;
  possible: string | null;
  present: string | null;
  online: string | null;
  offline: string | null;
  isolated: string | null;
  kernelMax: string | null;
  /** One entry per cpuN directory, sorted by N. */
  cpus: RawCpu[];
  /** sys/devices/system/node exists. */
  nodeDir: boolean;
  /** One entry per nodeN directory, sorted by N. */
  nodes: RawNode[];
  /** sys/devices/system/cpu/vulnerabilities/<file> contents; null when the directory is absent.
   * Optional: trees built by hand (tests) may leave it out. */
  vulnerabilities?: Record<string, string> | null;
  /** What lscpu uses to name the hypervisor (lscpu-fields.ts). */
  virtHints?: VirtHints;
}

/** What lscpu uses to name the hypervisor besides flags (lscpu-fields.ts reads it). */
export interface VirtHints {
  /** CPUID 0x40000000 vendor signature (live x86 only), null otherwise. */
  cpuidSignature: string | null;
  /** proc/xen exists / proc/xen/capabilities text. */
  xenDir: boolean;
  xenCapabilities: string | null;
  /** proc/sysinfo (s390). */
  sysinfo: string | null;
  /** proc/bus/pci/devices. */
  pciDevices: string | null;
}

export interface RawCpu {
  cpu: number;
  /** cpuN/online (absent for CPU0 on most kernels: missing means online). */
  online: string | null;
  /** cpuN/topology/* file contents by name; null when the directory is absent (offline CPUs). */
  topology: Record<string, string> | null;
  caches: RawCache[];
  /** nodeK entries (symlinks) in cpuN/, possibly dangling. */
  nodeLinks: number[];
  /** cpuN/cpufreq/cpuinfo_max_freq in kHz (through the policy symlink), null when unreadable. */
  maxFreqKhz: string | null;
  /** cpuN/cpu_capacity (arm/riscv scheduler capacity), null when absent. */
  capacity: string | null;
}

export interface RawCache {
  index: string;
  level: string | null;
  type: string | null;
  size: string | null;
  sharedCpuList: string | null;
  sharedCpuMap: string | null;
  id: string | null;
}

export interface RawNode {
  id: number;
  cpulist: string | null;
  cpumap: string | null;
  distance: string | null;
  meminfo: string | null;
  /** cpuK entries inside nodeN/ (used only when neither cpulist nor cpumap exists). */
  cpuLinks: number[];
}

/**
 * File access under a root, recording what was used so `kvcpu capture` can copy exactly
 * the files the reader depends on.
 */
export class TreeAccess {
  readonly root: string;
  /** Relative paths of files read successfully. */
  readonly files = new Set<string>();
  /** Relative paths of directories listed. */
  readonly dirs = new Set<string>();
  /** Relative paths of symlinks whose existence matters (e.g. cpuN/nodeK). */
  readonly links = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  abs(rel: string): string {
    return path.join(this.root, rel);
  }

  read(rel: string): string | null {
    try {
      const text = readBounded(this.abs(rel), rel === 'proc/cpuinfo' ? MAX_CPUINFO_BYTES : MAX_FILE_BYTES);
      this.files.add(rel);
      return text;
    } catch (e) {
      // A path component that is a plain file holding a link target (symlinks flattened by
      // a copy, e.g. `cpu0/cpufreq` containing "../cpufreq/policy0"): follow it by hand.
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') {
        const real = this.resolveLinkFiles(rel);
        if (real !== null && real !== rel) return this.read(real);
      }
      // Absent, dangling symlink, or unreadable (sysfs returns EIO/EACCES for some attributes).
      return null;
    }
  }

  /** Rewrite `rel` replacing link-files (regular files whose content is a relative path). */
  private resolveLinkFiles(rel: string): string | null {
    const parts = rel.split('/');
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      const next = cur === '' ? parts[i]! : `${cur}/${parts[i]}`;
      if (i === parts.length - 1) return next;
      let st;
      try {
        st = lstatSync(this.abs(next));
      } catch {
        return null;
      }
      if (st.isFile() && st.size < 256) {
        const target = readFileSync(this.abs(next), 'utf8').trim();
        if (!/^\.\.?\/[\w./-]+$/.test(target)) return null;
        const joined = path.posix.normalize(path.posix.join(cur, target));
        if (joined.startsWith('..')) return null;
        this.files.add(next);
        cur = joined;
      } else {
        cur = next;
      }
    }
    return cur;
  }

  /** Trimmed file content, null when absent. */
  readTrim(rel: string): string | null {
    const t = this.read(rel);
    // Some captured sysfs files carry a trailing NUL (hwloc tarballs): drop it with the whitespace.
    return t === null ? null : t.replace(/\0/g, '').trim();
  }

  list(rel: string): string[] | null {
    try {
      const entries = readdirSync(this.abs(rel));
      this.dirs.add(rel);
      return entries;
    } catch {
      return null;
    }
  }

  /** Record a symlink that the reader relies on by name (it may dangle). */
  noteLink(rel: string): void {
    try {
      const st = lstatSync(this.abs(rel));
      if (st.isSymbolicLink()) this.links.add(rel);
      else if (st.isFile()) this.files.add(rel); // a flattened link (file holding the target)
    } catch {
      /* vanished */
    }
  }
}

/**
 * Size bounds for files of a host tree: sysfs attributes are at most a page (PAGE_SIZE, 4 KiB;
 * a cpulist of 8,192 CPUs fits), /proc/cpuinfo ~1.5 KiB per CPU (12 MiB for 8,192 CPUs).
 * Past these, a tree is not a real host: the file counts as unreadable instead of filling memory.
 */
const MAX_FILE_BYTES = 1 << 20;
const MAX_CPUINFO_BYTES = 64 << 20;

/**
 * Read a regular file of at most `max` bytes. Anything else (a FIFO that would block open(2)
 * forever, /dev/zero that never ends, a directory) or a larger file throws: a captured tree
 * is untrusted input. The O_NONBLOCK open keeps a FIFO from blocking before fstat sees it.
 */
function readBounded(file: string, max: number): string {
  const fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${file}: not a regular file`), { code: 'EINVAL' });
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(65536, max + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > max) throw Object.assign(new Error(`${file}: larger than ${max} bytes`), { code: 'EFBIG' });
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const CPU_DIR = 'sys/devices/system/cpu';
const NODE_DIR = 'sys/devices/system/node';

function numbered(entries: string[] | null, prefix: string): number[] {
  if (!entries) return [];
  const re = new RegExp(`^${prefix}(\\d+)$`);
  return entries
    .map((e) => re.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The CPUID hypervisor signature `kvcpu capture` kept in capture.json, null when absent. */
function capturedCpuid(a: TreeAccess): string | null {
  const text = a.read('capture.json');
  if (text === null) return null;
  try {
    const v = (JSON.parse(text) as { cpuidHypervisor?: unknown }).cpuidHypervisor;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Read every /proc and /sys file the host reader uses, under `access.root`. */
export function readHostTree(access: TreeAccess): RawHostTree {
  const a = access;
  const cpuEntries = a.list(CPU_DIR);
  const cpus: RawCpu[] = numbered(cpuEntries, 'cpu').map((n) => readCpu(a, n));
  const nodeEntries = a.list(NODE_DIR);
  const nodes: RawNode[] = numbered(nodeEntries, 'node').map((id) => {
    const dir = `${NODE_DIR}/node${id}`;
    const entries = a.list(dir) ?? [];
    const have = new Set(entries);
    const get = (name: string) => (have.has(name) ? a.readTrim(`${dir}/${name}`) : null);
    const cpulist = get('cpulist');
    const cpumap = get('cpumap');
    let cpuLinks: number[] = [];
    if (cpulist === null && cpumap === null) {
      cpuLinks = numbered(entries, 'cpu');
      for (const c of cpuLinks) a.noteLink(`${dir}/cpu${c}`);
    }
    return {
      id,
      cpulist,
      cpumap,
      distance: get('distance'),
      meminfo: have.has('meminfo') ? a.read(`${dir}/meminfo`) : null,
      cpuLinks,
    };
  });
  const cpuinfo = a.read('proc/cpuinfo');
  const vulnDir = `${CPU_DIR}/vulnerabilities`;
  const vulnFiles = a.list(vulnDir);
  let vulnerabilities: Record<string, string> | null = null;
  if (vulnFiles) {
    vulnerabilities = {};
    for (const f of vulnFiles.sort()) {
      const t = a.readTrim(`${vulnDir}/${f}`);
      if (t !== null) vulnerabilities[f] = t;
    }
  }
  // The live CPU answers CPUID; a captured tree cannot (lscpu --sysroot cannot either), so its
  // hypervisor comes from /proc/xen, s390 sysinfo or PCI ids like lscpu's.
  const live = path.resolve(a.root) === '/';
  const hypervisorFlag = cpuinfo !== null && /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo);
  const xenEntries = a.list('proc/xen');
  const virtHints: VirtHints = {
    cpuidSignature: !hypervisorFlag ? null : live ? (loadNative()?.cpuidHypervisor?.() ?? null) : capturedCpuid(a),
    xenDir: xenEntries !== null,
    xenCapabilities: xenEntries?.includes('capabilities') ? a.read('proc/xen/capabilities') : null,
    sysinfo: a.read('proc/sysinfo'),
    pciDevices: a.read('proc/bus/pci/devices'),
  };
  return {
    root: a.root,
    vulnerabilities,
    virtHints,
    cpuinfo,
    selfStatus: a.read('proc/self/status'),
    cpuDir: cpuEntries !== null,
    cpuByteorder: a.readTrim('sys/kernel/cpu_byteorder'),
    possible: a.readTrim(`${CPU_DIR}/possible`),
    present: a.readTrim(`${CPU_DIR}/present`),
    online: a.readTrim(`${CPU_DIR}/online`),
    offline: a.readTrim(`${CPU_DIR}/offline`),
    isolated: a.readTrim(`${CPU_DIR}/isolated`),
    kernelMax: a.readTrim(`${CPU_DIR}/kernel_max`),
    cpus,
    nodeDir: nodeEntries !== null,
    nodes,
  };
}

function readCpu(a: TreeAccess, n: number): RawCpu {
  const dir = `${CPU_DIR}/cpu${n}`;
  const entries = a.list(dir) ?? [];
  let topology: Record<string, string> | null = null;
  if (entries.includes('topology')) {
    const names = a.list(`${dir}/topology`);
    if (names) {
      topology = {};
      for (const name of names.sort()) {
        const v = a.readTrim(`${dir}/topology/${name}`);
        if (v !== null) topology[name] = v;
      }
    }
  }
  const caches: RawCache[] = [];
  if (entries.includes('cache')) {
    for (const idx of (a.list(`${dir}/cache`) ?? []).filter((e) => /^index\d+$/.test(e)).sort()) {
      const c = `${dir}/cache/${idx}`;
      // List first and read only what exists: failed opens cost an exception each.
      const have = new Set(a.list(c) ?? []);
      const get = (name: string) => (have.has(name) ? a.readTrim(`${c}/${name}`) : null);
      caches.push({
        index: idx,
        level: get('level'),
        type: get('type'),
        size: get('size'),
        sharedCpuList: get('shared_cpu_list'),
        sharedCpuMap: get('shared_cpu_map'),
        id: get('id'),
      });
    }
  }
  const nodeLinks = numbered(entries, 'node');
  for (const k of nodeLinks) a.noteLink(`${dir}/node${k}`);
  // cpuN/cpufreq is usually a symlink to ../cpufreq/policyK; it may dangle in captured trees.
  const maxFreqKhz = entries.includes('cpufreq') ? a.readTrim(`${dir}/cpufreq/cpuinfo_max_freq`) : null;
  if (entries.includes('cpufreq')) a.noteLink(`${dir}/cpufreq`); // keep it in captures even when dangling
  return {
    cpu: n,
    online: entries.includes('online') ? a.readTrim(`${dir}/online`) : null,
    topology,
    caches,
    nodeLinks,
    maxFreqKhz,
    capacity: entries.includes('cpu_capacity') ? a.readTrim(`${dir}/cpu_capacity`) : null,
  };
}
