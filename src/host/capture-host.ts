import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadNative } from '../io/native.ts';
import os from 'node:os';
import path from 'node:path';
import { KvcpuError } from '../core/errors.ts';
import { readHostTraced } from './read-host.ts';
import { TreeCopier } from './tree-copier.ts';

export interface CaptureOptions {
  /** Where to read from (default "/"). */
  root?: string;
  /** Destination directory (created; must be empty unless `force`). */
  dir: string;
  force?: boolean;
  /** kvcpu version written to capture.json. */
  version: string;
  /** Clock for capture.json (tests). */
  now?: Date;
}

/** capture.json: where and when the tree was taken (like the reference captures' SOURCE.md). */
export interface CaptureInfo {
  format: 'kvcpu-capture/1';
  hostname: string | null;
  date: string;
  kernel: string | null;
  procVersion: string | null;
  arch: string;
  kvcpuVersion: string;
  root: string;
  files: number;
  /** CPUID 0x40000000 vendor signature of the captured host (live captures of a guest), else null. */
  cpuidHypervisor?: string | null;
  links: number;
  markers: number;
  skipped: string[];
}

function readOpt(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * Copy the /proc and /sys files kvcpu reads (the host reader's exact file set, traced while
 * it reads, plus what `kvcpu check` looks at) from `root` into `dir`, keeping relative paths
 * and symlinks, in the spirit of util-linux's tests/ts/lscpu/mk-input.sh. The copy can then
 * be read back with `--root dir`.
 */
export function captureHost(opts: CaptureOptions): CaptureInfo {
  const root = path.resolve(opts.root ?? '/');
  const dir = path.resolve(opts.dir);
  if (dir === root || dir.startsWith(root === '/' ? '/proc/' : `${root}/proc/`) || dir.startsWith(root === '/' ? '/sys/' : `${root}/sys/`)) {
    throw new KvcpuError('E_BAD_INPUT', `capture directory ${dir} is inside the tree being captured`, {
      hint: 'capture into a fresh directory such as /tmp/host-capture',
    });
  }
  if (existsSync(dir) && list(dir).length > 0 && !opts.force) {
    throw new KvcpuError('E_BAD_INPUT', `capture directory ${dir} is not empty`, { hint: 'pass an empty or new directory, or --force to add to it' });
  }
  // Reading first also validates the root (E_SYSFS_MISSING / E_PROCFS_MISSING).
  const { snapshot, access } = readHostTraced({ root });
  mkdirSync(dir, { recursive: true });
  const c = new TreeCopier(root, dir);
  const abs = (rel: string) => path.join(root, rel);

  // 1. Exactly what the host reader used.
  for (const d of [...access.dirs].sort()) c.dir(d);
  for (const f of [...access.files].sort()) c.file(f);
  for (const l of [...access.links].sort()) c.link(l);

  // 2. What `kvcpu check` reads (src/check): kernel identity and cmdline, KVM modules,
  //    IOMMU presence, SR-IOV functions, NIC queues.
  for (const f of ['proc/cmdline', 'proc/version', 'proc/sys/kernel/osrelease', 'proc/sys/kernel/hostname', 'proc/misc', 'proc/self/mountinfo']) c.file(f);
  // Arguments after `--` go to init, not the kernel (Documentation/admin-guide/kernel-parameters.rst);
  // they can carry service addresses or tokens and no check needs them: keep kernel parameters only.
  const cmdline = readOpt(abs('proc/cmdline'));
  if (cmdline !== null && /(^|\s)--(\s|$)/.test(cmdline)) {
    writeFileSync(path.join(dir, 'proc/cmdline'), cmdline.split(/(?:^|\s)--(?:\s|$)/)[0]!.trim() + '\n');
  }
  for (const f of ['nohz_full', 'isolated', 'smt/active', 'smt/control', 'modalias']) c.file(`sys/devices/system/cpu/${f}`);
  for (const m of list(abs('sys/module')).filter((n) => /^kvm/.test(n))) {
    c.dir(`sys/module/${m}`);
    for (const p of list(abs(`sys/module/${m}/parameters`))) c.file(`sys/module/${m}/parameters/${p}`);
    for (const f of ['initstate', 'refcnt', 'version']) c.file(`sys/module/${m}/${f}`);
  }
  if (existsSync(abs('sys/class/iommu'))) {
    c.dir('sys/class/iommu');
    for (const e of list(abs('sys/class/iommu'))) c.link(`sys/class/iommu/${e}`);
  }
  if (existsSync(abs('sys/kernel/iommu_groups'))) {
    c.dir('sys/kernel/iommu_groups');
    for (const g of list(abs('sys/kernel/iommu_groups'))) c.dir(`sys/kernel/iommu_groups/${g}`); // names only
  }
  for (const t of ['DMAR', 'IVRS']) c.marker(`sys/firmware/acpi/tables/${t}`);
  for (const dev of list(abs('sys/bus/pci/devices'))) {
    const base = `sys/bus/pci/devices/${dev}`;
    if (!existsSync(abs(`${base}/sriov_totalvfs`))) continue;
    for (const f of ['sriov_totalvfs', 'sriov_numvfs', 'vendor', 'device', 'class', 'numa_node']) c.file(`${base}/${f}`);
    c.link(`${base}/driver`);
    for (const n of list(abs(`${base}/net`))) c.dir(`${base}/net/${n}`);
  }
  for (const n of list(abs('sys/class/net'))) {
    const base = `sys/class/net/${n}`;
    c.link(base);
    c.link(`${base}/device`);
    c.link(`${base}/device/driver`);
    for (const q of list(abs(`${base}/queues`))) c.dir(`${base}/queues/${q}`);
  }

  const live = root === '/';
  const info: CaptureInfo = {
    format: 'kvcpu-capture/1',
    hostname: readOpt(abs('proc/sys/kernel/hostname')) ?? (live ? os.hostname() : null),
    date: (opts.now ?? new Date()).toISOString(),
    kernel: readOpt(abs('proc/sys/kernel/osrelease')),
    procVersion: readOpt(abs('proc/version')),
    arch: snapshot.arch,
    kvcpuVersion: opts.version,
    root,
    files: c.files,
    links: c.links,
    markers: c.markers,
    skipped: c.skipped,
    // CPUID is no file: keep its hypervisor answer so the capture reads back like the host.
    cpuidHypervisor: live && snapshot.cpu.hypervisorFlag ? (loadNative()?.cpuidHypervisor?.() ?? null) : null,
  };
  writeFileSync(path.join(dir, 'capture.json'), JSON.stringify(info, null, 2) + '\n');
  return info;
}
