import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchGuest, type LaunchedGuest } from '../../src/guests/launch-guest.ts';
import { stopGuest } from '../../src/guests/stop-guest.ts';
import { kvmUsable } from '../../src/check/probe-kvm.ts';
import { qemuAvailable } from '../../src/qmp/start-qemu.ts';
import { writeSpinnerElf } from './spinner.ts';

/**
 * Test guests started through kvcpu's own launch code (daemonized QEMU, qboot, named threads,
 * QMP socket). Every guest is tracked so `stopAllTestGuests()` (afterAll) and a last-resort
 * exit hook kill exactly the processes the tests started, never anyone else's QEMU.
 */
export interface TestGuest extends LaunchedGuest {
  startTime: number;
  stop(): Promise<void>;
}

const started = new Map<number, TestGuest>();
let counter = 0;
let scratch: string | null = null;
let spinnerPath: string | null = null;

function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'kvcpu-e2e-guests-'));
  return scratch;
}

export function spinnerElf(): string {
  spinnerPath ??= writeSpinnerElf(scratchDir());
  return spinnerPath;
}

/** A name no other test process uses at the same time. */
export function uniqueGuestName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

function startTimeOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
}

export interface TestGuestOptions {
  prefix?: string;
  smp: string;
  accel?: string;
  cpu?: string;
  /** Boot the multiboot spinner so every vCPU busy-loops (psr becomes observable). */
  spin?: boolean;
  extraArgs?: string[];
}

export async function startTestGuest(o: TestGuestOptions): Promise<TestGuest> {
  const name = uniqueGuestName(o.prefix ?? 'kvt');
  const dir = mkdtempSync(join(scratchDir(), `${name}-`));
  const g = await launchGuest({
    name,
    smp: o.smp,
    cpu: o.cpu ?? 'qemu64',
    accel: o.accel ?? 'tcg',
    kernel: o.spin ? spinnerElf() : null,
    dir,
    ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
  });
  const startTime = startTimeOf(g.pid);
  const tg: TestGuest = {
    ...g,
    startTime,
    async stop() {
      await stopGuest(g.pid, { qmpSocket: g.qmpSocket, startTime, graceMs: 1000 });
      started.delete(g.pid);
    },
  };
  started.set(g.pid, tg);
  return tg;
}

/** Wait until the spinner reports `SPIN` plus one `a` per AP. */
export async function waitSpinning(g: TestGuest, vcpus: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let log = '';
    try {
      log = readFileSync(g.serialLog, 'latin1');
    } catch {
      // not created yet
    }
    const aps = log.replace('SPIN', '').split('a').length - 1;
    if (log.includes('SPIN') && aps >= vcpus - 1) return;
    if (Date.now() > end) throw new Error(`guest ${g.name} not spinning after ${timeoutMs} ms (serial: ${JSON.stringify(log)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Stop every guest this process started; resolves when all are gone from /proc. */
export async function stopAllTestGuests(): Promise<void> {
  await Promise.all([...started.values()].map((g) => g.stop()));
}

export function removeScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
  spinnerPath = null;
}

// Last resort if a test file dies without afterAll: never leave QEMU behind.
process.on('exit', () => {
  for (const g of started.values()) {
    try {
      if (startTimeOf(g.pid) === g.startTime) process.kill(g.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

export const qemuPresent = qemuAvailable();
export const kvmPresent = qemuPresent && (await kvmUsable());
export const KVM_SKIP_REASON = '/dev/kvm is absent or unusable on this machine (KVM_CREATE_VM probe failed): KVM cases skipped, TCG cases cover the same code';

/**
 * A plain QEMU guest as an admin might start one by hand: no `debug-threads=on`, no QMP socket
 * (every thread is called `qemu-system-x86`), qboot, halted vCPUs. Tracked like the others.
 */
export async function startBareGuest(o: { prefix?: string; args: string[] }): Promise<TestGuest> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const name = uniqueGuestName(o.prefix ?? 'kvt-bare');
  const dir = mkdtempSync(join(scratchDir(), `${name}-`));
  const pidfile = join(dir, 'qemu.pid');
  const args = [
    '-name',
    name,
    '-nodefaults',
    '-display',
    'none',
    '-m',
    '16',
    '-bios',
    '/usr/share/qemu/qboot.rom',
    '-daemonize',
    '-pidfile',
    pidfile,
    ...o.args,
  ];
  await promisify(execFile)('qemu-system-x86_64', args, { timeout: 30_000 });
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  const startTime = startTimeOf(pid);
  const tg: TestGuest = {
    pid,
    name,
    dir,
    qmpSocket: '',
    pidfile,
    serialLog: '',
    args: ['qemu-system-x86_64', ...args],
    startTime,
    async stop() {
      await stopGuest(pid, { startTime, graceMs: 1000 });
      started.delete(pid);
    },
  };
  started.set(pid, tg);
  return tg;
}
