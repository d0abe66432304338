import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../output.ts';
import { addBaselineCommands } from './cpu-baseline.ts';
import { compareCpu } from '../../cpu-baseline/compare-cpu.ts';
import { parseCpuInput } from '../../cpu-baseline/parse-cpu-input.ts';
import { readSnapshotCpuMap } from '../../cpu-baseline/read-cpu-map.ts';
import { haveReference, readRef, REF_DIR, refToDef, refToHostXml, SKIP_REASON } from '../../cpu-baseline/reference.test-helpers.ts';
import { indexCpuMap } from '../../cpu-baseline/x86-map.ts';
import { readHypervisorContext } from '../../cpu-baseline/read-hypervisor-context.ts';

const x = indexCpuMap(readSnapshotCpuMap());
const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-baseline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = { io: { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from([stdin]) }, exitCode: 0 };
  const cpu = new Command('cpu').exitOverride().configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
  addBaselineCommands(cpu, ctx);
  for (const c of cpu.commands) c.exitOverride();
  try {
    await cpu.parseAsync(args, { from: 'user' });
  } catch {
    return { code: 2, out, err };
  }
  return { code: ctx.exitCode, out, err };
}

const oracle = haveReference ? readRef('libvirt-oracle-cases.json') : null;
const oracleCase = (id: string) => (oracle.cases as any[]).find((c) => c.id === id);

describe.skipIf(!haveReference)('kvcpu cpu baseline (CLI)', () => {
  if (!haveReference) it.skip(SKIP_REASON, () => {});

  it('prints the same XML as virsh cpu-baseline, byte for byte', async () => {
    for (const id of [
      'pair/Xeon-E5-2650+Xeon-E7540',
      'pair/Ryzen-7-1800X-Eight-Core+EPYC-7601-32-Core',
      'pair-features/Core-i7-7600U+Core-i7-8550U',
      'fleet/amd-all',
    ]) {
      const c = oracleCase(id);
      const args = ['baseline', '-q', ...c.argv.filter((a: string) => a.startsWith('--')), file(`${id.replace(/\W/g, '_')}.xml`, c.input_xml)];
      const r = await run(args);
      expect(r.code, r.err).toBe(0);
      expect(r.out.trim()).toBe(c.output_xml.trim());
    }
  });

  it('explains which host holds the pool back and what each host loses (stderr)', async () => {
    const c = oracleCase('pair/Xeon-Gold-6130+Xeon-Gold-6148');
    const r = await run(['baseline', file('gold.xml', c.input_xml)]);
    expect(r.code).toBe(0);
    // Gold 6148's definition lacks spec-ctrl, which Skylake-Server-IBRS needs.
    expect(r.err).toMatch(/held back from Skylake-Server-IBRS .*spec-ctrl \(missing on .*gold\.xml#2\)/);
    expect(r.err).toMatch(/gold\.xml#1 loses 4: md-clear, spec-ctrl, stibp, ssbd/);
    expect(r.err).toMatch(/→ Skylake-Server, x86-64-v4/);
    // A whole Intel fleet drops to a 32-bit model: the explanation names the host and feature.
    const fleet = oracleCase('fleet/intel-all');
    const f = await run(['baseline', '--json', file('fleet.xml', fleet.input_xml)]);
    const j = JSON.parse(f.out);
    expect(j.model).toBe(fleet.output.model);
    expect(j.explain.level.level).toBe(0);
    expect(j.explain.level.bestHostLevel).toBe(4);
    expect(j.explain.level.nextNeeds.some((n: any) => n.lackedBy.length > 0)).toBe(true);
  });

  it('--format json answers {model, vendor, features:{require, disable}} in libvirt names', async () => {
    const c = oracleCase('pair/Ryzen-7-1800X-Eight-Core+EPYC-7601-32-Core');
    const r = await run(['baseline', '--format', 'json', file('zen.xml', c.input_xml)]);
    const j = JSON.parse(r.out);
    expect(j.model).toBe(c.output.model);
    expect(j.vendor).toBe('AMD');
    expect(j.features.require).toEqual(c.output.require);
    expect(j.features.disable).toEqual(c.output.disable ?? []);
    expect(j.names).toBe('libvirt');
    expect(j.explain.perHost).toHaveLength(2);
  });

  it("--format qemu/kubevirt/nova speak each tool's dialect", async () => {
    const c = oracleCase('pair/Xeon-E5-2650+Xeon-E7540');
    const f = file('neh.xml', c.input_xml);
    const q = (await run(['baseline', '-q', '--format', 'qemu', f])).out.trim();
    expect(q.startsWith(`${c.output.model},`)).toBe(true);
    expect(q.endsWith(',enforce')).toBe(true);
    expect(q).not.toMatch(/pclmuldq|ds_cpl|lahf_lm/); // QEMU spells them pclmulqdq, ds-cpl, lahf-lm
    expect(q).toContain('+ds-cpl');
    const k = parseYaml((await run(['baseline', '-q', '--format', 'kubevirt', f])).out);
    expect(k.cpu.model).toBe(c.output.model);
    expect(k.cpu.features.filter((ft: any) => ft.policy === 'require').map((ft: any) => ft.name)).toEqual(c.output.require);
    const n = (await run(['baseline', '-q', '--format', 'nova', f])).out;
    expect(n).toContain(`cpu_models = ${c.output.model}\n`);
    expect(n).toMatch(/cpu_model_extra_flags = \+vme, /);
  });

  it('errors exit 2 with stable codes', async () => {
    const mix = oracleCase('vendor-mismatch/Core-i7-8700+Ryzen-9-3900X-12-Core');
    let r = await run(['baseline', '--json', file('mix.xml', mix.input_xml)]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe('E_CPU_VENDOR_MISMATCH');
    r = await run(['baseline', file('bad.xml', '<cpu><arch>x86_64</arch><model>Penryn</model>')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('E_BAD_XML');
    r = await run(['baseline', file('bogus.xml', "<cpu><arch>x86_64</arch><model>Penryn</model><feature name='bogus'/></cpu>")]);
    expect(r.err).toContain('E_CPU_UNKNOWN_FEATURE');
    r = await run(['baseline', file('none.xml', '<capabilities><host/></capabilities>')]);
    expect(r.err).toContain('E_CPU_NO_INPUT');
    r = await run(['baseline', path.join(dir, 'missing.xml')]);
    expect(r.err).toContain('E_NOT_FOUND');
  });

  it('reads stdin (-) and kvcpu host --json reports', async () => {
    const c = oracleCase('pair/Xeon-E5-2650+Xeon-E7540');
    const r = await run(['baseline', '-q', '-'], c.input_xml);
    expect(r.out.trim()).toBe(c.output_xml.trim());
    const snap = {
      root: '/',
      arch: 'x86_64',
      cpu: { vendor: 'GenuineIntel', flags: ['fpu', 'sse4_1', 'pclmulqdq', 'lahf_lm', 'ibrs', 'constant_tsc', 'nonstop_tsc'] },
    };
    const j = JSON.parse((await run(['baseline', '--json', file('host.json', JSON.stringify(snap))])).out);
    expect(j.vendor).toBe('Intel');
    expect(j.names).toBe('linux');
    const all = [...j.features.require, ...j.features.disable];
    // Linux spellings back, synthetic ibrs → spec-ctrl (no Linux name), invtsc from constant+nonstop tsc.
    expect(all).toEqual(expect.arrayContaining(['sse4_1', 'pclmulqdq', 'lahf_lm', 'spec-ctrl', 'invtsc']));
  });
});

describe.skipIf(!haveReference)('kvcpu cpu baseline --hypervisor tcg (kvcpu QEMU catalog) = virsh hypervisor-cpu-baseline --virttype qemu', () => {
  const cases = haveReference ? (oracle.cases as any[]).filter((c) => c.kind === 'hypervisor-cpu-baseline' && c.argv.includes('qemu')) : [];
  for (const c of cases) {
    it(c.id, async () => {
      const args = [
        'baseline',
        '--json',
        '--hypervisor',
        'tcg',
        ...(c.argv.includes('--migratable') ? ['--migratable'] : []),
        file(`h-${c.id.replace(/\W/g, '_')}.xml`, c.input_xml),
      ];
      const r = await run(args);
      expect(r.code, r.out).toBe(0);
      const j = JSON.parse(r.out);
      expect([j.model, j.fallback, j.features.require, j.features.disable]).toEqual([
        c.output.model,
        c.output.fallback,
        c.output.require ?? [],
        c.output.disable ?? [],
      ]);
    });
  }
});

describe.skipIf(!haveReference)('kvcpu cpu compare (CLI)', () => {
  it('agrees with virsh cpu-compare on the oracle host, exit 0 superset / 1 incompatible', async () => {
    const host = file('this-host.xml', refToHostXml(oracle.this_host));
    for (const c of (oracle.cases as any[]).filter((cc) => cc.kind === 'cpu-compare')) {
      const r = await run(['compare', '--host', host, '--format', 'json', file(`g-${c.id.replace(/\W/g, '_')}.xml`, c.input_xml)]);
      const j = JSON.parse(r.out);
      expect(j.result, c.id).toBe(c.result);
      expect(r.code).toBe(c.result === 'incompatible' ? 1 : 0);
      if (j.result === 'incompatible') expect(c.message).toContain(j.message);
    }
  });

  it('reads the host from `virsh capabilities` and `virsh domcapabilities` XML (hypervisor-cpu-compare)', async () => {
    const h = oracle.this_host;
    const caps = `<capabilities>
  <host>
    <uuid>0</uuid>
    <cpu>
      <arch>x86_64</arch>
      <model>${h.model}</model>
      <vendor>${h.vendor}</vendor>
      <microcode version='1'/>
      <signature family='${h.signature.family}' model='${h.signature.model}' stepping='${h.signature.stepping}'/>
      <counter name='tsc' frequency='2000000000' scaling='no'/>
      <topology sockets='1' dies='1' cores='2' threads='1'/>
      <maxphysaddr mode='emulate' bits='48'/>
${h.require.map((f: string) => `      <feature name='${f}'/>`).join('\n')}
      <pages unit='KiB' size='4'/>
    </cpu>
    <power_management/>
  </host>
  <guest><os_type>hvm</os_type><arch name='x86_64'><emulator>/usr/bin/qemu-system-x86_64</emulator></arch></guest>
</capabilities>`;
    const hm = oracle.hypervisor_host_model.kvm;
    const dcaps = `<domainCapabilities>
  <path>/usr/bin/qemu-system-x86_64</path>
  <cpu>
    <mode name='host-passthrough' supported='yes'/>
    <mode name='host-model' supported='yes'>
      <model fallback='forbid'>${hm.model}</model>
      <vendor>${hm.vendor}</vendor>
${hm.require.map((f: string) => `      <feature policy='require' name='${f}'/>`).join('\n')}
${hm.disable.map((f: string) => `      <feature policy='disable' name='${f}'/>`).join('\n')}
    </mode>
    <mode name='custom' supported='yes'>
      <model usable='no' vendor='Intel'>Skylake-Client</model>
    </mode>
  </cpu>
</domainCapabilities>`;
    const capsFile = file('caps.xml', caps);
    const dcapsFile = file('domcaps.xml', dcaps);
    for (const c of (oracle.cases as any[]).filter((cc) => cc.kind === 'cpu-compare' || (cc.kind === 'hypervisor-cpu-compare' && cc.argv.includes('kvm')))) {
      const host = c.kind === 'cpu-compare' ? capsFile : dcapsFile;
      const j = JSON.parse((await run(['compare', '--host', host, '--json', file(`gc-${c.id.replace(/\W/g, '_')}.xml`, c.input_xml)])).out);
      expect(j.result, c.id).toBe(c.result);
    }
  });

  it('takes a model name as the guest and reports the missing features', async () => {
    const host = file('this-host2.xml', refToHostXml(oracle.this_host));
    const r = await run(['compare', '--host', host, 'Haswell-IBRS']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Host CPU does not provide required features: hle, rtm, spec-ctrl');
    const ok = await run(['compare', '--host', host, 'qemu32']);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('superset');
    const bad = await run(['compare', '--host', host, 'NoSuchModel']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('E_CPU_UNKNOWN_MODEL');
  });

  const x86Live = existsSync('/proc/cpuinfo') && /^flags\s*:/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  it.skipIf(!x86Live)('compares the live host (x86 /proc/cpuinfo) without crashing', async () => {
    const r = await run(['compare', '--json', 'qemu64']);
    expect([0, 1]).toContain(r.code);
    expect(['identical', 'superset', 'incompatible']).toContain(JSON.parse(r.out).result);
  });
});

// x86 /proc/cpuinfo files of real machines (../shared/reference/hosts).
const hostsDir = path.resolve(REF_DIR, '../hosts/cases');
const cpuinfos = existsSync(hostsDir)
  ? readdirSync(hostsDir)
      .map((d) => path.join(hostsDir, d, 'root/proc/cpuinfo'))
      .filter(
        (p) => existsSync(p) && /^flags\s*:/m.test(readFileSync(p, 'utf8')) && /^vendor_id\s*:\s*(GenuineIntel|AuthenticAMD)/m.test(readFileSync(p, 'utf8')),
      )
  : [];

describe.skipIf(cpuinfos.length < 4)('cpuinfo inputs (reference hosts)', () => {
  it('baseline of every Intel cpuinfo is safe for each of them', async () => {
    const intel = cpuinfos.filter((p) => /GenuineIntel/.test(readFileSync(p, 'utf8')));
    const r = await run(['baseline', '--json', ...intel]);
    expect(r.code, r.out).toBe(0);
    const j = JSON.parse(r.out);
    const guest = refToDef({ model: j.model, vendor: j.vendor }, 'guest', null, 'guest');
    // Back to libvirt names for the check.
    const lib = JSON.parse((await run(['baseline', '--json', '--names', 'libvirt', ...intel])).out);
    guest.features = [
      ...lib.features.require.map((n: string) => ({ name: n, policy: 'require' })),
      ...lib.features.disable.map((n: string) => ({ name: n, policy: 'disable' })),
    ];
    for (const p of intel) {
      const [host] = parseCpuInput(x, readFileSync(p, 'utf8'), p);
      expect(compareCpu(x, host!, guest).result, p).not.toBe('incompatible');
    }
    expect(j.explain.notes.join(' ')).toContain('cpuinfo cannot show');
  });

  it('pools never mix vendors and merging never lowers the loss', async () => {
    const r = await run(['pools', '--json', ...cpuinfos]);
    expect(r.code, r.out).toBe(0);
    const plan = JSON.parse(r.out);
    const vendors = new Set(plan.pools.map((p: any) => p.vendor));
    expect(plan.pools.length).toBe(vendors.size); // default: one pool per vendor
    expect(vendors).toEqual(new Set(['Intel', 'AMD']));
    for (let i = 1; i < plan.tradeoff.length; i++) expect(plan.tradeoff[i].totalLost).toBeGreaterThanOrEqual(plan.tradeoff[i - 1].totalLost);
    const split = JSON.parse((await run(['pools', '--json', '--max-loss', '5', ...cpuinfos])).out);
    expect(split.pools.length).toBeGreaterThan(plan.pools.length);
    for (const p of split.pools)
      for (const h of p.hosts) {
        expect(h.lost).toBeLessThanOrEqual(5);
        expect(h.lostFeatures).toHaveLength(h.lost);
      }
    const text = await run(['pools', '--max-pools', '3', ...cpuinfos]);
    expect(text.out).toMatch(/Chosen: 3 pool\(s\)/);
  });

  it('pools --hypervisor tcg: each pool baseline is a model this QEMU has, with its TCG blockers disabled (hypervisor-cpu-baseline rules)', async () => {
    const modern = cpuinfos.filter((p) => /\bavx2\b/.test(readFileSync(p, 'utf8')));
    expect(modern.length).toBeGreaterThan(1);
    const fitted = JSON.parse((await run(['pools', '--json', '--hypervisor', 'tcg', ...modern])).out);
    expect(fitted.hypervisor).toMatch(/tcg/);
    const ctx = await readHypervisorContext('tcg');
    const known = new Set(ctx.features);
    for (const p of fitted.pools) {
      const blockers = ctx.models.get(p.baseline.model);
      expect(blockers, `${p.baseline.model} is a QEMU model`).toBeDefined();
      const listed = new Set([...p.baseline.disable, ...p.baseline.require]);
      for (const b of blockers!) expect(listed.has(b), `${p.baseline.model}: blocker ${b} disabled`).toBe(true);
      for (const h of p.hosts) for (const f of h.lostFeatures) expect(known.has(f), `${h.label} loses ${f}, a feature QEMU knows`).toBe(true);
    }
    expect((await run(['pools', '--hypervisor', 'tcg', ...modern])).out).toMatch(/fitted to QEMU .*tcg/);
  });
});

describe('virsh (when installed) agrees on a reference pair', () => {
  let virsh = false;
  try {
    execFileSync('virsh', ['--version'], { stdio: 'ignore' });
    virsh = true;
  } catch {
    virsh = false;
  }
  it.skipIf(!virsh || !haveReference)('virsh -c test:///default cpu-baseline = kvcpu (test driver: no QEMU filter)', async () => {
    const c = oracleCase('testdriver-pair/Core-i7-2600-xsaveopt+Xeon-E5-2650');
    const f = file('td.xml', c.input_xml);
    const v = execFileSync('virsh', ['-c', 'test:///default', 'cpu-baseline', f], { encoding: 'utf8' });
    const j = JSON.parse((await run(['baseline', '--json', f])).out);
    const model = /<model[^>]*>([^<]+)</.exec(v)![1];
    expect(j.model).toBe(model);
    const req = [...v.matchAll(/policy='require' name='([^']+)'/g)]
      .map((m) => m[1])
      .filter((n) => !['osxsave', 'ospke', 'cmt', 'mbm_total', 'mbm_local'].includes(n!));
    expect(j.features.require).toEqual(req);
  });
});

describe('kvcpu main() integration', () => {
  it('runs `kvcpu cpu baseline` through main() (addBaselineCommands is wired into `kvcpu cpu`)', async () => {
    const { main } = await import('../main.ts');
    let out = '';
    const io = { out: (s: string) => void (out += s), err: () => {}, color: false, stdin: Readable.from(['']) };
    await main(['cpu', '--help'], io);
    expect(out.split('Commands:')[1] ?? '').toMatch(/\bbaseline\b/);
    out = '';
    const f = file('main.xml', '<cpu><arch>x86_64</arch><model>Westmere</model><vendor>Intel</vendor></cpu>');
    const code = await main(['cpu', 'baseline', '--json', f], io);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ model: 'Westmere', vendor: 'Intel', fallback: 'forbid' });
  });
});
