/**
 * Live cross-check with util-linux lscpu on this machine: `lscpu -p=CPU,CORE,SOCKET,NODE`
 * (logical ids) must give the same partitions as kvcpu's perCpu rows. Skipped where lscpu
 * is not installed.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseCpulist } from '../core/cpulist.ts';
import { readHost } from './read-host.ts';

function lscpuParse(): string | null {
  try {
    return execFileSync('lscpu', ['-p=CPU,CORE,SOCKET,NODE'], { encoding: 'utf8', timeout: 10_000 });
  } catch {
    return null;
  }
}
const lscpu = lscpuParse();

/** Group CPUs by a key, as a canonical sorted list of "a,b,c" strings. */
function partition(pairs: [number, string][]): string[] {
  const m = new Map<string, number[]>();
  for (const [cpu, key] of pairs) m.set(key, [...(m.get(key) ?? []), cpu]);
  return [...m.values()].map((g) => g.sort((a, b) => a - b).join(',')).sort();
}

describe.skipIf(lscpu === null)('readHost vs lscpu on this machine', () => {
  const rows = lscpu!
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(','));
  const snap = readHost();

  it('lists the same online CPUs', () => {
    expect(rows.map((r) => Number(r[0]))).toEqual(parseCpulist(snap.cpus.online));
  });

  it('has the same core, socket and node partitions', () => {
    const online = snap.perCpu.filter((r) => r.online);
    expect(partition(online.map((r) => [r.cpu, String(r.core)]))).toEqual(partition(rows.map((r) => [Number(r[0]), r[1]!])));
    expect(partition(online.map((r) => [r.cpu, String(r.socket)]))).toEqual(partition(rows.map((r) => [Number(r[0]), r[2]!])));
    // lscpu leaves NODE empty on kernels without NUMA; kvcpu says node 0 there.
    const lscpuNodes = rows.map((r): [number, string] => [Number(r[0]), r[3] === '' ? '0' : r[3]!]);
    expect(online.map((r) => [r.cpu, String(r.node)])).toEqual(lscpuNodes);
  });

  it('agrees on sockets, cores per socket and threads per core (lscpu summary)', () => {
    const summary = execFileSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    const field = (name: string) => new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(summary)?.[1];
    expect(String(snap.topology.sockets)).toBe(field('Socket\\(s\\)'));
    expect(String(snap.topology.threadsPerCore)).toBe(field('Thread\\(s\\) per core'));
    expect(String(snap.topology.coresPerSocket)).toBe(field('Core\\(s\\) per socket'));
  });
});
