// Issue 16 item 2: `virsh capabilities` XML as input to `cpu baseline` and `cpu compare --host`.
// Only /capabilities/host/cpu is the host CPU; the NUMA cells' <cpus><cpu id=…/> entries are
// logical CPUs, not CPU definitions. Checked against the live libvirtd: the same XML as
// `virsh cpu-baseline caps.xml`, the same verdict as `virsh cpu-compare` on this host.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { libvirtReachable, virsh } from '../support/libvirt.ts';
import { runCli } from '../support/run-cli.ts';

const execFileP = promisify(execFile);
const reachable = libvirtReachable();
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-caps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** virsh cpu-compare's verdict word (it exits non-zero on "incompatible"). */
async function virshCompare(file: string): Promise<string> {
  let text: string;
  try {
    text = (await execFileP('virsh', ['-c', 'qemu:///system', 'cpu-compare', file], { timeout: 60_000 })).stdout;
  } catch (e) {
    text = String((e as { stdout?: string }).stdout ?? '');
  }
  const m = /(superset|identical|incompatible)/.exec(text);
  if (!m) throw new Error(`unexpected virsh cpu-compare output: ${text}`);
  return m[1]!;
}

describe.skipIf(!reachable)('virsh capabilities XML as a host CPU (live libvirtd)', () => {
  it('cpu baseline caps.xml prints what virsh cpu-baseline caps.xml prints', { timeout: 120_000 }, async () => {
    const caps = await virsh('capabilities');
    // The file really has NUMA cells with <cpu id=…> entries besides the host <cpu>.
    expect(caps).toMatch(/<cells num=/);
    expect((caps.match(/<cpu id=/g) ?? []).length).toBeGreaterThan(0);
    const file = join(dir, 'caps.xml');
    writeFileSync(file, caps);
    const want = (await virsh('cpu-baseline', file)).trim();
    const r = await runCli(['cpu', 'baseline', '-q', file]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(want);
    // And with --features (every host feature spelled out), the same again.
    const wantFull = (await virsh('cpu-baseline', '--features', file)).trim();
    const full = await runCli(['cpu', 'baseline', '-q', '--features', file]);
    expect(full.code, full.err).toBe(0);
    expect(full.out.trim()).toBe(wantFull);
  });

  it("cpu compare --host caps.xml gives virsh cpu-compare's verdict for this host", { timeout: 120_000 }, async () => {
    const caps = join(dir, 'caps2.xml');
    writeFileSync(caps, await virsh('capabilities'));
    const verdicts = new Set<string>();
    for (const model of ['qemu64', 'kvm64', 'Haswell-noTSX', 'Skylake-Server-noTSX-IBRS', 'EPYC', 'Icelake-Server-noTSX']) {
      const g = join(dir, `${model}.xml`);
      writeFileSync(g, `<cpu mode='custom' match='exact'><model fallback='forbid'>${model}</model></cpu>\n`);
      const want = await virshCompare(g);
      verdicts.add(want);
      const r = await runCli(['cpu', 'compare', '--json', '--host', caps, g]);
      expect(r.code === 2, r.err).toBe(false);
      const got = JSON.parse(r.out);
      expect({ model, result: got.result ?? got.data?.result }).toEqual({ model, result: want });
    }
    // Not a test that cannot fail: both outcomes occur on this host's CPU.
    expect(verdicts.has('incompatible') || verdicts.has('superset')).toBe(true);
  });
});
