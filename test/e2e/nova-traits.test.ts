// kvcpu traits --format nova against the real thing: for each real CPU of the shared reference set
// (libvirt's host decode of its CPUID dump, as `virsh capabilities` shows it), libvirt itself
// expands the host CPU (`virsh cpu-baseline --features`, what Nova's Host.get_capabilities asks
// libvirt for) and Nova 26.2.2's own cpu_features_to_traits (python3-nova) maps it; kvcpu must
// give the same trait set.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REAL = path.resolve(repo, '../shared/reference/cpu/real-cpus.json');
const hasNova = spawnSync('/usr/bin/python3', ['-c', 'import nova.virt.libvirt.utils'], { stdio: 'ignore' }).status === 0;
const hasVirsh = spawnSync('virsh', ['--version'], { stdio: 'ignore' }).status === 0;
if (process.env.CI && !existsSync(REAL)) throw new Error(`reference data missing: ${REAL}`);
if (process.env.CI && !hasNova) throw new Error('CI must have python3-nova for the Nova traits oracle');
const work = mkdtempSync(path.join(tmpdir(), 'kvcpu-traits-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface RealCpu {
  name: string;
  vendor: string;
  libvirt_expected?: { host_decode?: { model: string; vendor?: string; require?: string[] } } | null;
}

const NOVA = `
import json, sys
from nova.virt.libvirt import utils
out = {}
for name, feats in json.load(sys.stdin).items():
    t = utils.cpu_features_to_traits(set(feats))
    out[name] = sorted(k for k, v in t.items() if v)
print(json.dumps(out))
`;

describe.skipIf(!hasNova || !hasVirsh || !existsSync(REAL))('Nova CPU traits vs Nova 26.2.2 on libvirt’s expansion', () => {
  it('agrees on every real CPU of the reference set (host-model, Nova’s default)', async () => {
    const cpus = (JSON.parse(readFileSync(REAL, 'utf8')) as { cpus: RealCpu[] }).cpus.filter((c) => c.libvirt_expected?.host_decode?.model);
    const expanded: Record<string, string[]> = {};
    const files: Record<string, string> = {};
    for (const c of cpus) {
      const d = c.libvirt_expected!.host_decode!;
      const xml = `<cpu>\n  <arch>x86_64</arch>\n  <model>${d.model}</model>\n  <vendor>${d.vendor ?? c.vendor}</vendor>\n${(d.require ?? []).map((f) => `  <feature name='${f}'/>`).join('\n')}\n</cpu>\n`;
      const f = path.join(work, `${c.name}.xml`);
      writeFileSync(f, xml);
      files[c.name] = f;
      const out = execFileSync('virsh', ['-c', 'test:///default', 'cpu-baseline', '--features', f], { encoding: 'utf8' });
      expanded[c.name] = [...out.matchAll(/<feature policy='require' name='([^']+)'\/>/g)].map((m) => m[1]!);
    }
    const nova = JSON.parse(execFileSync('/usr/bin/python3', ['-c', NOVA], { input: JSON.stringify(expanded), encoding: 'utf8' })) as Record<string, string[]>;
    let agreed = 0;
    const differ: string[] = [];
    for (const c of cpus) {
      const r = await runCli(['traits', '--format', 'nova', '--cpu', files[c.name]!, '--json']);
      expect(r.code, r.err).toBe(0);
      const mine = (JSON.parse(r.out) as { traits: string[] }).traits;
      if (JSON.stringify(mine) === JSON.stringify(nova[c.name])) agreed++;
      else differ.push(`${c.name}: kvcpu ${mine.join(',')} / Nova ${nova[c.name]!.join(',')}`);
    }
    expect(differ).toEqual([]);
    expect(agreed).toBe(cpus.length);
    expect(agreed).toBeGreaterThan(55);
  }, 120_000);

  it('custom mode expands the configured models; extra flags add their traits', async () => {
    const r = await runCli([
      'traits',
      '--cpu',
      path.join(repo, 'test/fixtures/hosts/this-machine-amd-epyc-2c/proc/cpuinfo'),
      '--cpu-mode',
      'custom',
      '--cpu-models',
      'Haswell-noTSX',
      '--extra-flags',
      'avx512f',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const t = (JSON.parse(r.out) as { traits: string[] }).traits;
    expect(t).toContain('HW_CPU_X86_AVX2');
    expect(t).toContain('HW_CPU_X86_AVX512F');
    expect(t).not.toContain('HW_CPU_X86_SHA');
    const bad = await runCli(['traits', '--cpu-mode', 'custom', '--json']);
    expect(bad.code).toBe(2);
  });
});
