/**
 * No shell anywhere (issue 15 part 4): guests named `$(touch /tmp/...)` and `../../x` go through
 * ps, pin (taskset/sched_setaffinity, cgroup-free), unpin, hotplug, stop, launch and the state
 * directory. Nothing may run (the marker file never appears) and no path may escape (state
 * files are named by pid + start time only; launch refuses such names).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { buildLaunchArgs } from '../../src/guests/launch-guest.ts';
import { stopGuest } from '../../src/guests/stop-guest.ts';
import { readHost } from '../../src/host/read-host.ts';
import { qemuPresent } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const online = parseCpulist(readHost().cpus.online);
const work = mkdtempSync(path.join(tmpdir(), 'kvcpu-noshell-'));
const stateDir = path.join(work, 'a', 'b', 'state');
process.env.KVCPU_STATE_DIR = stateDir;
const marker = `/tmp/kvt-harden-pwned-${process.pid}`;
const NAMES = [`$(touch ${marker})`, '../../kvt-harden-x', `\`touch ${marker}\`;touch ${marker}`];

interface Started {
  name: string;
  pid: number;
  startTime: number;
  qmp: string;
}
const started: Started[] = [];

function startRaw(name: string, i: number): Started {
  // kvcpu launch refuses these names, so start QEMU directly (execFile: no shell either).
  const dir = path.join(work, `g${i}`);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('qemu-system-x86_64', buildLaunchArgs({ name, smp: '2', cpu: 'qemu64', accel: 'tcg', kernel: null } as never, dir), { timeout: 30_000 });
  const pid = Number(readFileSync(path.join(dir, 'qemu.pid'), 'utf8'));
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const s: Started = { name, pid, startTime: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]), qmp: path.join(dir, 'qmp.sock') };
  started.push(s);
  return s;
}

describe.skipIf(!qemuPresent || online.length < 2)('no shell: hostile guest names', () => {
  beforeAll(() => NAMES.forEach((n, i) => startRaw(n, i)));
  afterAll(async () => {
    for (const g of started) await stopGuest(g.pid, { qmpSocket: g.qmp, startTime: g.startTime, graceMs: 1000 });
    rmSync(work, { recursive: true, force: true });
    rmSync(marker, { force: true });
  });

  it('ps lists them under their exact names; nothing ran', async () => {
    const r = await runCli(['ps', '--json']);
    expect(r.code, r.err).toBe(0);
    const names = JSON.stringify(JSON.parse(r.out));
    for (const g of started) expect(names).toContain(JSON.stringify(g.name).slice(1, -1));
    expect(existsSync(marker)).toBe(false);
  });

  it.each(NAMES.map((n, i) => [n, i] as const))('pin/unpin %s by name: state files are named by pid only, nothing escapes, nothing runs', async (name, i) => {
    const g = started[i]!;
    const pin = await runCli(['pin', name, '--vcpu', `0=${online[1]}`, '--emulator', `${online[0]}`, '--json']);
    expect(pin.code, pin.err + pin.out).toBe(0);
    expect(readdirSync(stateDir)).toEqual([`pin-${g.pid}-${g.startTime}.json`]);
    expect(JSON.parse(readFileSync(path.join(stateDir, `pin-${g.pid}-${g.startTime}.json`), 'utf8')).guest).toBe(name);
    const dry = await runCli(['pin', name, '--vcpu', `0=${online[0]}`, '--dry-run']);
    expect(dry.code).toBe(0);
    const un = await runCli(['unpin', name, '--json']);
    expect(un.code, un.err + un.out).toBe(0);
    expect(readdirSync(stateDir)).toEqual([]);
    // `../../kvt-harden-x` relative to the state dir, the cwd and the guest dir: never created.
    for (const base of [stateDir, process.cwd(), path.join(work, `g${i}`)]) expect(existsSync(path.resolve(base, '../../kvt-harden-x'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('hotplug by a hostile name talks QMP, runs nothing', async () => {
    const r = await runCli(['hotplug', NAMES[0]!, '--to', '2', '--json']);
    expect([0, 2]).toContain(r.code);
    expect(existsSync(marker)).toBe(false);
  });

  it('launch refuses the names (E_BAD_INPUT) and creates nothing', async () => {
    for (const name of NAMES) {
      const r = await runCli(['launch', '--name', name, '--smp', '1', '--accel', 'tcg', '--dir', path.join(work, 'launch'), '--json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
    }
    expect(existsSync(path.join(work, 'launch'))).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('stop (QMP quit, then signals) by pid: the guests go, nothing runs', async () => {
    for (const g of started) expect(await stopGuest(g.pid, { qmpSocket: g.qmp, startTime: g.startTime, graceMs: 1000 })).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });
});
