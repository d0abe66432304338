/**
 * Real guest check: boot a Linux guest under TCG with `-cpu` strings built by kvcpu and compare
 * the guest's /proc/cpuinfo flags with kvcpu's prediction (`explainCpu` final set → Linux names).
 *
 * Models come from kvcpu's own TCG runnability answer; the strings are kvcpu's feature advice for
 * what TCG can give (`MODEL,+f...,enforce`) plus explicit `-f` edits. Compared: every flag kvcpu
 * predicts Linux prints must be there, and every guest flag that names a QEMU feature must be in
 * kvcpu's final set. Flags Linux makes up itself (software/synthetic state) are ignored.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog, resolveModel } from '../../src/cpu-models/catalog.ts';
import { explainCpu } from '../../src/cpu-models/cpu-string.ts';
import { adviseFeatures } from '../../src/cpu-models/feature-advice.ts';
import { featureTable, predictCpuinfoFlags, toQemuName } from '../../src/cpu-models/feature-names.ts';
import { modelRunnability, tcgFeatures } from '../../src/cpu-models/runnability.ts';
import { qemuAvailable } from '../../src/qmp/start-qemu.ts';
import { bootLinuxGuest, ensureLinuxGuest, LinuxGuestUnavailable } from '../support/linux-guest.ts';

const hasQemu = qemuAvailable();

function kvcpuStrings(): string[] {
  const tcg = tcgFeatures();
  const runnable = new Set(
    modelRunnability(tcg)
      .filter((m) => m.runnable)
      .map((m) => m.name),
  );
  const out: string[] = [];
  const picks: [string, string[]][] = [
    ['qemu64', ['-svm']],
    ['Nehalem', ['-popcnt']],
    ['Opteron_G2', ['-sse3']], // `sse3` is QEMU's alias of pni: exercises +/- aliases
  ];
  for (const [model, minus] of picks) {
    if (!runnable.has(model)) continue; // kvcpu says TCG cannot run it: don't boot it
    const advice = adviseFeatures({ model, modelFeatures: resolveModel(model).features, hostFeatures: [...tcg.features] });
    const [name, ...rest] = advice.cpuString.split(',');
    out.push([name, ...rest.filter((x) => x !== 'enforce'), ...minus, 'enforce'].join(','));
  }
  return out;
}

describe.skipIf(!hasQemu)('Linux guest /proc/cpuinfo flags vs kvcpu prediction (TCG)', () => {
  const strings = hasQemu ? kvcpuStrings() : [];
  let guestReady: true | string = true;

  it('kvcpu picks TCG-runnable models for the guest strings', () => {
    expect(strings.length).toBeGreaterThanOrEqual(2);
    for (const s of strings) expect(explainCpu(s, { supported: tcgFeatures() }).fails, s).toBe(false);
  });

  for (const s of strings) {
    it(`-cpu ${s}`, async (ctx) => {
      if (guestReady === true) {
        try {
          await ensureLinuxGuest();
        } catch (e) {
          if (e instanceof LinuxGuestUnavailable) guestReady = e.message;
          else throw e;
        }
      }
      if (guestReady !== true) return ctx.skip(`no Linux guest kernel: ${guestReady}`);
      const ex = explainCpu(s, { supported: tcgFeatures(), machine: 'q35' });
      // With the vendor, kvcpu also predicts what the guest kernel derives (AMD: 3dnowprefetch from lm).
      const predicted = predictCpuinfoFlags(ex.final, ex.model.vendor).shown;
      const guest = await bootLinuxGuest({ smpArgs: ['-smp', '1'], cpu: s, timeoutMs: 120_000 });
      expect(guest.flags.length, guest.raw.slice(-2000)).toBeGreaterThan(10);
      const g = new Set(guest.flags);
      const linuxOnly = new Set(featureTable().linuxOnlyFlags);
      const missing = predicted.filter((f) => !g.has(f));
      const unexpected = guest.flags.filter((f) => {
        if (linuxOnly.has(f) || featureTable().linuxSynthetic[f]) return false;
        const q = toQemuName(f, 'linux');
        return q !== null && !ex.final.includes(q) && !predicted.includes(f);
      });
      expect({ missing, unexpected }).toEqual({ missing: [], unexpected: [] });
      // The edits really happened in the guest.
      for (const m of ex.parsed.minus) {
        const q = loadCatalog().aliases[m] ?? m;
        const flag = predictCpuinfoFlags([q]).shown[0];
        if (flag) expect(g.has(flag), `${flag} should be gone`).toBe(false);
      }
      for (const a of ex.added) {
        const flag = predictCpuinfoFlags([a]).shown[0];
        if (flag) expect(g.has(flag), `${flag} should be shown`).toBe(true);
      }
    });
  }
});
