import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../core/package-root.ts';
import { procStat, writeProcGuest } from '../guests/fixtures.test-helpers.ts';
import { Sampler } from './sampler.ts';

// The sampler over a captured host (this machine's /sys and /proc basics) whose guests the test
// rewrites between samples: what the agent serves after a pid or a tid is reused.
const root = mkdtempSync(join(tmpdir(), 'kvcpu-sampler-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
cpSync(packagePath('test/fixtures/hosts/this-machine-amd-epyc-2c'), root, { recursive: true });

describe('Sampler across samples', () => {
  it('serves a reused pid and a re-created thread as new: their name, roles and rates, not the old ones', async () => {
    writeProcGuest(
      root,
      100,
      'a',
      5000,
      [
        [101, 'call_rcu', 5001],
        [102, 'CPU 0/TCG', 5002],
        [103, 'CPU 1/TCG', 5002],
      ],
      2,
      50,
    );
    const sampler = new Sampler({ intervalMs: 60_000, root, checksEveryMs: 1e9, probeKvm: false });
    sampler.on('error', () => undefined); // readiness checks on a captured tree may not all run
    try {
      await sampler.sampleNow();
      // One thread keeps running (ticks grow), one is re-created with the same tid.
      writeFileSync(join(root, 'proc/100/task/102/stat'), procStat(102, 'CPU 0/TCG', 5002, 150));
      writeFileSync(join(root, 'proc/100/task/103/stat'), procStat(103, 'CPU 1/TCG', 5200, 10));
      await new Promise((r) => setTimeout(r, 20));
      const s2 = await sampler.sampleNow();
      expect(s2.rates.get('100:102')!.cpuPct).toBeGreaterThan(0); // the same thread: a rate
      expect(s2.rates.get('100:103')!.cpuPct).toBeNull(); // a new thread: no rate from the old one's ticks
      // Guest a exits; another QEMU gets pid 100 and its tids.
      writeProcGuest(
        root,
        100,
        'b',
        9000,
        [
          [102, 'IO iot0', 9001],
          [103, 'CPU 0/TCG', 9002],
        ],
        1,
        500,
      );
      const s3 = await sampler.sampleNow();
      const g = s3.guests.guests.find((x) => x.pid === 100)!;
      expect([g.name, g.startTime, g.vcpuCount, g.config.smpCpus]).toEqual(['b', 9000, 1, 1]);
      expect(g.threads.map((t) => [t.tid, t.role, t.vcpu])).toEqual([
        [100, 'emulator', null],
        [102, 'iothread', null],
        [103, 'vcpu', 0],
      ]);
      for (const tid of [100, 102, 103]) expect(s3.rates.get(`100:${tid}`)!.cpuPct, `tid ${tid}`).toBeNull();
      expect(s3.overcommit.guestVcpus).toBe(1);
    } finally {
      sampler.stop();
    }
  });
});
