// Under KVM, `kvcpu models` asks QEMU for its -cpu host expansion once; the next process reads
// the per-user cache and must print exactly the same answer as the live probe. (Invalidation
// by a changed key is tested on fake inputs in test/probe-cache.test.ts.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kvmUsable } from '../../src/check/probe-kvm.ts';
import { qemuAvailable } from '../../src/qmp/qemu-env.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kvcpu.js');
const dir = mkdtempSync(path.join(tmpdir(), 'kvt-startup-kvmcache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function models(cacheDir: string): { out: string; ms: number } {
  const env: NodeJS.ProcessEnv = { ...process.env, KVCPU_CACHE_DIR: cacheDir, NO_COLOR: '1' };
  delete env.KVCPU_NO_CACHE;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'models', '--accel', 'kvm', '--json'], { env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return { out: r.stdout, ms: performance.now() - t0 };
}

describe('KVM feature cache across processes', () => {
  it('the second `models --accel kvm` answers from the cache, byte for byte the same', async (ctx) => {
    if (!qemuAvailable() || !(await kvmUsable())) ctx.skip(true, 'needs a usable /dev/kvm and qemu-system-x86_64');
    const cache = path.join(dir, 'a');
    const first = models(cache);
    const entry = path.join(cache, 'kvm-host-features.json');
    expect(existsSync(entry)).toBe(true);
    const stored = JSON.parse(readFileSync(entry, 'utf8')) as { key: { qemu: { path: string } }; value: { source: string; features: string[] } };
    expect(stored.value.source).toBe('qemu-live');
    expect(stored.value.features.length).toBeGreaterThan(10);
    const second = models(cache);
    expect(second.out).toBe(first.out);
    // Without the cache (KVCPU_NO_CACHE=1) the live answer is the same too.
    const env = { ...process.env, KVCPU_NO_CACHE: '1', NO_COLOR: '1' };
    const live = spawnSync(process.execPath, [BIN, 'models', '--accel', 'kvm', '--json'], { env, encoding: 'utf8' });
    expect(live.stdout).toBe(first.out);
  });
});
