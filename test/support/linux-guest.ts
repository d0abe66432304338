/**
 * A real Linux guest for end-to-end tests: Debian's kernel + a busybox initramfs whose /init
 * prints what the guest itself sees (sysfs CPU topology, online CPUs, cpuinfo flags) on the
 * serial port and powers off. Boots under TCG (Linux does not boot under KVM on these machines,
 * see notes/qemu-on-these-machines.md §8) in roughly 5-10 s.
 *
 * Kernel and busybox come from Debian packages fetched with `apt-get download` into
 * `.cache/linux-guest/` (gitignored); nothing else is needed (the cpio archive is written in TS).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInitramfs } from './linux-guest/cpio.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the packages, the extracted kernel and the initramfs are kept between runs. */
export const linuxGuestCacheDir = process.env.KVCPU_LINUX_GUEST_CACHE ?? join(repoRoot, '.cache/linux-guest');

/** Thrown when no kernel/busybox can be obtained (no apt, no network): tests skip on it. */
export class LinuxGuestUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinuxGuestUnavailable';
  }
}

// The guest's /init. Lines start with GUEST- so they can be told apart from kernel messages
// that share the serial port. `poweroff -f` makes the kernel power off via ACPI, and QEMU
// exits; panic=-1 + -no-reboot make QEMU exit too if /init ever dies.
/** Start of every test guest's /init: mount /proc and /sys, busybox applets, output to the console. */
export const GUEST_INIT_PROLOGUE = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox --install -s /bin
export PATH=/bin
exec >/dev/console 2>&1
`;

const INIT_SCRIPT = `${GUEST_INIT_PROLOGUE}for d in /sys/devices/system/cpu/cpu[0-9]*; do
  t=$d/topology
  on=1
  [ -f $d/online ] && on=$(cat $d/online)
  if [ -d $t ]; then
    echo "GUEST-CPU \${d##*/} pkg=$(cat $t/physical_package_id) die=$(cat $t/die_id 2>/dev/null || echo -1) cluster=$(cat $t/cluster_id 2>/dev/null || echo -1) core=$(cat $t/core_id) sib=$(cat $t/thread_siblings_list) online=$on"
  else
    echo "GUEST-CPU \${d##*/} online=$on"
  fi
done
for n in /sys/devices/system/node/node[0-9]*; do
  [ -d $n ] && echo "GUEST-NODE \${n##*/} cpus=$(cat $n/cpulist)"
done
echo "GUEST-ONLINE $(cat /sys/devices/system/cpu/online)"
echo "GUEST-PRESENT $(cat /sys/devices/system/cpu/present)"
echo "GUEST-POSSIBLE $(cat /sys/devices/system/cpu/possible)"
echo "GUEST-FLAGS $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)"
echo "GUEST-MODEL $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2)"
echo GUEST-DONE
poweroff -f
`;

function run(cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function findDeb(dir: string, prefix: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.deb'))
    .sort()
    .at(-1);
}

/** The versioned kernel package the `linux-image-amd64` metapackage points at. */
function kernelPackageName(): string | undefined {
  const r = run('apt-cache', ['depends', 'linux-image-amd64']);
  return /Depends:\s*(linux-image-[0-9][^\s]*-amd64)/.exec(r.out)?.[1];
}

/** apt-get download the kernel and busybox-static into the cache (apt-get update once if needed). */
function downloadDebs(dir: string): void {
  const attempt = (): string | null => {
    const kernel = kernelPackageName();
    if (!kernel) return 'apt-cache knows no linux-image-amd64 (no Debian package lists?)';
    const want = [findDeb(dir, 'linux-image-') ? null : kernel, findDeb(dir, 'busybox-static_') ? null : 'busybox-static'];
    const pkgs = want.filter((p): p is string => p !== null);
    if (pkgs.length === 0) return null;
    const r = run('apt-get', ['download', ...pkgs], dir);
    return r.ok ? null : `apt-get download ${pkgs.join(' ')} failed: ${r.out.trim().split('\n').slice(-2).join(' | ')}`;
  };
  if (!run('sh', ['-c', 'command -v apt-get && command -v dpkg-deb']).ok) {
    throw new LinuxGuestUnavailable('apt-get/dpkg-deb not found: cannot fetch a Debian kernel and busybox');
  }
  let err = attempt();
  if (err && process.getuid?.() === 0) {
    // Fresh CI images have empty package lists: refresh them once and retry.
    run('apt-get', ['update', '-qq']);
    err = attempt();
  }
  if (err) throw new LinuxGuestUnavailable(err);
}

/** Extract one member (a tar path glob) of a .deb's data archive into `dest`. */
function extractFromDeb(deb: string, member: string, dest: string): void {
  const r = run('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "$3"`, 'sh', deb, dest, member]);
  if (!r.ok) throw new LinuxGuestUnavailable(`extracting ${member} from ${deb} failed: ${r.out.trim()}`);
}

let ensured: Promise<{ kernel: string; initrd: string }> | undefined;

/**
 * Make sure a bootable kernel and the test initramfs exist in the cache and return their paths.
 * Downloads the Debian packages on first use. Throws LinuxGuestUnavailable when that is impossible.
 */
export function ensureLinuxGuest(): Promise<{ kernel: string; initrd: string }> {
  ensured ??= Promise.resolve().then(() => {
    const dir = linuxGuestCacheDir;
    mkdirSync(dir, { recursive: true });
    const kernel = join(dir, 'vmlinuz');
    const busybox = join(dir, 'busybox');
    if (!existsSync(kernel) || !existsSync(busybox)) {
      downloadDebs(dir);
      const tmp = mkdtempSync(join(dir, 'x-'));
      try {
        if (!existsSync(kernel)) {
          extractFromDeb(join(dir, findDeb(dir, 'linux-image-')!), './boot/vmlinuz-*', tmp);
          const v = readdirSync(join(tmp, 'boot')).find((f) => f.startsWith('vmlinuz-'));
          if (!v) throw new LinuxGuestUnavailable('the kernel package holds no /boot/vmlinuz-*');
          renameSync(join(tmp, 'boot', v), kernel);
        }
        if (!existsSync(busybox)) {
          extractFromDeb(join(dir, findDeb(dir, 'busybox-static_')!), './bin/busybox', tmp);
          renameSync(join(tmp, 'bin', 'busybox'), busybox);
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    const bb = readFileSync(busybox);
    const stamp = createHash('sha256').update(INIT_SCRIPT).update(bb).digest('hex').slice(0, 12);
    const initrd = join(dir, `initrd-${stamp}.cpio.gz`);
    if (!existsSync(initrd)) {
      const img = buildBusyboxInitramfs(INIT_SCRIPT, bb);
      writeFileSync(initrd + '.tmp', img);
      renameSync(initrd + '.tmp', initrd);
      // Initramfs images of older /init scripts are dead weight now.
      for (const f of readdirSync(dir)) if (/^initrd-[0-9a-f]+\.cpio\.gz$/.test(f) && join(dir, f) !== initrd) rmSync(join(dir, f), { force: true });
    }
    return { kernel, initrd };
  });
  ensured.catch(() => {
    ensured = undefined; // a later call may retry (e.g. after the network came back)
  });
  return ensured;
}

/** A gzip'd initramfs with a static busybox as /bin/sh and `init` as /init (a busybox sh script). */
export function buildBusyboxInitramfs(init: string, busybox: Buffer): Buffer {
  return buildInitramfs([
    { type: 'dir', name: 'bin' },
    { type: 'dir', name: 'dev' },
    { type: 'dir', name: 'proc' },
    { type: 'dir', name: 'sys' },
    { type: 'chardev', name: 'dev/console', major: 5, minor: 1 },
    { type: 'file', name: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'symlink', name: 'bin/sh', target: 'busybox' },
    { type: 'file', name: 'init', data: init, mode: 0o755 },
  ]);
}

/** One `GUEST-CPU` line: the guest kernel's sysfs topology of one CPU. */
export interface GuestCpu {
  cpu: number;
  online: boolean;
  /** physical_package_id, die_id, cluster_id, core_id (-1 when absent). */
  pkg: number;
  die: number;
  cluster: number;
  core: number;
  /** thread_siblings_list. */
  siblings: string;
}

export interface LinuxGuestResult {
  cpus: GuestCpu[];
  /** /sys/devices/system/cpu/online, present, possible as the guest reports them. */
  online: string;
  present: string;
  possible: string;
  /** Guest NUMA nodes (/sys/devices/system/node/nodeN/cpulist); one node when the guest has no NUMA. */
  nodes: { node: number; cpus: string }[];
  /** cpu0's /proc/cpuinfo flags. */
  flags: string[];
  modelName: string;
  /** The whole serial log (kernel messages included). */
  raw: string;
  /** What QEMU printed on stderr (warnings such as the AMD hyper-threading one). */
  stderr: string;
  durationMs: number;
}

export interface BootLinuxGuestOptions {
  /** `-smp` arguments, e.g. ['-smp', '4,sockets=2,cores=2']. */
  smpArgs: string[];
  /** `-cpu` model (default qemu64). Use an Intel vendor when threads > 1: AMD models hide SMT. */
  cpu?: string;
  /** `-machine` type (default q35). */
  machine?: string;
  /** Kill QEMU and fail after this long (default 90 s). */
  timeoutMs?: number;
  memoryMb?: number;
  /** More QEMU arguments (e.g. -numa). */
  extraArgs?: string[];
  /** More kernel command-line parameters. */
  append?: string;
  /** `-accel` value. Default 'tcg,thread=single': one host thread for all vCPUs boots faster on a busy 2-CPU machine (14 s vs 28 s at load 16) and never spins more than one host CPU. */
  accel?: string;
  binary?: string;
}

/** Parse the serial log of the test initramfs. Exported for unit tests. */
export function parseGuestLog(raw: string): Omit<LinuxGuestResult, 'raw' | 'stderr' | 'durationMs'> {
  const cpus: GuestCpu[] = [];
  let online = '';
  let present = '';
  let possible = '';
  let flags: string[] = [];
  let modelName = '';
  const nodes: { node: number; cpus: string }[] = [];
  for (const line of raw.split(/\r?\n/)) {
    const m = /GUEST-([A-Z]+)(?: (.*))?$/.exec(line);
    if (!m) continue;
    const rest = (m[2] ?? '').trim();
    switch (m[1]) {
      case 'CPU': {
        const [name, ...kv] = rest.split(/\s+/);
        const f = Object.fromEntries(kv.map((p) => p.split('=') as [string, string]));
        const num = (k: string) => (f[k] === undefined ? -1 : Number(f[k]));
        cpus.push({
          cpu: Number(/^cpu(\d+)$/.exec(name ?? '')?.[1] ?? NaN),
          online: f.online !== '0',
          pkg: num('pkg'),
          die: num('die'),
          cluster: num('cluster'),
          core: num('core'),
          siblings: f.sib ?? '',
        });
        break;
      }
      case 'NODE': {
        const m2 = /^node(\d+) cpus=(.*)$/.exec(rest);
        if (m2) nodes.push({ node: Number(m2[1]), cpus: m2[2]!.trim() });
        break;
      }
      case 'ONLINE':
        online = rest;
        break;
      case 'PRESENT':
        present = rest;
        break;
      case 'POSSIBLE':
        possible = rest;
        break;
      case 'FLAGS':
        flags = rest.split(/\s+/).filter(Boolean);
        break;
      case 'MODEL':
        modelName = rest;
        break;
    }
  }
  cpus.sort((a, b) => a.cpu - b.cpu);
  nodes.sort((a, b) => a.node - b.node);
  return { cpus, online, present, possible, nodes, flags, modelName };
}

/** The topology the guest sees, counted from its sysfs (online CPUs only). */
export interface GuestSeenTopology {
  sockets: number;
  diesPerSocket: number;
  coresPerDie: number;
  threadsPerCore: number;
  cpus: number;
}

export function summarizeGuestTopology(cpus: GuestCpu[]): GuestSeenTopology {
  const on = cpus.filter((c) => c.online && c.pkg >= 0);
  const pkgs = new Set(on.map((c) => c.pkg));
  const dies = new Set(on.map((c) => `${c.pkg}/${c.die}`));
  // Linux x86 core_id is relative to its die (arch/x86/kernel/cpu/topology.c), so a core is
  // identified by package, die and core_id.
  const cores = new Set(on.map((c) => `${c.pkg}/${c.die}/${c.core}`));
  const threads = Math.max(0, ...on.map((c) => countCpulist(c.siblings)));
  return {
    sockets: pkgs.size,
    diesPerSocket: pkgs.size ? dies.size / pkgs.size : 0,
    coresPerDie: dies.size ? cores.size / dies.size : 0,
    threadsPerCore: threads,
    cpus: on.length,
  };
}

function countCpulist(list: string): number {
  let n = 0;
  for (const part of list.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

/**
 * Boot the guest with the given topology under TCG and return what it reported. QEMU is always
 * gone when this returns or throws (killed on timeout, and waited for).
 */
export async function bootLinuxGuest(opts: BootLinuxGuestOptions): Promise<LinuxGuestResult> {
  const { kernel, initrd } = await ensureLinuxGuest();
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-linux-guest-'));
  const log = join(dir, 'serial.log');
  const qboot = '/usr/share/qemu/qboot.rom';
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-accel',
    opts.accel ?? 'tcg,thread=single',
    '-machine',
    opts.machine ?? 'q35',
    '-cpu',
    opts.cpu ?? 'qemu64',
    ...opts.smpArgs,
    '-m',
    String(opts.memoryMb ?? 256),
    ...(existsSync(qboot) ? ['-bios', qboot] : []),
    '-kernel',
    kernel,
    '-initrd',
    initrd,
    '-append',
    `console=ttyS0 quiet panic=-1${opts.append ? ` ${opts.append}` : ''}`,
    '-serial',
    `file:${log}`,
    '-monitor',
    'none',
    '-no-reboot',
    ...(opts.extraArgs ?? []),
  ];
  const started = Date.now();
  const child = spawn(opts.binary ?? 'qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<number | null>((res) => {
    child.on('exit', (code) => res(code));
    child.on('error', (e) => {
      stderr += String(e);
      res(-1);
    });
  });
  const readLog = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  const timeoutMs = opts.timeoutMs ?? 90_000;
  try {
    let exitCode: number | null | undefined;
    let doneAt: number | undefined;
    void exited.then((c) => (exitCode = c));
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      if (exitCode !== undefined) break;
      const now = Date.now();
      if (doneAt === undefined && readLog().includes('GUEST-DONE')) doneAt = now;
      // poweroff normally ends QEMU at once; do not wait long if the guest hangs after it.
      if (doneAt !== undefined && now - doneAt > 3000) break;
      if (now - started > timeoutMs) {
        throw new Error(
          `Linux guest did not finish within ${timeoutMs} ms (${opts.smpArgs.join(' ')}).\nserial:\n${readLog().slice(-2000)}\nstderr:\n${stderr}`,
        );
      }
    }
    const raw = readLog();
    if (!raw.includes('GUEST-DONE')) {
      throw new Error(`Linux guest exited (status ${exitCode}) without GUEST-DONE (${args.join(' ')}).\nstderr:\n${stderr}\nserial:\n${raw.slice(-2000)}`);
    }
    return { ...parseGuestLog(raw), raw, stderr, durationMs: Date.now() - started };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  }
}
