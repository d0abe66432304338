import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { readHost } from '../../src/host/read-host.ts';
import { assessOvercommit } from '../../src/guests/assess-overcommit.ts';
import { snapshotGuests } from '../../src/guests/snapshot-guests.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, type TestGuest } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const host = readHost();
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-oc-state-'));
process.env.KVCPU_STATE_DIR = stateDir; // `kvcpu pin` below saves unpin state here
const online = parseCpulist(host.cpus.online);

interface Report {
  verdict: string;
  hostCpus: number;
  guestVcpus: number;
  guests: { pid: number; vcpus: number; oversized: boolean }[];
  doublyClaimed: { cpu: number; guests: string[] }[];
  checks: { id: string; status: string }[];
}

/** Verdicts on real guests. Other QEMU processes may run on a dev machine, so assertions look
 * at our guests' rows, and PASS verdicts are checked on a snapshot restricted to our guests. */
describe.skipIf(!qemuPresent)('kvcpu overcommit on real QEMU guests', () => {
  afterAll(async () => {
    await stopAllTestGuests();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function ours(gs: TestGuest[]) {
    const snap = await snapshotGuests({ host, full: false, qmp: false });
    return { ...snap, guests: snap.guests.filter((g) => gs.some((x) => x.pid === g.pid)) };
  }

  it(`a guest with more vCPUs than the ${online.length} host CPUs is a FAIL (exit 1)`, async () => {
    const big = await startTestGuest({ prefix: 'oc-big', smp: String(online.length + 1) });
    const r = await runCli(['overcommit', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as Report;
    expect(j.hostCpus).toBe(online.length);
    expect(j.guestVcpus).toBeGreaterThanOrEqual(online.length + 1);
    expect(j.guests.find((g) => g.pid === big.pid)).toMatchObject({ vcpus: online.length + 1, oversized: true });
    expect(j.verdict).toBe('FAIL');
    const human = await runCli(['overcommit']);
    expect(human.out).toMatch(/FAIL\s+guest-fits-host: .*has \d+ vCPUs but the host has \d+ online CPUs/);
    await big.stop();
  });

  it('guests that fit pass; a low --ratio fails; two guests pinned to one pCPU fail', async () => {
    const a = await startTestGuest({ prefix: 'oc-a', smp: '1' });
    const b = await startTestGuest({ prefix: 'oc-b', smp: '1' });
    const fine = assessOvercommit(await ours([a, b]), online, 4);
    expect(fine.verdict).toBe('PASS');
    expect(fine.guestVcpus).toBe(2);
    expect(assessOvercommit(await ours([a, b]), online, 0.5).checks.find((c) => c.id === 'ratio')!.status).toBe('FAIL');
    const strict = await runCli(['overcommit', '--ratio', '0.5', '--json']);
    expect(strict.code).toBe(1);

    for (const g of [a, b]) expect((await runCli(['pin', g.name, '--vcpu', `0=${online[0]}`])).code).toBe(0);
    const r = await runCli(['overcommit', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as Report;
    const claim = j.doublyClaimed.find((d) => d.cpu === online[0])!;
    expect(claim.guests).toEqual(expect.arrayContaining([`${a.name} (${a.pid})`, `${b.name} (${b.pid})`]));
    await Promise.all([a.stop(), b.stop()]);
  });
});
