// Issue 16 rough edge: `launch` defaulted to qemu64 under KVM although `models` says qemu64 is
// not runnable there (this machine's KVM lacks pni). The default is now a model that runs for
// the chosen accelerator, and launch says which; QEMU itself confirms it with `enforce`.
import { afterAll, describe, expect, it } from 'vitest';
import { chooseDefaultCpu } from '../../src/cpu-models/default-cpu.ts';
import { accelFeatures } from '../../src/cpu-models/live-catalog.ts';
import { stopGuest } from '../../src/guests/stop-guest.ts';
import { kvmPresent, qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, uniqueGuestName } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const launched: number[] = [];

describe.skipIf(!qemuPresent)('launch: the default -cpu runs under the chosen accelerator', () => {
  afterAll(async () => {
    await Promise.all(launched.map((pid) => stopGuest(pid)));
    await stopAllTestGuests();
    removeScratch();
  });

  for (const accel of ['tcg', 'kvm'] as const) {
    it(`under ${accel}: the default is runnable per kvcpu models, QEMU starts it with enforce, and launch says which`, { timeout: 60_000 }, async (ctx) => {
      if (accel === 'kvm' && !kvmPresent) ctx.skip('/dev/kvm cannot create a VM here');
      const d = chooseDefaultCpu(await accelFeatures(accel));
      // Whatever the default is, `models` agrees it runs: qemu64 runnable, or qemu64 minus exactly its missing features.
      const rows = JSON.parse((await runCli(['models', '--json', '--accel', accel])).out).models as {
        name: string;
        runnable: boolean;
        unavailable: string[];
      }[];
      const q = rows.find((r) => r.name === 'qemu64')!;
      expect(d.dropped).toEqual([...q.unavailable].sort());
      expect(d.cpu).toBe(
        q.runnable
          ? 'qemu64'
          : `qemu64,${q.unavailable
              .sort()
              .map((f) => `-${f}`)
              .join(',')}`,
      );
      // QEMU's own verdict: with enforce it starts.
      const g = await startTestGuest({ prefix: `kvt-answers-dflt-${accel}`, smp: '1', accel, cpu: `${d.cpu},enforce` });
      await g.stop();
      // And launch uses it and says so.
      const name = uniqueGuestName(`kvt-answers-launch-${accel}`);
      const r = await runCli(['launch', '--name', name, '--smp', '1', '--accel', accel, '--json']);
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out);
      launched.push(j.guest.pid);
      expect(j.guest.cpu).toBe(d.cpu);
      expect(j.guest.args).toEqual(expect.arrayContaining(['-cpu', d.cpu]));
      expect(j.guest.cpuDefault).toContain(`-cpu ${d.cpu} (`);
      const human = await runCli(['launch', '--name', `${name}-h`, '--smp', '1', '--accel', accel]);
      expect(human.code, human.err).toBe(0);
      const pid = Number(/pid (\d+)/.exec(human.out)![1]);
      launched.push(pid);
      expect(human.out).toContain(`cpu: -cpu ${d.cpu} (`);
    });
  }
});
