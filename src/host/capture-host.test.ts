import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { captureHost } from './capture-host.ts';
import { readHost } from './read-host.ts';
import type { HostSnapshot } from './types.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(repoRoot, 'test/fixtures/hosts');
const refCases = path.resolve(repoRoot, '../shared/reference/hosts/cases');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvcpu-capture-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Node memory can change between two reads on a VM with memory hotplug/ballooning (this one has it).
const withoutRoot = (s: HostSnapshot) => ({ ...s, root: '', numa: { nodes: s.numa.nodes.map((n) => ({ ...n, memoryKb: n.memoryKb === null ? null : 0 })) } });

describe.skipIf(!existsSync('/sys/devices/system/cpu'))('kvcpu capture of the live host', () => {
  const dir = path.join(tmp, 'live');
  const info = captureHost({ dir, version: 'test' });

  it('reads back exactly like the live host', () => {
    expect(withoutRoot(readHost({ root: dir }))).toEqual(withoutRoot(readHost()));
  });

  it('writes capture.json and the files kvcpu check needs', () => {
    const meta = JSON.parse(readFileSync(path.join(dir, 'capture.json'), 'utf8'));
    expect(meta).toMatchObject({ format: 'kvcpu-capture/1', kvcpuVersion: 'test', root: '/', arch: readHost().arch });
    expect(meta.kernel).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    expect(info.files).toBeGreaterThan(5);
    expect(existsSync(path.join(dir, 'proc/cpuinfo'))).toBe(true);
    expect(existsSync(path.join(dir, 'proc/cmdline'))).toBe(true);
    expect(existsSync(path.join(dir, 'proc/version'))).toBe(true);
    if (existsSync('/sys/module/kvm/parameters')) expect(existsSync(path.join(dir, 'sys/module/kvm/parameters'))).toBe(true);
  });

  it.skipIf(!existsSync('/sys/devices/system/cpu/cpu0/node0'))('keeps symlinks as relative symlinks (cpu0/node0)', () => {
    const link = path.join(dir, 'sys/devices/system/cpu/cpu0/node0');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(readlinkSync('/sys/devices/system/cpu/cpu0/node0'));
  });

  it('refuses a non-empty directory unless forced', () => {
    expect(() => captureHost({ dir, version: 'test' })).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    expect(captureHost({ dir, version: 'test', force: true }).files).toBe(info.files);
  });
});

describe('kvcpu capture of captured trees', () => {
  it('round-trips the hand-made old-kernel tree (dangling symlink kept dangling)', () => {
    const src = path.join(fixtures, 'old-kernel-hexmask-2s2c2t');
    const dir = path.join(tmp, 'old');
    captureHost({ root: src, dir, version: 'test' });
    expect(withoutRoot(readHost({ root: dir }))).toEqual(withoutRoot(readHost({ root: src })));
    expect(readlinkSync(path.join(dir, 'sys/devices/system/cpu/cpu0/cpufreq'))).toBe('../cpufreq/policy0');
    expect(readFileSync(path.join(dir, 'sys/devices/system/cpu/cpu5/online'), 'utf8')).toBe('0\n');
  });

  it.skipIf(!existsSync(refCases))('round-trips reference captures (hybrid, offline node, POWER9, s390)', () => {
    for (const id of ['hw-20em64t-hybrid-1p6c2t+2ca4co1t', 'hw-offline-cpu0-node0', 'hw-nvidiagpunumanodes', 'ul-s390-lpar-drawer']) {
      const src = path.join(refCases, id, 'root');
      const dir = path.join(tmp, id);
      captureHost({ root: src, dir, version: 'test' });
      expect(withoutRoot(readHost({ root: dir })), id).toEqual(withoutRoot(readHost({ root: src })));
    }
  });

  it('keeps only kernel parameters of /proc/cmdline (init arguments after -- are dropped)', () => {
    const src = path.join(tmp, 'cmdline-src');
    mkdirSync(path.join(src, 'proc'), { recursive: true });
    mkdirSync(path.join(src, 'sys/devices/system/cpu/cpu0'), { recursive: true });
    writeFileSync(path.join(src, 'proc/cpuinfo'), 'processor\t: 0\nflags\t\t: fpu\n');
    writeFileSync(path.join(src, 'proc/cmdline'), 'intel_iommu=on iommu=pt -- --token secret\n');
    const dir = path.join(tmp, 'cmdline-dst');
    captureHost({ root: src, dir, version: 'test' });
    expect(readFileSync(path.join(dir, 'proc/cmdline'), 'utf8')).toBe('intel_iommu=on iommu=pt\n');
  });

  it('refuses to capture into the tree itself', () => {
    expect(() => captureHost({ dir: '/sys/kvcpu', version: 'test' })).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
  });
});
