/**
 * Issue 15 regressions: one sysfs value `99999999999999999999999` made `kvcpu host --root DIR`
 * and `kvcpu report --root DIR` hang (parseCpulist looped forever once `i += 1` stopped
 * changing i past 2^53); `kvcpu pin GUEST --vcpu 0=99999999999999999999999` hung the same way.
 * Each runs the real binary under a timeout: a hang fails as a null exit status.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO, 'bin/kvcpu.js');
const FIXTURE = path.join(REPO, 'test/fixtures/hosts/this-machine-amd-epyc-2c');
const HUGE = '99999999999999999999999';

function kvcpu(args: string[]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kvcpu-bounds-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function treeWith(name: string, rel: string, value: string): string {
  const root = path.join(tmp, name);
  cpSync(FIXTURE, root, { recursive: true });
  writeFileSync(path.join(root, rel), value);
  return root;
}

describe('a host tree holding a huge CPU number does not hang kvcpu', () => {
  it.each([
    ['online', 'sys/devices/system/cpu/online', HUGE, true],
    // The list is unusable: the reader falls back to the hex mask sibling, silently (as before).
    ['thread_siblings_list', 'sys/devices/system/cpu/cpu0/topology/thread_siblings_list', HUGE, false],
    ['a 4-billion range in node0/cpulist', 'sys/devices/system/node/node0/cpulist', '0-4294967295', true],
    ['isolated', 'sys/devices/system/cpu/isolated', `0,${HUGE}`, true],
    ['possible', 'sys/devices/system/cpu/possible', `0-${HUGE}`, true],
  ])('%s: kvcpu host --root and kvcpu report --root answer', (_what, rel, value, warned) => {
    const root = treeWith(rel.replace(/\W/g, '_'), rel, value);
    const host = kvcpu(['host', '--root', root, '--json']);
    expect(host.status, host.err).toBe(0);
    const snap = JSON.parse(host.out) as { warnings: string[] };
    expect(snap.warnings.some((w) => /out of range/.test(w))).toBe(warned);
    const report = kvcpu(['report', '--root', root, '--json']);
    expect(report.status === 0 || report.status === 1).toBe(true);
    expect((JSON.parse(report.out) as { sections: Record<string, unknown> }).sections.host).toBeDefined();
  });
});

describe('CPU lists on the command line are refused at once', () => {
  it.each([
    [['pin', 'no-such-guest', '--vcpu', `0=${HUGE}`], 'E_CPULIST_RANGE'],
    [['pin', 'no-such-guest', '--vcpu', '0=0-4294967295'], 'E_CPULIST_RANGE'],
    [['pin', 'no-such-guest', '--vcpu', `${HUGE}=0`], 'E_CPULIST_RANGE'],
    [['pin', 'no-such-guest', '--emulator', '8192'], 'E_CPULIST_RANGE'],
    [['topology', 'suggest', '--vcpus', '4', '--cpus', `0-${HUGE}`], 'E_CPULIST_RANGE'],
    [['plan', '--guest', 'name=a,vcpus=2', '--pinned', HUGE], 'E_CPULIST_RANGE'],
    [['plan', '--guest', `name=a,vcpus=2,mask=0-${HUGE}`], 'E_CPULIST_RANGE'],
  ])('kvcpu %j -> %s', (args, code) => {
    const r = kvcpu(args);
    expect(r.status, r.err).toBe(2);
    expect(r.err).toContain(code);
  });
});
