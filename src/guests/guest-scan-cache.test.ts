import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { procStat as stat, writeProcGuest as writeGuest } from './fixtures.test-helpers.ts';
import { GuestScanCache } from './guest-scan-cache.ts';
import { snapshotGuests } from './snapshot-guests.ts';
import type { GuestSnapshot } from './types.ts';

// A captured /proc tree that the test rewrites between scans, as the kernel would between two
// samples of the agent: a guest's pid reused by another QEMU, threads re-created, an exec.
const root = mkdtempSync(join(tmpdir(), 'kvcpu-scan-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const view = (s: GuestSnapshot) =>
  s.guests.map((g) => ({
    pid: g.pid,
    name: g.name,
    start: g.startTime,
    vcpus: g.vcpuCount,
    threads: g.threads.map((t) => `${t.tid}:${t.role}${t.vcpu ?? ''}`),
  }));

beforeEach(() => {
  rmSync(join(root, 'proc'), { recursive: true, force: true });
  mkdirSync(join(root, 'proc'), { recursive: true });
  writeGuest(root, 100, 'a', 5000, [
    [101, 'call_rcu', 5001],
    [102, 'CPU 0/TCG', 5002],
    [103, 'CPU 1/TCG', 5002],
  ]);
  writeGuest(root, 200, 'b', 6000, [[201, 'CPU 0/TCG', 6001]], 1);
});

describe('GuestScanCache (what the sampler keeps between samples)', () => {
  it("gives the same answer as a scan without it, and reuses a known process's command line", async () => {
    const cache = new GuestScanCache(root);
    const first = await snapshotGuests({ root, qmp: false, cache });
    expect(view(first)).toEqual(view(await snapshotGuests({ root, qmp: false })));
    expect(view(first).map((g) => g.name)).toEqual(['a', 'b']);
    // The same process (same pid, start time, comm): its command line is not read again. A
    // rewritten file proves it (the kernel never changes a QEMU's argv).
    writeFileSync(join(root, 'proc/100/cmdline'), ['qemu-system-x86_64', '-name', 'guest=renamed', ''].join('\0'));
    expect(view(await snapshotGuests({ root, qmp: false, cache }))[0]!.name).toBe('a');
    expect(view(await snapshotGuests({ root, qmp: false }))[0]!.name).toBe('renamed');
  });

  it("never serves a reused pid the old guest's facts (other start time)", async () => {
    const cache = new GuestScanCache(root);
    await snapshotGuests({ root, qmp: false, cache });
    // Guest a exits; another QEMU gets pid 100 (and tid 102 again, now a different thread).
    writeGuest(
      root,
      100,
      'c',
      9000,
      [
        [102, 'IO iot0', 9001],
        [104, 'CPU 0/TCG', 9002],
        [105, 'CPU 1/TCG', 9002],
        [106, 'CPU 2/TCG', 9002],
      ],
      3,
    );
    const s = await snapshotGuests({ root, qmp: false, cache });
    expect(view(s)[0]).toEqual({
      pid: 100,
      name: 'c',
      start: 9000,
      vcpus: 3,
      threads: ['100:emulator', '102:iothread', '104:vcpu0', '105:vcpu1', '106:vcpu2'],
    });
    expect(s.guests[0]!.config.smpCpus).toBe(3);
  });

  it('notices an exec (same pid and start time, another comm) and re-created threads', async () => {
    const cache = new GuestScanCache(root);
    await snapshotGuests({ root, qmp: false, cache });
    // pid 200 exec()s into something that is not QEMU: it leaves the guest list.
    writeFileSync(join(root, 'proc/200/cmdline'), 'bash\0');
    writeFileSync(join(root, 'proc/200/task/200/stat'), stat(200, 'bash', 6000, 1));
    // In guest a, tid 101 ends and a new thread with the same tid becomes a vCPU (hot-plug).
    writeFileSync(join(root, 'proc/100/task/101/stat'), stat(101, 'CPU 2/TCG', 5100, 0));
    const s = await snapshotGuests({ root, qmp: false, cache });
    expect(view(s)).toEqual([{ pid: 100, name: 'a', start: 5000, vcpus: 3, threads: ['100:emulator', '102:vcpu0', '103:vcpu1', '101:vcpu2'] }]);
    // ... and a guest that vanished and came back under the same pid is read afresh.
    writeGuest(root, 200, 'b2', 6500, [[201, 'CPU 0/TCG', 6501]], 1);
    expect(view(await snapshotGuests({ root, qmp: false, cache })).map((g) => g.name)).toEqual(['a', 'b2']);
    expect(cache.guests.size).toBe(2);
    rmSync(join(root, 'proc/200'), { recursive: true, force: true });
    await snapshotGuests({ root, qmp: false, cache });
    expect([...cache.guests.keys()]).toEqual([100]); // gone processes are forgotten
  });
});
