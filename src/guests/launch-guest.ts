import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KvcpuError } from '../core/errors.ts';

const execFileP = promisify(execFile);

export const QBOOT_ROM = '/usr/share/qemu/qboot.rom';

export interface LaunchOptions {
  name: string;
  smp: string;
  cpu: string;
  accel: string;
  /** Multiboot ELF for -kernel (no kernel: vCPUs halt in qboot). */
  kernel?: string | null;
  /** Firmware: defaults to qboot when installed (never runs slow BIOS code), else QEMU's default. */
  bios?: string | null;
  memoryMiB?: number;
  /** Directory for qmp.sock, qemu.pid and serial.log (default: a new temp dir). */
  dir?: string;
  extraArgs?: string[];
  binary?: string;
  timeoutMs?: number;
}

export interface LaunchedGuest {
  pid: number;
  name: string;
  dir: string;
  qmpSocket: string;
  pidfile: string;
  serialLog: string;
  args: string[];
}

/** Names go into QEMU's -name option: keep to characters QemuOpts and file names take as-is. */
export function checkGuestName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/.test(name)) {
    throw new KvcpuError('E_BAD_INPUT', `guest name "${name}" is not allowed`, { hint: 'use letters, digits, and . _ + - (max 64)' });
  }
}

/** The QEMU command line kvcpu launch runs (pure). */
export function buildLaunchArgs(o: LaunchOptions, dir: string): string[] {
  const bios = o.bios === undefined ? (existsSync(QBOOT_ROM) ? QBOOT_ROM : null) : o.bios;
  return [
    // debug-threads=on names threads `CPU n/KVM|TCG`, `IO id`: what ps/pin classify by.
    '-name',
    `guest=${o.name},debug-threads=on`,
    '-accel',
    o.accel,
    '-cpu',
    o.cpu,
    '-smp',
    o.smp,
    '-m',
    String(o.memoryMiB ?? 16),
    '-nodefaults',
    '-display',
    'none',
    ...(bios ? ['-bios', bios] : []),
    ...(o.kernel ? ['-kernel', resolve(o.kernel)] : []),
    '-serial',
    `file:${join(dir, 'serial.log')}`,
    '-qmp',
    `unix:${join(dir, 'qmp.sock')},server=on,wait=off`,
    // -daemonize: the guest outlives kvcpu; QEMU's parent exits only once the child is
    // initialised (os-posix.c os_daemonize), so the QMP socket exists when execFile returns.
    '-daemonize',
    '-pidfile',
    join(dir, 'qemu.pid'),
    ...(o.extraArgs ?? []),
  ];
}

/** Start a daemonized QEMU guest and return where it lives. */
export async function launchGuest(o: LaunchOptions): Promise<LaunchedGuest> {
  checkGuestName(o.name);
  // -daemonize chdir()s to /, so every path handed to QEMU must be absolute.
  const dir = resolve(o.dir ?? mkdtempSync(join(tmpdir(), `kvcpu-${o.name}-`)));
  mkdirSync(dir, { recursive: true });
  const args = buildLaunchArgs(o, dir);
  const binary = o.binary ?? 'qemu-system-x86_64';
  try {
    await execFileP(binary, args, { timeout: o.timeoutMs ?? 30_000 });
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string };
    if (err.code === 'ENOENT') {
      throw new KvcpuError('E_QEMU_MISSING', `${binary} is not installed`, { hint: 'apt-get install qemu-system-x86' });
    }
    throw new KvcpuError('E_QEMU_FAILED', `QEMU failed to start guest ${o.name}: ${String(err.stderr ?? (e as Error).message).trim()}`, {
      hint: o.accel.startsWith('kvm') ? 'check /dev/kvm (kvcpu check) or use --accel tcg' : 'check the options passed after --',
      details: { args },
    });
  }
  const pidfile = join(dir, 'qemu.pid');
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  return { pid, name: o.name, dir, qmpSocket: join(dir, 'qmp.sock'), pidfile, serialLog: join(dir, 'serial.log'), args: [binary, ...args] };
}
