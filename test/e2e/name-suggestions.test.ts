// Issue 16 rough edge: name suggestions were different per command (`cpu explain Skylake` →
// "Skylake-Server-v5", `cpu compare epyc` → no suggestion and 59 names). One helper
// (src/core/suggest-names.ts) everywhere a name is suggested: QEMU models, libvirt models, QEMU
// features, report sections and running guests (a real QEMU guest).
import { afterAll, describe, expect, it } from 'vitest';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

async function hintOf(argv: string[]): Promise<{ code: string; hint: string }> {
  const r = await runCli([...argv, '--json']);
  expect(r.code).toBe(2);
  const e = JSON.parse(r.out).error;
  return { code: e.code, hint: e.hint };
}

describe('did you mean: case-insensitive, nearest first, the same everywhere', () => {
  afterAll(async () => {
    await stopAllTestGuests();
    removeScratch();
  });

  it('QEMU model names (cpu explain) and libvirt model names (cpu compare, baseline)', async () => {
    expect((await hintOf(['cpu', 'explain', 'Skylake'])).hint).toMatch(/^did you mean 'Skylake-Client', 'Skylake-Server' or 'Skylake-Client-v1'\?/);
    expect((await hintOf(['cpu', 'explain', 'epyc'])).hint).toMatch(/^did you mean 'EPYC'\? /);
    const cmp = await hintOf(['cpu', 'compare', 'epyc']);
    expect(cmp.code).toBe('E_CPU_UNKNOWN_MODEL');
    expect(cmp.hint).toMatch(/^did you mean 'EPYC'\? \(libvirt's CPU map has \d+ x86 models/);
    expect((await hintOf(['cpu', 'compare', 'skylake'])).hint).toMatch(/^did you mean 'Skylake-Client', 'Skylake-Server' or 'Skylake-Client-IBRS'\?/);
  });

  it('QEMU feature names and report sections', async () => {
    const f = await hintOf(['cpu', 'explain', 'qemu64,+AVX2']);
    expect(f.code).toBe('E_CPU_FEATURE_UNKNOWN');
    expect(f.hint).toMatch(/^the QEMU name is 'avx2'/);
    expect((await hintOf(['report', '--only', 'Modls'])).hint).toMatch(/^did you mean 'models'\? sections: /);
  });

  it.skipIf(!qemuPresent)('guest names (real QEMU guest)', async () => {
    const g = await startTestGuest({ prefix: 'kvt-answers-named', smp: '1' });
    const typo = g.name.toUpperCase();
    const r = await runCli(['pin', typo, '--vcpu', '0=0', '--json']);
    expect(r.code).toBe(2);
    const e = JSON.parse(r.out).error;
    expect(e.code).toBe('E_GUEST_NOT_FOUND');
    expect(e.hint).toMatch(new RegExp(`^did you mean '${g.name}'\\? running: `));
    await g.stop();
  });
});
