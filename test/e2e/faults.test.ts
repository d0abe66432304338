/**
 * Faults with real QEMU (TCG) — issue 15 part 2: a guest killed during pin, guests starting and
 * dying while ps samples, a stopped QEMU and a monitor held by another client (bounded time,
 * clear codes), QMP closing mid-reply, the state directory unwritable or full, and two pin/unpin
 * processes racing on one guest. libvirtd stopped mid-pin is in faults-libvirtd.test.ts (on a
 * private libvirtd: the shared one serves every test run on this machine).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCpulist, parseCpulist } from '../../src/core/cpulist.ts';
import { realAffinityEdge, type AffinityEdge } from '../../src/guests/affinity-edge.ts';
import { pinGuests } from '../../src/guests/pin-guests.ts';
import { snapshotGuests } from '../../src/guests/snapshot-guests.ts';
import { readHost } from '../../src/host/read-host.ts';
import { QmpClient } from '../../src/qmp/qmp-client.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, type TestGuest } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const execFileP = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/kvcpu.js');
const host = readHost();
const online = parseCpulist(host.cpus.online);
const stateDir = mkdtempSync(path.join(tmpdir(), 'kvcpu-faults-state-'));
process.env.KVCPU_STATE_DIR = stateDir;

function allowed(pid: number, tid: number): string {
  return /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!.trim();
}
async function threadsOf(g: TestGuest) {
  const snap = await snapshotGuests({ host, pids: [g.pid], full: false, qmp: false });
  return snap.guests[0]!.threads;
}
async function affinities(g: TestGuest): Promise<Map<number, string>> {
  return new Map((await threadsOf(g)).map((t) => [t.tid, allowed(g.pid, t.tid)]));
}
function kvcpuAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

afterAll(async () => {
  await stopAllTestGuests();
  removeScratch();
  rmSync(stateDir, { recursive: true, force: true });
});

describe.skipIf(!qemuPresent || online.length < 2)('faults with real QEMU guests (TCG)', () => {
  let a: TestGuest;
  let b: TestGuest;
  let c: TestGuest;
  beforeAll(async () => {
    [a, b, c] = await Promise.all([
      startTestGuest({ prefix: 'flt-a', smp: '2' }),
      startTestGuest({ prefix: 'flt-b', smp: '2' }),
      startTestGuest({ prefix: 'flt-c', smp: '2' }),
    ]);
  });

  it('a guest killed during a two-guest pin: E_PIN_FAILED, the survivor rolled back, a third guest untouched, nothing saved', async () => {
    const victim = await startTestGuest({ prefix: 'flt-victim', smp: '2' });
    const beforeA = await affinities(a);
    const beforeC = await affinities(c);
    const real = realAffinityEdge();
    let killed = false;
    // Kill the victim for real (SIGKILL) just before kvcpu touches its first thread: the kernel,
    // not a mock, then answers ESRCH (or the verify pass finds it gone).
    const edge: AffinityEdge = {
      method: real.method,
      get: (pid, tid) => real.get(pid, tid),
      async set(tid, cpus) {
        if (!killed && existsSync(`/proc/${victim.pid}/task/${tid}`)) {
          killed = true;
          process.kill(victim.pid, 'SIGKILL');
          for (let i = 0; i < 100 && existsSync(`/proc/${victim.pid}/task/${tid}`); i++) await new Promise((r) => setTimeout(r, 10));
        }
        return real.set(tid, cpus);
      },
    };
    const spec = {
      vcpus: new Map([
        [0, [online[0]!]],
        [1, [online[1]!]],
      ]),
      emulator: [online[0]!],
      iothreads: new Map(),
    };
    const err = await pinGuests(
      [
        { guest: a.name, spec },
        { guest: victim.name, spec },
      ],
      { host, edge, stateDir },
    ).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; details: { rolledBack: string[] } },
    );
    expect(killed).toBe(true);
    expect(err?.code).toMatch(/^E_PIN_(FAILED|GUEST_GONE|THREAD_GONE)$/);
    expect(await affinities(a)).toEqual(beforeA);
    expect(await affinities(c)).toEqual(beforeC);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json') || f.endsWith('.lock'))).toEqual([]);
    await victim.stop();
  });

  it('ps while guests start and die: every sample succeeds with valid JSON', async () => {
    const churn = (async () => {
      for (let i = 0; i < 2; i++) {
        const g = await startTestGuest({ prefix: 'flt-churn', smp: '2' });
        await new Promise((r) => setTimeout(r, 50 + 50 * i));
        process.kill(g.pid, 'SIGKILL');
        await g.stop();
      }
    })();
    let samples = 0;
    let done = false;
    void churn.finally(() => (done = true));
    while (!done || samples < 5) {
      const r = await runCli(['ps', '--json']);
      expect(r.code, r.err).toBe(0);
      JSON.parse(r.out);
      samples++;
      if (samples > 200) break;
    }
    await churn;
    expect(samples).toBeGreaterThanOrEqual(5);
  });

  it('a stopped QEMU (SIGSTOP, state T): hotplug says E_GUEST_STOPPED within the 3 s timeout', async () => {
    const g = await startTestGuest({ prefix: 'flt-stop', smp: '1,maxcpus=2' });
    process.kill(g.pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 50 && !/\) T /.test(readFileSync(`/proc/${g.pid}/stat`, 'latin1')); i++) await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      const r = await runCli(['hotplug', g.name, '--to', '2']);
      const ms = Date.now() - t0;
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/E_GUEST_STOPPED: guest \S+ \(pid \d+\) is stopped \(state T/);
      expect(r.err).toContain(`kill -CONT ${g.pid}`);
      expect(ms).toBeLessThan(8000);
      // ps still lists it, at once (QMP is skipped/short-timed for vCPU TIDs).
      const ps = await runCli(['ps', '--json']);
      expect(ps.code).toBe(0);
    } finally {
      process.kill(g.pid, 'SIGCONT');
    }
    await g.stop();
  });

  it('a monitor held by another client: hotplug says E_QMP_BUSY within the timeout, and works once it is released', async () => {
    const g = await startTestGuest({ prefix: 'flt-busy', smp: '1,maxcpus=2' });
    const holder: Socket = createConnection(g.qmpSocket);
    await new Promise<void>((r) => holder.once('data', () => r())); // the greeting: we own the monitor
    const t0 = Date.now();
    const r = await runCli(['hotplug', g.name, '--to', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_QMP_BUSY: .*another client holds the monitor/);
    expect(Date.now() - t0).toBeLessThan(8000);
    holder.destroy();
    await new Promise((res) => setTimeout(res, 100));
    const ok = await runCli(['hotplug', g.name, '--to', '2', '--json']);
    expect(ok.code, ok.err).toBe(0);
    await g.stop();
  });

  it('two pin processes and an unpin racing on one guest: the saved state is never torn, unpin restores the original', async () => {
    const original = await affinities(b);
    for (let round = 0; round < 2; round++) {
      const [p1, p2] = await Promise.all([
        kvcpuAsync(['pin', b.name, '--vcpu', `0=${online[0]}`, '--vcpu', `1=${online[1]}`, '--json']),
        kvcpuAsync(['pin', b.name, '--vcpu', `0=${online[1]}`, '--vcpu', `1=${online[0]}`, '--json']),
      ]);
      expect([p1.code, p2.code], p1.err + p2.err).toEqual([0, 0]);
      const files = readdirSync(stateDir).filter((f) => f.startsWith(`pin-${b.pid}-`));
      expect(files).toEqual([`pin-${b.pid}-${b.startTime}.json`]); // no temp or lock left
      const state = JSON.parse(readFileSync(path.join(stateDir, files[0]!), 'utf8')) as { threads: { tid: number; before: string }[] };
      // Whoever went second saw the first one's CPUs, but the FIRST "before" is what is kept.
      for (const t of state.threads) expect(t.before, `tid ${t.tid}`).toBe(original.get(t.tid));
      const [u1, u2] = await Promise.all([kvcpuAsync(['unpin', b.name, '--json']), kvcpuAsync(['unpin', b.name, '--json'])]);
      // One restores; the other finds no state (it ran after) — never both half-way.
      expect([u1.code, u2.code].sort()).toEqual([0, 2]);
      expect(u1.out + u2.out + u1.err + u2.err).toContain('E_UNPIN_NO_STATE');
      expect(await affinities(b)).toEqual(original);
    }
  }, 120_000);

  it('a lock left by a killed kvcpu is taken over; one held by a live process makes pin wait', async () => {
    // Stale: a lock naming a pid that does not run.
    writeFileSync(path.join(stateDir, `pin-${c.pid}-${c.startTime}.lock`), '999999 1\n');
    const r = await runCli(['pin', c.name, '--vcpu', `0=${online[0]}`, '--json']);
    expect(r.code, r.err).toBe(0);
    expect((await runCli(['unpin', c.name])).code).toBe(0);
    expect(readdirSync(stateDir).filter((f) => f.startsWith(`pin-${c.pid}-`))).toEqual([]);
    // Live: a lock naming this (running) test process. pin waits for it, then goes ahead.
    const me = readFileSync(`/proc/${process.pid}/stat`, 'latin1');
    const lock = path.join(stateDir, `pin-${c.pid}-${c.startTime}.lock`);
    writeFileSync(lock, `${process.pid} ${me.slice(me.lastIndexOf(')') + 2).split(' ')[19]}\n`);
    const t0 = Date.now();
    const waiting = kvcpuAsync(['pin', c.name, '--vcpu', `0=${online[0]}`, '--json']);
    await new Promise((res) => setTimeout(res, 1500));
    expect(existsSync(lock)).toBe(true); // still ours: the other kvcpu is waiting
    rmSync(lock);
    const w = await waiting;
    expect(w.code, w.err).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect((await runCli(['unpin', c.name])).code).toBe(0);
  });
});

describe.skipIf(!qemuPresent || online.length < 2)('state directory faults (real QEMU, tmpfs)', () => {
  let g: TestGuest;
  let mnt = '';
  let mounted = false;
  beforeAll(async () => {
    g = await startTestGuest({ prefix: 'flt-state', smp: '2' });
    mnt = mkdtempSync(path.join(tmpdir(), 'kvcpu-faults-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k,nr_inodes=64', 'kvcpu-test', mnt], { stdio: 'pipe' });
      mounted = true;
    } catch {
      mounted = false;
    }
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('a full state directory (ENOSPC): E_PIN_STATE_DIR and no thread changed', async (ctx) => {
    ctx.skip(!mounted, 'cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)');
    const dir = path.join(mnt, 'state');
    mkdirSync(dir);
    // Fill the 8 KiB tmpfs.
    try {
      writeFileSync(path.join(mnt, 'fill'), Buffer.alloc(64 * 1024));
    } catch {
      /* ENOSPC: full, as wanted */
    }
    const before = await affinities(g);
    const r = await kvcpuAsync(['pin', g.name, '--vcpu', `0=${online[1]}`, '--json'], { KVCPU_STATE_DIR: dir });
    expect(r.code, r.out + r.err).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'E_PIN_STATE_DIR', details: { errno: 'ENOSPC' } } });
    expect(await affinities(g)).toEqual(before);
  });

  it('an unwritable state directory (read-only mount): E_PIN_STATE_DIR and no thread changed', async (ctx) => {
    ctx.skip(!mounted, 'cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)');
    rmSync(path.join(mnt, 'fill'), { force: true });
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    try {
      const before = await affinities(g);
      const r = await kvcpuAsync(['pin', g.name, '--vcpu', `0=${online[1]}`, '--json'], { KVCPU_STATE_DIR: path.join(mnt, 'state') });
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'E_PIN_STATE_DIR', details: { errno: 'EROFS' } } });
      expect(await affinities(g)).toEqual(before);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
  });

  it('a state directory path that runs through a file (ENOTDIR): E_PIN_STATE_DIR before any change', async () => {
    const file = path.join(stateDir, 'not-a-dir');
    writeFileSync(file, 'x');
    const before = await affinities(g);
    const r = await kvcpuAsync(['pin', g.name, '--vcpu', `0=${online[1]}`, '--json'], { KVCPU_STATE_DIR: path.join(file, 'state') });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'E_PIN_STATE_DIR' } });
    expect(await affinities(g)).toEqual(before);
    rmSync(file);
  });
});

describe('QMP closing mid-reply (fake QMP server)', () => {
  it('a reply cut off by the peer closing: E_QMP_CLOSED at once, not a timeout', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-qmpcut-'));
    const sock = path.join(dir, 'qmp.sock');
    const server = createServer((s) => {
      let n = 0;
      s.on('data', (d) => {
        const id = (JSON.parse(d.toString().split('\n')[0]!) as { id: string }).id;
        if (n++ === 0) s.write(`{"return": {}, "id": "${id}"}\r\n`);
        else {
          s.write(`{"return": [{"cpu-index": 0, "thread-id": 42`); // half a reply...
          s.destroy(); // ...and QEMU is gone
        }
      });
      s.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n');
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const q = await QmpClient.connect(sock, { timeoutMs: 2000 });
      const t0 = Date.now();
      await expect(q.execute('query-cpus-fast', undefined, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'E_QMP_CLOSED' });
      expect(Date.now() - t0).toBeLessThan(1000);
      await expect(q.execute('query-status')).rejects.toMatchObject({ code: 'E_QMP_CLOSED' });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void execFileP;
void formatCpulist;
