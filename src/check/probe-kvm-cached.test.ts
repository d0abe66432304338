import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearKvmProbeCache, kvmUsable, probeKvm, probeKvmCached } from './probe-kvm.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-probe-'));
afterAll(() => {
  clearKvmProbeCache();
  rmSync(dir, { recursive: true, force: true });
});

describe('probeKvmCached: one KVM probe, cached and bounded', () => {
  it('answers like probeKvm, once: concurrent and later callers share the probe', async () => {
    clearKvmProbeCache();
    const a = probeKvmCached();
    const b = probeKvmCached();
    expect(b).toBe(a);
    const direct = await probeKvm();
    expect((await a).usable).toBe(direct.usable);
    expect(await kvmUsable()).toBe(direct.usable === true);
    expect(probeKvmCached()).toBe(a);
    // maxAgeMs 0 forces a new probe.
    await new Promise((r) => setTimeout(r, 2));
    expect(probeKvmCached({ maxAgeMs: 0 })).not.toBe(a);
  });

  it('a probe that hangs gives "unknown" by the deadline instead of blocking', async () => {
    // A "QEMU" that never opens its monitor (exec: no orphaned child when it is killed).
    const fake = path.join(dir, 'qemu-hangs');
    writeFileSync(fake, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(fake, 0o755);
    const t0 = Date.now();
    const facts = await probeKvmCached({ path: '/dev/null', deadlineMs: 400, probe: { native: null, qemuBinary: fake } });
    const took = Date.now() - t0;
    expect(facts.usable).toBeNull();
    expect(facts.note ?? '').toMatch(/no answer within 400 ms|did not finish/);
    expect(took).toBeLessThan(3_000);
  });
});
