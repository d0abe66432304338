/**
 * CPU model catalog, `kvcpu models` and `kvcpu cpu explain` against the live QEMU:
 *  - the shipped snapshot equals what the installed QEMU reports (reproducible `npm run gen`);
 *  - kvcpu's runnable/missing answer equals QEMU's own `unavailable-features` (TCG always, KVM
 *    when /dev/kvm works);
 *  - `-cpu` strings resolved by kvcpu give exactly the feature properties a started QEMU has;
 *  - the feature-name table's CPUID/MSR bits equal the bits QEMU itself prints;
 *  - the data agrees with the shared reference (../shared/reference/cpu) when present.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { loadCatalog } from '../../src/cpu-models/catalog.ts';
import { explainCpu } from '../../src/cpu-models/cpu-string.ts';
import { featureTable } from '../../src/cpu-models/feature-names.ts';
import { installedQemuVersion } from '../../src/cpu-models/live-catalog.ts';
import { expandModel, featuresOn, probeQemuCatalog, queryCpuDefinitions, startCatalogQemu } from '../../src/cpu-models/probe-qemu-catalog.ts';
import { modelFeaturesFor, modelRunnability, tcgFeatures } from '../../src/cpu-models/runnability.ts';
import type { AccelFeatures } from '../../src/cpu-models/runnability.ts';
import { isKvcpuError } from '../../src/core/errors.ts';
import { kvmUsable } from '../../src/check/probe-kvm.ts';
import { qemuAvailable, startQemu, type QemuProcess } from '../../src/qmp/start-qemu.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const refDir = path.resolve(repoRoot, '../shared/reference/cpu');
const hasQemu = qemuAvailable();
const qemuVersion = hasQemu ? await installedQemuVersion() : null;
const kvmWorks = await kvmUsable();
const snapshotMatches = qemuVersion !== null && qemuVersion.startsWith(loadCatalog().qemu.version.split('.').slice(0, 2).join('.'));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), color: false, stdin: Readable.from([]) });
  return { code, out, err };
}

describe.skipIf(!hasQemu)('catalog vs live QEMU (TCG)', () => {
  it('the shipped snapshot is what `npm run gen` produces from the installed QEMU', async (ctx) => {
    if (!snapshotMatches) ctx.skip(`installed QEMU ${qemuVersion ?? '?'} differs from the snapshot version: nothing to compare`);
    const live = await probeQemuCatalog();
    const shipped = loadCatalog();
    expect(live.qemu.version).toBe(shipped.qemu.version);
    expect(live.features).toEqual(shipped.features);
    expect(live.aliases).toEqual(shipped.aliases);
    expect(live.models).toEqual(shipped.models);
    expect(live.aliasResolution).toEqual(shipped.aliasResolution);
    expect(live.unavailableTcg).toEqual(shipped.unavailableTcg);
  });

  it('`kvcpu models --accel tcg --json` equals QEMU query-cpu-definitions unavailable-features for every model', async () => {
    const q = await startCatalogQemu({ accel: 'tcg' });
    let defs;
    try {
      defs = await queryCpuDefinitions(q);
    } finally {
      await q.stop();
    }
    const r = await cli(['models', '--accel', 'tcg', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { models: { name: string; runnable: boolean; unavailable: string[] }[] };
    expect(out.models.length).toBe(defs.length);
    const mine = new Map(out.models.map((m) => [m.name, m]));
    const mismatches: string[] = [];
    for (const d of defs) {
      const want = [...new Set(d['unavailable-features'] ?? [])].sort();
      const got = mine.get(d.name);
      if (!got || JSON.stringify(got.unavailable) !== JSON.stringify(want) || got.runnable !== (want.length === 0)) {
        mismatches.push(`${d.name}: qemu=[${want.join(' ')}] kvcpu=[${got?.unavailable.join(' ')}]`);
      }
    }
    expect(mismatches).toEqual([]);
    // Sanity: TCG 7.2 runs old models but not SandyBridge+ (no x2apic / tsc-deadline in TCG).
    expect(mine.get('Nehalem')?.runnable).toBe(true);
    expect(mine.get('SandyBridge')?.unavailable).toContain('x2apic');
  });

  it('unversioned names resolve per machine type as QEMU reports (v1 on 4.1+, no alias-of on legacy types)', async () => {
    const cat = loadCatalog();
    for (const machine of ['pc-q35-7.2', 'pc-i440fx-4.0']) {
      const q = await startCatalogQemu({ accel: 'tcg', machine });
      try {
        const defs = await queryCpuDefinitions(q);
        for (const d of defs.filter((x) => ['Skylake-Client', 'Skylake-Client-IBRS', 'EPYC-IBPB', 'qemu64'].includes(x.name))) {
          expect(cat.aliasResolution[machine]?.[d.name] ?? null, `${machine} ${d.name}`).toBe(d['alias-of'] ?? null);
        }
      } finally {
        await q.stop();
      }
    }
  });
});

describe.skipIf(!hasQemu)('KVM runnability', () => {
  it.skipIf(!kvmWorks)('`kvcpu models --accel kvm` equals QEMU unavailable-features under KVM', async () => {
    const q = await startCatalogQemu({ accel: 'kvm' });
    let defs;
    let host: string[];
    try {
      defs = await queryCpuDefinitions(q);
      host = featuresOn(await expandModel(q, 'host', 'static'));
    } finally {
      await q.stop();
    }
    const supported: AccelFeatures = { accel: 'kvm', source: 'qemu-live', exact: true, features: new Set(host), notes: [] };
    const mine = new Map(modelRunnability(supported).map((m) => [m.name, m.unavailable]));
    for (const d of defs) expect(mine.get(d.name), d.name).toEqual([...new Set(d['unavailable-features'] ?? [])].sort());
  });
  it('without a usable /dev/kvm, --accel kvm is an estimate and says why', async (ctx) => {
    if (kvmWorks) ctx.skip('/dev/kvm works here: --accel kvm is exact, not an estimate (tested above)');
    const r = await cli(['models', '--accel', 'kvm', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { exact: boolean; hostSource: string; notes: string[] };
    expect(out.exact).toBe(false);
    expect(out.hostSource).toBe('cpuinfo-estimate');
    expect(out.notes.join(' ')).toMatch(/dev\/kvm/);
  });
});

// -cpu strings checked against a started QEMU: kvcpu's final set must equal every feature
// property QEMU's realized CPU has (qom-get), or QEMU must refuse exactly when kvcpu says so.
const CPU_STRINGS = [
  'qemu64,+aes,-pni,+pni', // -f beats +f whatever the order
  'qemu64,pni=off,pni=on', // f=on/off: last wins
  'qemu64,-pni,pni=on', // +/- beat f=… (QEMU warns "Ambiguous")
  'Nehalem,+sse4_1,lahf_lm=off,+avx,+xsave', // aliases: +name verbatim, key=value gets _→-
  'Westmere-v2,+x2apic,+pcid', // TCG lacks them: dropped with a warning (check)
  'Skylake-Client,check=off',
  'Opteron_G2,+svm-lock,-svm', // svm-lock needs svm: cleared by QEMU's feature dependencies
  'EPYC-IBPB,-monitor,+avx2',
  'Haswell,enforce', // TCG lacks hle/rtm/x2apic...: QEMU exits
  'host', // needs KVM: QEMU exits under TCG whatever check/enforce say
  'max,-avx2,+sse4a',
];

describe.skipIf(!hasQemu)('cpu explain vs a started QEMU', () => {
  let supported: AccelFeatures;
  beforeAll(() => {
    supported = tcgFeatures();
  });
  for (const s of CPU_STRINGS) {
    it(`-cpu ${s}`, async () => {
      const ex = explainCpu(s, { supported, machine: 'pc' });
      let q: QemuProcess | undefined;
      try {
        q = await startQemu({ args: ['-machine', 'pc', '-m', '64', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-S', '-cpu', s], timeoutMs: 20_000 });
      } catch (e) {
        expect(isKvcpuError(e) && e.code === 'E_QEMU_FAILED', String(e)).toBe(true);
        expect(ex.fails, `QEMU refused to start but kvcpu predicted it would: ${String(e)}`).toBe(true);
        return;
      }
      try {
        expect(ex.fails, 'kvcpu predicted enforce failure but QEMU started').toBe(false);
        const cat = loadCatalog();
        const on: string[] = [];
        for (const f of cat.features) {
          const v = await q.qmp.execute<boolean>('qom-get', { path: '/machine/unattached/device[0]', property: f });
          if (v === true) on.push(f);
        }
        expect(ex.final).toEqual(on.sort());
        // Filtered: unsupported by TCG, or set explicitly while its parent is off (feature_dependencies).
        if (ex.unavailable.length && ex.mode === 'check')
          expect(q.stderr()).toMatch(/TCG doesn't support requested feature|depends on other features that were not requested/);
        if (ex.warnings.some((w) => w.startsWith('Ambiguous'))) expect(q.stderr()).toMatch(/Ambiguous CPU model string/);
      } finally {
        await q.stop();
      }
    });
  }

  it('a Linux spelling is an error in kvcpu and in QEMU, with the QEMU name suggested', async () => {
    const s = 'qemu64,+avx512_vnni';
    let err: unknown;
    try {
      explainCpu(s, { supported, machine: 'pc' });
    } catch (e) {
      err = e;
    }
    expect(isKvcpuError(err) && err.code === 'E_CPU_FEATURE_UNKNOWN').toBe(true);
    expect(isKvcpuError(err) ? err.hint : '').toContain('avx512vnni');
    await expect(startQemu({ args: ['-machine', 'pc', '-m', '64', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-S', '-cpu', s] })).rejects.toThrow(
      /avx512_vnni' not found/,
    );
    const r = await cli(['cpu', 'explain', '--json', s]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe('E_CPU_FEATURE_UNKNOWN');
  });
});

describe.skipIf(!hasQemu)('feature-name table bits vs the bits QEMU prints', () => {
  let q: QemuProcess | undefined;
  afterAll(async () => {
    await q?.stop();
  });
  it('every feature TCG lacks is reported by QEMU at the CPUID leaf/register/bit (or MSR bit) the table says', async () => {
    const cat = loadCatalog();
    const tcg = tcgFeatures().features;
    // KVM paravirt words are zeroed without KVM (never reported); everything else TCG lacks is.
    const wanted = cat.features.filter((f) => !tcg.has(f) && !f.startsWith('kvm'));
    q = await startQemu({
      args: ['-machine', 'pc', '-m', '64', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-S', '-cpu', ['base', ...wanted.map((f) => `+${f}`)].join(',')],
      timeoutMs: 20_000,
    });
    const reported = new Map<string, string>();
    for (const m of q.stderr().matchAll(/(?:CPUID\.([0-9A-F]+)H:(E[ABCD]X)|MSR\(([0-9A-F]+)H\))\.([\w.-]+) \[bit (\d+)\]/g)) {
      const key = m[1] ? `cpuid:0x${parseInt(m[1], 16).toString(16)}:${m[2]!.toLowerCase()}:${m[5]}` : `msr:0x${parseInt(m[3]!, 16).toString(16)}:${m[5]}`;
      reported.set(`${m[4]}@${key}`, m[4]!);
    }
    expect(reported.size).toBeGreaterThan(100);
    const table = new Set(
      featureTable().rows.map((r) =>
        r.loc.type === 'cpuid'
          ? `${r.qemu}@cpuid:0x${r.loc.leaf.toString(16)}:${r.loc.reg}:${r.loc.bit}`
          : `${r.qemu}@msr:0x${r.loc.index.toString(16)}:${r.loc.bit}`,
      ),
    );
    const missing = [...reported.keys()].filter((k) => !table.has(k));
    expect(missing).toEqual([]);
  });
});

describe.skipIf(!existsSync(refDir))('agreement with ../shared/reference/cpu', () => {
  it('catalog: TCG unavailable-features and static expansions equal the reference capture', () => {
    const ref = JSON.parse(readFileSync(path.join(refDir, 'qemu-7.2-models.json'), 'utf8'));
    const tcg = ref.accels.tcg;
    const cat = loadCatalog('7.2');
    for (const d of tcg.cpu_definitions as { name: string; 'unavailable-features': string[] }[]) {
      expect(cat.unavailableTcg[d.name], d.name).toEqual([...new Set(d['unavailable-features'])].sort());
    }
    for (const m of cat.models) {
      const r = tcg.models[m.name]?.static;
      if (!r || m.name === 'host') continue;
      // The reference lists the TRUE canonical features of each static expansion in `features`.
      expect(m.features, m.name).toEqual([...(r.features as string[])].sort());
    }
  });
  it('KVM: reconstructed model sets and unavailable-features equal QEMU on the reference nested-KVM host', () => {
    // The reference `kvm` section was captured where /dev/kvm worked: static expansions of every
    // model under KVM and QEMU's unavailable-features against that host's KVM `host` model.
    const kvm = JSON.parse(readFileSync(path.join(refDir, 'qemu-7.2-models.json'), 'utf8')).accels.kvm;
    const cat = loadCatalog('7.2');
    let compared = 0;
    for (const m of cat.models) {
      const r = kvm.models[m.name]?.static?.features as string[] | undefined;
      if (!r || m.kind === 'special') continue;
      expect(modelFeaturesFor(m, 'kvm'), m.name).toEqual([...r].sort());
      compared++;
    }
    expect(compared).toBeGreaterThan(120);
    const supported: AccelFeatures = {
      accel: 'kvm',
      source: 'qemu-live',
      exact: true,
      features: new Set(kvm.models.host.static.features as string[]),
      notes: [],
    };
    const mine = new Map(modelRunnability(supported, cat).map((x) => [x.name, x.unavailable]));
    for (const d of kvm.cpu_definitions as { name: string; 'unavailable-features': string[] }[]) {
      expect(mine.get(d.name), d.name).toEqual([...new Set(d['unavailable-features'])].sort());
    }
  });
  it('feature-name table: QEMU, libvirt and Linux 6.1 names per CPUID/MSR bit equal the reference', () => {
    const ref = JSON.parse(readFileSync(path.join(refDir, 'feature-names.json'), 'utf8')) as {
      rows: { key: string; qemu: string | null; libvirt: string | null; linux: { '6.1'?: { cpuinfo: string | null } } }[];
    };
    const mine = new Map(featureTable().rows.map((r) => [r.key, r]));
    const diffs: string[] = [];
    let compared = 0;
    for (const r of ref.rows) {
      // VMX_BASIC (MSR 0x480): QEMU names bits 54/55 (feat_names[54]); the reference numbers them 0/1.
      if (r.key.startsWith('msr:0x480:')) continue;
      const m = mine.get(r.key);
      if (!m) {
        if (r.qemu || r.libvirt) diffs.push(`missing ${r.key} ${r.qemu}/${r.libvirt}`);
        continue;
      }
      compared++;
      const lin = r.linux['6.1']?.cpuinfo ?? null;
      if (m.qemu !== r.qemu || m.libvirt !== r.libvirt || m.linux.flag !== lin) {
        diffs.push(`${r.key}: qemu ${m.qemu}/${r.qemu} libvirt ${m.libvirt}/${r.libvirt} linux ${m.linux.flag}/${lin}`);
      }
    }
    expect(diffs).toEqual([]);
    expect(compared).toBeGreaterThan(300);
  });
});

describe('cpu levels / features / explain CLI', () => {
  it('`cpu levels MODEL --json` gives the psABI level and guest OS answers', async () => {
    // The level is what the guest gets on the accelerator (issue 16 item 5); TCG is host-independent.
    const r = await cli(['cpu', 'levels', 'Haswell', '--accel', 'tcg', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { level: number; guestOs: { os: string; ok: boolean }[] };
    expect(j.level).toBe(3);
    expect(j.guestOs.find((o) => o.os.startsWith('RHEL 10'))?.ok).toBe(true);
    const old = JSON.parse((await cli(['cpu', 'levels', 'Conroe', '--accel', 'tcg', '--json'])).out) as {
      level: number;
      guestOs: { os: string; ok: boolean }[];
    };
    expect(old.level).toBe(1);
    expect(old.guestOs.find((o) => o.os.startsWith('RHEL 9'))?.ok).toBe(false);
  });
  it('`cpu features --pool` never suggests a feature a pool member lacks', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-pool-'));
    try {
      const file = path.join(dir, 'cpuinfo');
      // A pool member with SSE4.2 + AES but no AVX.
      writeFileSync(file, 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse sse2 pni ssse3 sse4_1 sse4_2 popcnt aes pclmulqdq lm\n\n');
      const r = await cli(['cpu', 'features', '--model', 'qemu64', '--accel', 'tcg', '--pool', file, '--json']);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as { add: string[]; cpuString: string };
      expect(j.add).toEqual(expect.arrayContaining(['aes', 'pclmulqdq', 'sse4.2']));
      expect(j.add).not.toContain('avx');
      expect(j.cpuString.startsWith('qemu64,')).toBe(true);
      expect(j.cpuString.endsWith(',enforce')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('`cpu explain` exits 1 when enforce would stop QEMU, 0 otherwise', async () => {
    expect((await cli(['cpu', 'explain', '--accel', 'tcg', 'Haswell,enforce'])).code).toBe(1);
    const ok = await cli(['cpu', 'explain', '--accel', 'tcg', '-cpu', 'qemu64,+aes']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/Added:\s+aes/);
  });
});
