// `kvcpu cpu compare --hypervisor tcg` against the real `virsh hypervisor-cpu-compare --virttype
// qemu` of a running libvirtd (started by .ci/run) over this host's QEMU: every x86 model of
// libvirt's CPU map, plain and with features added or removed, must get the same verdict and the
// same missing features.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCpuMap } from '../../src/cpu-baseline/read-cpu-map.ts';
import { libvirtReachable } from '../support/libvirt.ts';
import { runCli } from '../support/run-cli.ts';

const execFileP = promisify(execFile);
const reachable = libvirtReachable();
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-hvcompare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Verdict {
  result: 'identical' | 'superset' | 'incompatible';
  missing: string[];
}

/** virsh's verdict, and with --error the features it says are missing. */
async function virshVerdict(file: string): Promise<Verdict> {
  const run = async (args: string[]) => {
    try {
      const r = await execFileP('virsh', ['-c', 'qemu:///system', ...args], { timeout: 60_000 });
      return r.stdout + r.stderr;
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
    }
  };
  const text = await run(['hypervisor-cpu-compare', '--virttype', 'qemu', file]);
  const result = /superset/.test(text) ? 'superset' : /identical/.test(text) ? 'identical' : /incompatible/.test(text) ? 'incompatible' : null;
  if (!result) throw new Error(`unexpected virsh output: ${text}`);
  let missing: string[] = [];
  if (result === 'incompatible') {
    const err = await run(['hypervisor-cpu-compare', '--virttype', 'qemu', '--error', file]);
    missing =
      /does not provide required features: (.*)$/m
        .exec(err)?.[1]
        ?.split(', ')
        .map((s) => s.trim()) ?? [];
  }
  return { result, missing };
}

describe.skipIf(!reachable)('cpu compare --hypervisor tcg = virsh hypervisor-cpu-compare --virttype qemu (live libvirtd)', () => {
  it('agrees on every x86 model of the CPU map, plain and with features required or disabled', { timeout: 240_000 }, async () => {
    const models = loadCpuMap().models.map((m) => m.name);
    expect(models.length).toBeGreaterThan(40);
    const guests: { name: string; xml: string }[] = [];
    for (const m of models) {
      guests.push({ name: m, xml: `<cpu mode='custom' match='exact'><model fallback='forbid'>${m}</model></cpu>` });
    }
    // Feature edits: add what TCG lacks, remove what a model has, both.
    for (const [m, req, dis] of [
      ['qemu64', ['sse4.2', 'popcnt'], []],
      ['qemu64', ['avx512f'], []],
      ['Westmere', ['avx2'], ['aes']],
      ['Skylake-Client', [], ['hle', 'rtm', 'invpcid', 'pcid', 'rdseed', 'xsavec', '3dnowprefetch', 'vme', 'x2apic', 'tsc-deadline']],
      ['EPYC', ['pku'], ['monitor']],
    ] as [string, string[], string[]][]) {
      const f = [...req.map((n) => `<feature policy='require' name='${n}'/>`), ...dis.map((n) => `<feature policy='disable' name='${n}'/>`)].join('');
      guests.push({ name: `${m}+${req.join('+')}-${dis.join('-')}`, xml: `<cpu mode='custom' match='exact'><model fallback='forbid'>${m}</model>${f}</cpu>` });
    }
    const disagreements: string[] = [];
    const results = new Map<string, number>();
    for (const g of guests) {
      const file = join(dir, `${g.name.replace(/[^\w.+-]/g, '_')}.xml`);
      writeFileSync(file, g.xml);
      const want = await virshVerdict(file);
      const r = await runCli(['cpu', 'compare', '--hypervisor', 'tcg', '--json', file]);
      const got = JSON.parse(r.out) as Verdict;
      expect(r.code).toBe(got.result === 'incompatible' ? 1 : 0);
      results.set(want.result, (results.get(want.result) ?? 0) + 1);
      if (got.result !== want.result || [...got.missing].sort().join(' ') !== [...want.missing].sort().join(' ')) {
        disagreements.push(`${g.name}: kvcpu ${got.result} [${got.missing.join(' ')}], virsh ${want.result} [${want.missing.join(' ')}]`);
      }
    }
    console.info(
      `hypervisor-cpu-compare: ${guests.length} guest CPUs, ${[...results].map(([k, v]) => `${v} ${k}`).join(', ')}; ${disagreements.length} disagreements`,
    );
    expect(disagreements).toEqual([]);
    // Both verdicts occur (TCG runs the old models, not the new ones).
    expect(results.get('incompatible')).toBeGreaterThan(5);
    expect(results.get('superset')).toBeGreaterThan(5);
  });
});
