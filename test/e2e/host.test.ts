// A real Linux kernel as the oracle for kvcpu's host reader: boot Debian's kernel under QEMU
// (TCG) with a known -smp/-numa topology, have the guest's /init print its own /proc/cpuinfo and
// /sys/devices/system/{cpu,node} files on the serial port, rebuild that tree on the host and
// read it with readHost({root}). What QEMU was told to build must come back out.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { readHost } from '../../src/host/read-host.ts';
import type { HostSnapshot } from '../../src/host/types.ts';
import { qemuAvailable } from '../../src/qmp/start-qemu.ts';
import { buildBusyboxInitramfs, ensureLinuxGuest, GUEST_INIT_PROLOGUE, linuxGuestCacheDir, LinuxGuestUnavailable } from '../support/linux-guest.ts';

// Each file becomes `KVF <path>`, its lines `KVL <line>`, then `KVE`; symlinks `KVS <path> <target>`.
const INIT = `${GUEST_INIT_PROLOGUE}dump() { [ -f "$1" ] || return 0; echo "KVF $1"; sed 's/^/KVL /' "$1"; echo KVE; }
C=/sys/devices/system/cpu
for f in /proc/cpuinfo $C/online $C/possible $C/present $C/offline $C/kernel_max $C/isolated; do dump $f; done
for d in $C/cpu[0-9]*; do
  dump $d/online
  for f in $d/topology/*; do dump $f; done
  for i in $d/cache/index*; do for f in level type size shared_cpu_map shared_cpu_list id; do dump $i/$f; done; done
  for l in $d/node*; do [ -L $l ] && echo "KVS $l $(readlink $l)"; done
done
for n in /sys/devices/system/node/node[0-9]*; do for f in cpulist cpumap distance meminfo; do dump $n/$f; done; done
echo KVCPU-DONE
poweroff -f
`;

/** Rebuild the files printed by INIT under `root`. */
function rebuildTree(serial: string, root: string): number {
  let file: string | null = null;
  let lines: string[] = [];
  let n = 0;
  for (const raw of serial.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('KVF ')) {
      file = line.slice(4).trim();
      lines = [];
    } else if (line.startsWith('KVL ') && file !== null) {
      lines.push(line.slice(4));
    } else if (line === 'KVL' && file !== null) {
      lines.push('');
    } else if (line === 'KVE' && file !== null) {
      const out = join(root, file);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, lines.map((l) => `${l}\n`).join(''));
      file = null;
      n++;
    } else if (line.startsWith('KVS ')) {
      const [, path, target] = line.split(' ');
      const out = join(root, path!);
      mkdirSync(dirname(out), { recursive: true });
      symlinkSync(target!, out);
    }
  }
  return n;
}

async function bootAndDump(args: string[], append = '', timeoutMs = 150_000): Promise<string> {
  const { kernel } = await ensureLinuxGuest();
  const busybox = readFileSync(join(linuxGuestCacheDir, 'busybox'));
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-host-e2e-'));
  const initrd = join(dir, 'initrd.cpio.gz');
  writeFileSync(initrd, buildBusyboxInitramfs(INIT, busybox));
  const log = join(dir, 'serial.log');
  const qboot = '/usr/share/qemu/qboot.rom';
  const child = spawn(
    'qemu-system-x86_64',
    [
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      // One host thread for all vCPUs: at most one spinning CPU on this 2-CPU machine.
      '-accel',
      'tcg,thread=single',
      '-machine',
      'q35',
      ...(existsSync(qboot) ? ['-bios', qboot] : []),
      '-kernel',
      kernel,
      '-initrd',
      initrd,
      '-append',
      `console=ttyS0 quiet panic=-1 mitigations=off ${append}`.trim(),
      '-serial',
      `file:${log}`,
      '-monitor',
      'none',
      '-no-reboot',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const readLog = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  const started = Date.now();
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      if (child.exitCode !== null || child.signalCode !== null) break;
      if (readLog().includes('KVCPU-DONE')) {
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        break;
      }
      if (Date.now() - started > timeoutMs) throw new Error(`guest did not finish in ${timeoutMs} ms; stderr: ${stderr}\n${readLog().slice(-1500)}`);
    }
    const out = readLog();
    if (!out.includes('KVCPU-DONE')) throw new Error(`guest ended without KVCPU-DONE; stderr: ${stderr}\n${out.slice(-1500)}`);
    return out;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const haveQemu = qemuAvailable();
if (!haveQemu) console.warn('host e2e skipped: qemu-system-x86_64 not installed');

/**
 * In a describe: boot the guest once (beforeAll), rebuild its dumped tree and read it with
 * readHost; afterAll removes the tree and checks no QEMU child is left. `skip` is set when the
 * Linux test guest cannot be had (no network for apt-get download).
 */
function guestTreeSnapshot(qemuArgs: string[], cmdline?: string): { snap: HostSnapshot | null; skip: string } {
  const root = mkdtempSync(join(tmpdir(), 'kvcpu-guest-tree-'));
  const state: { snap: HostSnapshot | null; skip: string } = { snap: null, skip: '' };
  beforeAll(async () => {
    try {
      const serial = await bootAndDump(qemuArgs, cmdline);
      expect(rebuildTree(serial, root)).toBeGreaterThan(20);
      state.snap = readHost({ root });
    } catch (e) {
      if (e instanceof LinuxGuestUnavailable) state.skip = e.message;
      else throw e;
    }
  }, 200_000);
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    const r = spawnSync('pgrep', ['-P', String(process.pid), 'qemu-system'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('');
  });
  return state;
}

describe.skipIf(!haveQemu)('readHost on a real guest kernel’s /proc and /sys (QEMU TCG)', () => {
  // 2 sockets x 2 cores x 2 threads, two NUMA nodes (one per socket). An Intel vendor:
  // Linux ignores SMT on AMD CPUs without topoext, which qemu64 lacks.
  const guest = guestTreeSnapshot([
    '-cpu',
    'qemu64,vendor=GenuineIntel',
    '-smp',
    '8,sockets=2,cores=2,threads=2',
    '-m',
    '256',
    '-object',
    'memory-backend-ram,id=m0,size=128M',
    '-object',
    'memory-backend-ram,id=m1,size=128M',
    '-numa',
    'node,nodeid=0,cpus=0-3,memdev=m0',
    '-numa',
    'node,nodeid=1,cpus=4-7,memdev=m1',
  ]);

  it('finds the sockets, cores and threads QEMU was told to build', (ctx) => {
    if (guest.skip) ctx.skip();
    const s = guest.snap!;
    expect(s.arch).toBe('x86_64');
    expect(s.cpus.online).toBe('0-7');
    expect(s.topology).toMatchObject({ sockets: 2, cores: 4, threadsPerCore: 2, threadsPerCoreMin: 2, coresPerSocket: 2, smt: true, dies: 2 });
    // QEMU numbers CPUs socket-major, then core, then thread (hw/i386/x86.c x86_topo_ids_from_idx).
    expect(s.topology.packages.map((p) => p.cpus)).toEqual(['0-3', '4-7']);
    expect(s.topology.coreGroups).toEqual(['0-1', '2-3', '4-5', '6-7']);
    expect(s.perCpu.map((r) => r.node)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(s.numa.nodes.map((n) => [n.id, n.cpus])).toEqual([
      [0, '0-3'],
      [1, '4-7'],
    ]);
    expect(s.numa.nodes[0]!.distances).toEqual([10, 20]);
    expect(s.numa.nodes[0]!.memoryKb).toBeGreaterThan(64 * 1024);
    expect(s.cpu).toMatchObject({ vendor: 'GenuineIntel', hybrid: false, modelNames: [expect.stringMatching(/QEMU Virtual CPU/)] });
    // The qemu64 model advertises SVM (target/i386/cpu.c builtin_x86_defs), whatever the vendor.
    expect(s.cpu.flags).toContain('svm');
    expect(s.cpu.hwVirtualization).toBe('svm');
    // L3 (QEMU's CPUID leaf 4, when the machine exposes one) never spans sockets.
    for (const d of s.topology.l3Domains) {
      const cpus = parseCpulist(d);
      expect(s.topology.packages.some((p) => cpus.every((c) => parseCpulist(p.cpus).includes(c)))).toBe(true);
    }
  });
});

describe.skipIf(!haveQemu)('readHost on a guest kernel with offline and isolated CPUs', () => {
  // maxcpus=3: CPU3 is present but never brought online (Documentation/admin-guide/kernel-parameters.txt).
  const guest = guestTreeSnapshot(['-cpu', 'qemu64', '-smp', '4,sockets=1,cores=4', '-m', '256'], 'maxcpus=3 isolcpus=1');

  it('counts the present-but-offline CPU as offline and keeps it out of the topology', (ctx) => {
    if (guest.skip) ctx.skip();
    const s = guest.snap!;
    expect(s.cpus).toMatchObject({ online: '0-2', offline: '3', present: '0-3', isolated: '1' });
    expect(s.topology).toMatchObject({ sockets: 1, cores: 3, threadsPerCore: 1 });
    expect(s.perCpu.find((r) => r.cpu === 3)).toMatchObject({ online: false, core: null });
    // A kernel without CONFIG_NUMA-visible nodes still has node0 on Debian (CONFIG_NUMA=y).
    expect(s.perCpu.filter((r) => r.online).map((r) => r.node)).toEqual([0, 0, 0]);
  });
});
