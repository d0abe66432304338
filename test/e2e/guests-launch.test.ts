import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopGuest } from '../../src/guests/stop-guest.ts';
import { kvmPresent, qemuPresent, spinnerElf, removeScratch, uniqueGuestName } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'kvcpu-launch-'));
const launched: number[] = [];
process.env.KVCPU_STATE_DIR = join(dir, 'state');

function allowed(pid: number, tid: number): string {
  return /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
}

describe.skipIf(!qemuPresent)('kvcpu launch / stop', () => {
  afterAll(async () => {
    await Promise.all(launched.map((pid) => stopGuest(pid)));
    rmSync(dir, { recursive: true, force: true });
    removeScratch();
  });

  it('launches a daemonized spinning guest, applies the pin plan, prints where it runs; stop ends it', async () => {
    const name = uniqueGuestName('launch');
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ kind: 'kvcpu-pin-plan', version: 1, guests: [{ name, vcpus: { '0': '1', '1': '0' }, emulator: '0' }] }));
    const r = await runCli([
      'launch',
      '--name',
      name,
      '--smp',
      '2,sockets=1,cores=2,threads=1',
      '--accel',
      'tcg',
      '--kernel',
      spinnerElf(),
      '--pin',
      plan,
      '--dir',
      join(dir, name),
      '--json',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      guest: { pid: number; qmpSocket: string; args: string[] };
      pins: { tid: number; label: string; after: string }[];
      ps: { guests: { threads: { tid: number; role: string; vcpu: number | null }[] }[] };
    };
    launched.push(j.guest.pid);
    expect(j.guest.args).toEqual(expect.arrayContaining(['-name', `guest=${name},debug-threads=on`, '-daemonize']));
    expect(existsSync(j.guest.qmpSocket)).toBe(true);
    // The QEMU process is not our child: it was daemonized (parent is init/subreaper).
    const ppid = Number(readFileSync(`/proc/${j.guest.pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
    expect(ppid).not.toBe(process.pid);
    const v0 = j.ps.guests[0]!.threads.find((t) => t.role === 'vcpu' && t.vcpu === 0)!;
    expect(allowed(j.guest.pid, v0.tid)).toBe('1');
    expect(j.pins.find((p) => p.label === 'vcpu 1')!.after).toBe('0');
    const serial = join(dir, name, 'serial.log');
    const end = Date.now() + 10_000;
    while (!(existsSync(serial) && readFileSync(serial, 'latin1').includes('SPIN')) && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
    expect(readFileSync(serial, 'latin1')).toMatch(/SPIN/);

    const human = await runCli(['ps']);
    expect(human.out).toMatch(new RegExp(`${name}\\s+${j.guest.pid}\\s+\\d+\\s+vcpu\\s+0\\s+CPU 0/TCG`));
    const s = await runCli(['stop', name]);
    expect(s.code).toBe(0);
    expect(existsSync(`/proc/${j.guest.pid}`)).toBe(false);
  });

  it('rejects bad names and reports a QEMU start failure with its stderr', async () => {
    const bad = await runCli(['launch', '--name', 'a,b', '--smp', '1', '--accel', 'tcg']);
    expect(bad.err).toMatch(/E_BAD_INPUT/);
    const r = await runCli(['launch', '--name', uniqueGuestName('bad'), '--smp', '2,maxcpus=1', '--accel', 'tcg', '--dir', join(dir, 'bad')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_QEMU_FAILED: .*maxcpus/);
  });

  it('--accel kvm without usable /dev/kvm fails cleanly (and works where KVM does)', async () => {
    const name = uniqueGuestName('kvm');
    const r = await runCli(['launch', '--name', name, '--smp', '1', '--accel', 'kvm', '--dir', join(dir, name), '--json']);
    if (kvmPresent) {
      expect(r.code).toBe(0);
      launched.push((JSON.parse(r.out) as { guest: { pid: number } }).guest.pid);
    } else {
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'E_QEMU_FAILED', message: expect.stringMatching(/kvm/i) } });
    }
  });
});
