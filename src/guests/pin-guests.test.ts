import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { formatCpulist } from '../core/cpulist.ts';
import type { HostSnapshot } from '../host/types.ts';
import type { AffinityEdge } from './affinity-edge.ts';
import { jobsFromPlan, pinGuests, unpinGuest } from './pin-guests.ts';
import { snapshotGuests } from './snapshot-guests.ts';
import { buildSpinnerElf } from '../../test/support/spinner.ts';

/**
 * A fake /proc tree with two guests; the fake affinity edge writes Cpus_allowed_list into it,
 * so the whole pin pipeline (scan, classify, validate, apply, verify, rollback, state) runs
 * unchanged against files.
 */
const root = mkdtempSync(join(tmpdir(), 'kvcpu-pin-'));
const stateDir = join(root, 'state');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const host = { cpus: { online: '0-3' }, perCpu: [] } as unknown as HostSnapshot;

function statLine(tid: number, comm: string, start: number, state = 'S'): string {
  // fields 3..39: state ... starttime at 22 ... psr at 39 = 0
  const f = [state, '1', '1', '1', '0', '-1', '0', '0', '0', '0', '0', '7', '3', '0', '0', '20', '0', '1', '0', String(start)];
  while (f.length < 37) f.push('0');
  return `${tid} (${comm}) ${f.join(' ')} 0 0\n`;
}

function addThread(pid: number, tid: number, comm: string, start: number, allowed = '0-3'): void {
  const d = join(root, 'proc', String(pid), 'task', String(tid));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'stat'), statLine(tid, comm, start));
  writeFileSync(join(d, 'status'), `Name:\t${comm}\nCpus_allowed_list:\t${allowed}\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n`);
}

function addGuest(pid: number, name: string, vcpus: number): void {
  rmSync(join(root, 'proc', String(pid)), { recursive: true, force: true });
  mkdirSync(join(root, 'proc', String(pid)), { recursive: true });
  writeFileSync(
    join(root, 'proc', String(pid), 'cmdline'),
    ['qemu-system-x86_64', '-name', `guest=${name},debug-threads=on`, '-smp', String(vcpus), ''].join('\0'),
  );
  addThread(pid, pid, 'qemu-system-x86', 5000 + pid);
  addThread(pid, pid + 1, 'call_rcu', 5000 + pid);
  for (let i = 0; i < vcpus; i++) addThread(pid, pid + 10 + i, `CPU ${i}/TCG`, 5000 + pid);
}

function allowed(pid: number, tid: number): string {
  return /Cpus_allowed_list:\t(.*)/.exec(readFileSync(join(root, 'proc', String(pid), 'task', String(tid), 'status'), 'utf8'))![1]!;
}

function tidDir(tid: number): string {
  const pid = Math.floor(tid / 100) * 100;
  return join(root, 'proc', String(pid), 'task', String(tid));
}

function fakeEdge(hook?: (tid: number) => void): AffinityEdge & { calls: [number, string][] } {
  const calls: [number, string][] = [];
  return {
    method: 'fake',
    calls,
    async set(tid, cpus) {
      hook?.(tid);
      calls.push([tid, formatCpulist(cpus)]);
      const f = join(tidDir(tid), 'status');
      if (!existsSync(f)) throw Object.assign(new Error('No such process'), { code: 'ESRCH' });
      writeFileSync(f, readFileSync(f, 'utf8').replace(/Cpus_allowed_list:\t.*/, `Cpus_allowed_list:\t${formatCpulist(cpus)}`));
    },
    async get(pid, tid) {
      const f = join(root, 'proc', String(pid), 'task', String(tid), 'status');
      if (!existsSync(f)) return null;
      return allowed(pid, tid)
        .split(',')
        .flatMap((p) => {
          const [a, b] = p.split('-').map(Number);
          return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
        });
    },
  };
}

beforeEach(() => {
  rmSync(join(root, 'proc'), { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(join(root, 'proc/self'), { recursive: true });
  writeFileSync(join(root, 'proc/self/status'), 'Cpus_allowed_list:\t0-3\n');
  addGuest(100, 'a', 2);
  addGuest(200, 'b', 2);
  // a non-QEMU process and a thread-less (vanished) one must be ignored
  mkdirSync(join(root, 'proc/300'), { recursive: true });
  writeFileSync(join(root, 'proc/300/cmdline'), 'bash\0');
  mkdirSync(join(root, 'proc/400'), { recursive: true });
  writeFileSync(join(root, 'proc/400/cmdline'), 'qemu-system-x86_64\0');
});

const spec = (v: Record<string, string>, emulator: string | null = null) =>
  jobsFromPlan({ kind: 'kvcpu-pin-plan', version: 1, guests: [{ name: 'x', vcpus: v, emulator, iothreads: {} }] })[0]!.spec;

describe('snapshotGuests on a captured tree', () => {
  it('finds QEMU processes, skips vanished ones, classifies threads', async () => {
    const s = await snapshotGuests({ root, qmp: false });
    expect(s.guests.map((g) => [g.name, g.vcpuCount])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    expect(s.guests[0]!.threads.map((t) => t.role)).toEqual(['emulator', 'emulator', 'vcpu', 'vcpu']);
  });
});

describe('pinGuests (all or nothing)', () => {
  it('applies, verifies and saves state; unpin restores', async () => {
    const edge = fakeEdge();
    const out = await pinGuests([{ guest: 'a', spec: spec({ '0': '2', '1': '3' }, '0-1') }], { root, host, edge, stateDir });
    expect(out.result!.applied.map((a) => [a.tid, a.before, a.after])).toEqual([
      [110, '0-3', '2'],
      [111, '0-3', '3'],
      [100, '0-3', '0-1'],
      [101, '0-3', '0-1'],
    ]);
    expect(allowed(100, 110)).toBe('2');
    // Pinning again keeps the ORIGINAL affinity for unpin.
    await pinGuests([{ guest: '100', spec: spec({ '0': '1' }) }], { root, host, edge, stateDir });
    const un = await unpinGuest('a', { root, host, edge, stateDir });
    expect(un.restored.find((r) => r.tid === 110)!.now).toBe('0-3');
    expect(allowed(100, 111)).toBe('0-3');
    await expect(unpinGuest('a', { root, host, edge, stateDir })).rejects.toMatchObject({ code: 'E_UNPIN_NO_STATE' });
  });

  it('rolls back every guest when a thread of another guest dies mid-pin', async () => {
    const edge = fakeEdge((tid) => {
      if (tid === 210) rmSync(join(root, 'proc/200'), { recursive: true, force: true }); // guest b killed
    });
    const jobs = [
      { guest: 'a', spec: spec({ '0': '2', '1': '3' }) },
      { guest: 'b', spec: spec({ '0': '1' }) },
    ];
    await expect(pinGuests(jobs, { root, host, edge, stateDir })).rejects.toMatchObject({ code: 'E_PIN_FAILED' });
    expect(allowed(100, 110)).toBe('0-3');
    expect(allowed(100, 111)).toBe('0-3');
    expect(edge.calls).toContainEqual([110, '0-3']); // the rollback call
    // nothing saved for unpin (the lock file taken for the pin is gone again)
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
  });

  it('rolls back when the re-read does not match (e.g. a cpuset narrowed it)', async () => {
    const base = fakeEdge();
    const edge: AffinityEdge = {
      ...base,
      async set(tid, cpus) {
        await base.set(tid, tid === 111 && cpus.join() === '3' ? [0] : cpus);
      },
    };
    await expect(pinGuests([{ guest: 'a', spec: spec({ '0': '2', '1': '3' }) }], { root, host, edge, stateDir })).rejects.toMatchObject({
      code: 'E_PIN_FAILED',
      message: expect.stringMatching(/verification failed .*tid 111.*is 0, wanted 3/),
    });
    expect(allowed(100, 110)).toBe('0-3');
    expect(allowed(100, 111)).toBe('0-3');
  });

  it('validates before changing anything', async () => {
    const edge = fakeEdge();
    await expect(pinGuests([{ guest: 'a', spec: spec({ '0': '7' }) }], { root, host, edge, stateDir })).rejects.toMatchObject({ code: 'E_PIN_INVALID' });
    writeFileSync(join(root, 'proc/self/status'), 'Cpus_allowed_list:\t0-1\n');
    await expect(pinGuests([{ guest: 'a', spec: spec({ '0': '3' }) }], { root, host, edge, stateDir })).rejects.toMatchObject({
      code: 'E_PIN_INVALID',
      message: expect.stringContaining("outside kvcpu's own cpuset"),
    });
    await expect(pinGuests([{ guest: 'a', spec: spec({ '5': '1' }) }], { root, host, edge, stateDir })).rejects.toMatchObject({ code: 'E_PIN_NO_VCPU' });
    await expect(pinGuests([{ guest: 'zzz', spec: spec({ '0': '1' }) }], { root, host, edge, stateDir })).rejects.toMatchObject({ code: 'E_GUEST_NOT_FOUND' });
    expect(edge.calls).toEqual([]);
  });

  it('dry-run prints taskset commands and changes nothing', async () => {
    const edge = fakeEdge();
    const out = await pinGuests([{ guest: 'b', spec: spec({ '1': '2-3' }) }], { root, host, edge, stateDir, dryRun: true });
    expect(out.commands).toEqual(['taskset -p -c 2-3 211   # b vcpu 1 (CPU 1/TCG)']);
    expect(edge.calls).toEqual([]);
  });
});

describe('spinner ELF', () => {
  it('is a 32-bit multiboot ELF with a valid header checksum and entry inside the image', () => {
    const b = buildSpinnerElf();
    expect(b.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(b[4]).toBe(1);
    const magic = b.readUInt32LE(84);
    expect(magic).toBe(0x1badb002);
    expect((magic + b.readUInt32LE(88) + b.readUInt32LE(92)) >>> 0).toBe(0);
    const entry = b.readUInt32LE(24);
    expect(entry - 0x100000).toBeLessThan(b.length);
    expect(b.readUInt32LE(52 + 16)).toBe(b.length); // p_filesz
  });
});

describe('pin state pruning', () => {
  it('drops state of exited processes and keeps live ones (pid + start time)', async () => {
    const { prunePinStates } = await import('./pin-state.ts');
    const dir = join(root, 'prune');
    mkdirSync(dir, { recursive: true });
    const s = readFileSync('/proc/self/stat', 'latin1');
    const start = s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(join(dir, `pin-${process.pid}-${start}.json`), '{}');
    writeFileSync(join(dir, `pin-${process.pid}-1.json`), '{}'); // same pid, other start: PID reuse
    writeFileSync(join(dir, 'pin-4194305-1.json'), '{}'); // above any pid_max
    expect(prunePinStates(dir)).toBe(2);
    expect(existsSync(join(dir, `pin-${process.pid}-${start}.json`))).toBe(true);
  });
});
