// Issue 16 rough edge: `models --runnable` said "11 of 11" while `report` said "4 of 55 named
// models". One count (summarizeRunnable) and one stated definition in both; the definition is
// checked on real QEMU: a runnable model starts with `enforce`, a model that is not is refused.
import { afterAll, describe, expect, it } from 'vitest';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

interface Row {
  name: string;
  runnable: boolean;
  unavailable: string[];
}

describe('one definition of runnable for models and report', () => {
  afterAll(async () => {
    await stopAllTestGuests();
    removeScratch();
  });

  for (const accel of ['tcg', 'kvm'] as const) {
    it(`models --runnable, models and report agree on the counts under ${accel}`, { timeout: 60_000 }, async () => {
      const all = JSON.parse((await runCli(['models', '--json', '--accel', accel])).out);
      const rows = all.models as Row[];
      const named = rows.filter((r) => !/-v\d+$/.test(r.name) && !['base', 'host', 'max'].includes(r.name));
      const want = `${rows.filter((r) => r.runnable).length} of ${rows.length} CPU model names runnable under ${accel} (${named.filter((r) => r.runnable).length} of ${named.length} named models`;
      expect(all.summary.all).toEqual({ runnable: rows.filter((r) => r.runnable).length, total: rows.length });
      const filtered = await runCli(['models', '--runnable', '--accel', accel]);
      expect(filtered.out).toContain(`${want}); only the runnable ones are shown.`);
      expect(filtered.out).toContain('runnable = QEMU reports no unavailable-features');
      const plain = await runCli(['models', '--accel', accel]);
      expect(plain.out).toContain(`${want}).`);
      // `report` uses the accelerator guests get here; compare when it is this one.
      const rep = JSON.parse((await runCli(['report', '--json', '--only', 'models'])).out);
      const data = rep.sections.models.data;
      if (data.accel === accel) {
        expect(data.runnableCount.all).toEqual(all.summary.all);
        expect(data.runnable).toEqual(
          named
            .filter((r) => r.runnable)
            .map((r) => r.name)
            .sort((a, b) => a.localeCompare(b)),
        );
        const text = (await runCli(['report', '--only', 'models'])).out;
        expect(text).toContain(`Runnable models:    ${want}`);
      }
    });
  }

  it.skipIf(!qemuPresent)('under TCG a runnable model starts with enforce, and one that is not is refused (real QEMU)', { timeout: 60_000 }, async () => {
    const rows = JSON.parse((await runCli(['models', '--json', '--accel', 'tcg'])).out).models as Row[];
    const yes = rows.find((r) => r.name === 'Westmere' && r.runnable) ?? rows.find((r) => r.runnable && r.name !== 'max' && r.name !== 'base')!;
    const no = rows.find((r) => r.name === 'Skylake-Server' && !r.runnable) ?? rows.find((r) => !r.runnable && r.name !== 'host')!;
    const g = await startTestGuest({ prefix: 'kvt-answers-run', smp: '1', cpu: `${yes.name},enforce` });
    expect(g.pid).toBeGreaterThan(0);
    await g.stop();
    await expect(startTestGuest({ prefix: 'kvt-answers-norun', smp: '1', cpu: `${no.name},enforce` })).rejects.toThrow(
      /not support|unavailable|doesn't support/i,
    );
  });
});
