// The per-user probe cache (io/probe-cache.ts) and the key of QEMU's KVM `-cpu host` expansion
// (cpu-models/kvm-features-cache.ts): a hit only for exactly the same key, every input of the
// key invalidates, bad files are misses, writes are atomic and private.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accelFeaturesCodec, kvmFeaturesKey } from '../src/cpu-models/kvm-features-cache.ts';
import type { AccelFeatures } from '../src/cpu-models/runnability.ts';
import { cachedProbe, probeCacheDir, readProbeCache, writeProbeCache } from '../src/io/probe-cache.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kvt-startup-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const plain = { encode: (v: string) => v, decode: (v: unknown) => (typeof v === 'string' ? v : undefined) };

describe('probe cache', () => {
  it('computes once per key and answers from the file after that', async () => {
    let runs = 0;
    const compute = async () => `answer ${++runs}`;
    const cache = path.join(dir, 'c');
    expect(await cachedProbe('p', { a: 1 }, compute, plain, cache)).toBe('answer 1');
    expect(await cachedProbe('p', { a: 1 }, compute, plain, cache)).toBe('answer 1');
    expect(runs).toBe(1);
    // Another key (any field) is a miss and replaces the entry.
    expect(await cachedProbe('p', { a: 2 }, compute, plain, cache)).toBe('answer 2');
    expect(await cachedProbe('p', { a: 1 }, compute, plain, cache)).toBe('answer 3');
    expect(runs).toBe(3);
    // A null key (inputs unknown) always computes and stores nothing.
    expect(await cachedProbe('q', null, compute, plain, cache)).toBe('answer 4');
    expect(existsSync(path.join(cache, 'q.json'))).toBe(false);
  });

  it('a corrupt, foreign or wrongly shaped entry is a miss, never an error', async () => {
    const cache = path.join(dir, 'c');
    mkdirSync(cache);
    let runs = 0;
    const compute = async () => `fresh ${++runs}`;
    for (const text of ['{not json', '[]', '{"format":2,"key":{"a":1},"value":"old"}', '{"format":1,"key":{"a":1},"value":42}']) {
      writeFileSync(path.join(cache, 'p.json'), text);
      expect(await cachedProbe('p', { a: 1 }, compute, plain, cache)).toMatch(/^fresh /);
    }
    expect(runs).toBe(4);
  });

  it('writes atomically and privately, and leaves no temporary file', () => {
    const cache = path.join(dir, 'nested', 'kvcpu');
    writeProbeCache('p', { k: 1 }, { v: true }, cache);
    expect(readdirSync(cache)).toEqual(['p.json']);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(cache, 'p.json')).mode & 0o777).toBe(0o600);
    expect(readProbeCache('p', { k: 1 }, cache)).toEqual({ v: true });
    expect(readProbeCache('p', { k: 2 }, cache)).toBeUndefined();
  });

  it('a cache that cannot be written costs only the probe', async () => {
    // A path under a regular file: unwritable for root too (mode bits would not stop root).
    writeFileSync(path.join(dir, 'file'), '');
    const cache = path.join(dir, 'file', 'kvcpu');
    let runs = 0;
    expect(await cachedProbe('p', { a: 1 }, async () => `x${++runs}`, plain, cache)).toBe('x1');
    expect(await cachedProbe('p', { a: 1 }, async () => `x${++runs}`, plain, cache)).toBe('x2');
  });

  it('lives in $XDG_CACHE_HOME/kvcpu, ~/.cache/kvcpu, or KVCPU_CACHE_DIR; KVCPU_NO_CACHE=1 turns it off', () => {
    expect(probeCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/kvcpu');
    expect(probeCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/kvcpu');
    // A relative XDG_CACHE_HOME is invalid (XDG Base Directory spec) and ignored.
    expect(probeCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.cache/kvcpu');
    expect(probeCacheDir({ KVCPU_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/home/u' })).toBe('/c');
    expect(probeCacheDir({ KVCPU_NO_CACHE: '1', KVCPU_CACHE_DIR: '/c' })).toBeNull();
  });
});

describe('key of the KVM -cpu host expansion', () => {
  let qemu: string;
  let kvm: string;
  let boot: string;
  beforeEach(() => {
    qemu = path.join(dir, 'qemu-system-x86_64');
    kvm = path.join(dir, 'kvm');
    boot = path.join(dir, 'boot_id');
    writeFileSync(qemu, 'binary v1');
    writeFileSync(kvm, '');
    writeFileSync(boot, 'b1\n');
  });
  const key = () => kvmFeaturesKey({ qemu, kvmDevice: kvm, bootIdFile: boot });

  it('is stable while nothing changes', () => {
    expect(key()).not.toBeNull();
    expect(JSON.stringify(key())).toBe(JSON.stringify(key()));
  });

  it.each([
    ['QEMU binary rewritten in place (size)', () => writeFileSync(qemu, 'binary v2 longer')],
    ['QEMU binary touched (mtime)', () => utimesSync(qemu, 1_000, 1_000)],
    [
      'QEMU binary replaced by a new file (inode)',
      () => {
        const next = `${qemu}.new`;
        writeFileSync(next, 'binary v1');
        utimesSync(next, statSync(qemu).atime, statSync(qemu).mtime);
        rmSync(qemu);
        writeFileSync(path.join(dir, 'hold-inode'), '');
        writeFileSync(qemu, readFileSync(next));
        utimesSync(qemu, statSync(next).atime, statSync(next).mtime);
      },
    ],
    ['reboot (boot id)', () => writeFileSync(boot, 'b2\n')],
    [
      '/dev/kvm re-created (module reload)',
      () => {
        rmSync(kvm);
        writeFileSync(path.join(dir, 'hold-inode-2'), '');
        writeFileSync(kvm, '');
      },
    ],
  ])('changes when the %s', (_what, change) => {
    const before = JSON.stringify(key());
    change();
    expect(JSON.stringify(key())).not.toBe(before);
  });

  it('is null (nothing cached) when an input cannot be read', () => {
    rmSync(kvm);
    expect(key()).toBeNull();
  });

  it('a changed key invalidates the cached features end to end', async () => {
    const cache = path.join(dir, 'c');
    let runs = 0;
    const probe = async (): Promise<AccelFeatures> => ({
      accel: 'kvm',
      source: 'qemu-live',
      exact: true,
      features: new Set(['sse4.2', `run${++runs}`]),
      unmigratable: new Set(['invtsc']),
      refusedMsrs: [0x10a],
      tscScaling: false,
      notes: ['n'],
    });
    const first = await cachedProbe('kvm-host-features', key(), probe, accelFeaturesCodec, cache);
    const second = await cachedProbe('kvm-host-features', key(), probe, accelFeaturesCodec, cache);
    expect(runs).toBe(1);
    expect(second).toEqual(first);
    expect(second.features).toBeInstanceOf(Set);
    writeFileSync(boot, 'b2\n');
    const third = await cachedProbe('kvm-host-features', key(), probe, accelFeaturesCodec, cache);
    expect(runs).toBe(2);
    expect(third.features.has('run2')).toBe(true);
  });

  it('the codec refuses what is not a live KVM answer', () => {
    expect(accelFeaturesCodec.decode({ accel: 'tcg', source: 'qemu-live', exact: true, features: [], notes: [] })).toBeUndefined();
    expect(accelFeaturesCodec.decode({ accel: 'kvm', source: 'qemu-live', exact: true, features: [1], notes: [] })).toBeUndefined();
    expect(accelFeaturesCodec.decode({ accel: 'kvm', source: 'qemu-live', exact: true, features: ['a'], notes: [], refusedMsrs: [-1] })).toBeUndefined();
    expect(accelFeaturesCodec.decode({ accel: 'kvm', source: 'qemu-live', exact: true, features: ['a'], notes: [] })?.features).toEqual(new Set(['a']));
  });
});
