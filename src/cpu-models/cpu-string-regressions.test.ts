// Named regression cases of the differential test against QEMU 7.2 (issue 18): each is a
// shrunk disagreement of today's main, with QEMU 7.2.22's answer under TCG recorded from the live
// binary (TCG is host-independent, so these are exact everywhere). Add new shrunk cases here.
import { describe, expect, it } from 'vitest';
import { isKvcpuError } from '../core/errors.ts';
import { loadCatalog } from './catalog.ts';
import { explainCpu } from './cpu-string.ts';
import { parseCInteger, parseTscFreq } from './cpu-properties.ts';
import { tcgFeatures } from './runnability.ts';

const catalog = loadCatalog('7.2');
const tcg = tcgFeatures(catalog);
const explain = (s: string) => explainCpu(s, { supported: tcg, catalog, machine: 'pc' });

/** QEMU's answer: the error line it exits with, or null when it starts. */
function qemuAnswer(s: string): { code: string; error: string } | null {
  try {
    const ex = explain(s);
    return ex.fails ? { code: 'fails', error: ex.qemuError! } : null;
  } catch (e) {
    if (!isKvcpuError(e)) throw e;
    return { code: e.code, error: String(e.details?.qemuError) };
  }
}

const REFUSALS: [name: string, input: string, code: string, error: string][] = [
  [
    'migratable exists only on max/host',
    'qemu64,migratable=on',
    'E_CPU_FEATURE_UNKNOWN',
    "can't apply global qemu64-x86_64-cpu.migratable=on: Property 'qemu64-x86_64-cpu.migratable' not found",
  ],
  [
    'host-cache-info exists only on max/host',
    'Skylake-Server-v5,host-cache-info=on',
    'E_CPU_FEATURE_UNKNOWN',
    "can't apply global Skylake-Server-v5-x86_64-cpu.host-cache-info=on: Property 'Skylake-Server-v5-x86_64-cpu.host-cache-info' not found",
  ],
  ['+migratable on a named model', 'qemu64,+migratable', 'E_CPU_FEATURE_UNKNOWN', "Property 'qemu64-x86_64-cpu.migratable' not found"],
  ['uint32 not a number', 'qemu64,level=abc', 'E_BAD_INPUT', "can't apply global qemu64-x86_64-cpu.level=abc: Parameter 'level' expects uint64"],
  [
    'uint32 out of range',
    'qemu64,level=4294967296',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.level=4294967296: Parameter 'level' expects uint32_t",
  ],
  [
    'uint32 negative wraps like strtoull',
    'qemu64,level=-1',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.level=-1: Parameter 'level' expects uint32_t",
  ],
  [
    'uint8 range',
    'qemu64,host-phys-bits-limit=300',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.host-phys-bits-limit=300: Parameter 'host-phys-bits-limit' expects uint8_t",
  ],
  [
    'family range (x86_cpuid_version_set_family)',
    'Nehalem,family=300,enforce',
    'E_BAD_INPUT',
    "can't apply global Nehalem-x86_64-cpu.family=300: Property .family doesn't take value 300 (minimum: 0, maximum: 270)",
  ],
  ['family not a number', 'qemu64,family=six', 'E_BAD_INPUT', "can't apply global qemu64-x86_64-cpu.family=six: Parameter 'family' expects int64"],
  [
    'model range',
    'kvm64-v1,model=-1',
    'E_BAD_INPUT',
    "can't apply global kvm64-v1-x86_64-cpu.model=-1: Property .model doesn't take value -1 (minimum: 0, maximum: 255)",
  ],
  [
    'stepping range',
    'qemu64,stepping=16',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.stepping=16: Property .stepping doesn't take value 16 (minimum: 0, maximum: 15)",
  ],
  [
    'tsc-frequency range',
    'IvyBridge,tsc-frequency=-1,enforce=on',
    'E_BAD_INPUT',
    "can't apply global IvyBridge-x86_64-cpu.tsc-frequency=-1: Property .tsc-frequency doesn't take value -1 (minimum: 0, maximum: 9223372036854775807)",
  ],
  [
    'vendor must be 12 characters',
    'qemu64,vendor=abc',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.vendor=abc: Property '.vendor' doesn't take value 'abc'",
  ],
  [
    'lbr-fmt mask',
    'coreduo,lbr-fmt=64',
    'E_BAD_INPUT',
    "can't apply global coreduo-x86_64-cpu.lbr-fmt=64: Property value for 'lbr-fmt' has bits outside mask '0x3f'",
  ],
  ['bool value', 'qemu64,avx=1', 'E_BAD_INPUT', "can't apply global qemu64-x86_64-cpu.avx=1: Parameter 'avx' expects 'on' or 'off'"],
  [
    'OnOffAuto value',
    'qemu64,hv-no-nonarch-coresharing=x',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.hv-no-nonarch-coresharing=x: Parameter 'hv-no-nonarch-coresharing' does not accept value 'x'",
  ],
  [
    'read-only property',
    'qemu64,feature-words=1',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.feature-words=1: Property 'qemu64-x86_64-cpu.feature-words' is not writable",
  ],
  ['tsc-freq parsed while splitting the string', 'Haswell-v3,tsc-freq=x,kvm_pv_eoi=on', 'E_BAD_INPUT', 'bad numerical value x'],
  ['+name on a uint property', 'qemu64,+level', 'E_BAD_INPUT', "Parameter 'level' expects uint64"],
  ['-name on a string property', 'IvyBridge-IBRS,+vendor,aes=off', 'E_BAD_INPUT', "Invalid parameter type for 'vendor', expected: string"],
  ['+name on an int property', 'qemu64,+family', 'E_BAD_INPUT', "Invalid parameter type for 'family', expected: integer"],
  [
    'globals apply before +/- (first error is the global)',
    'qemu64,+foo,level=abc',
    'E_BAD_INPUT',
    "can't apply global qemu64-x86_64-cpu.level=abc: Parameter 'level' expects uint64",
  ],
  [
    'globals apply in the order written',
    'qemu64,foo=on,level=abc',
    'E_CPU_FEATURE_UNKNOWN',
    "can't apply global qemu64-x86_64-cpu.foo=on: Property 'qemu64-x86_64-cpu.foo' not found",
  ],
  [
    'unknown property beats enforce',
    'qemu64,+avx512f,enforce,foo=1',
    'E_CPU_FEATURE_UNKNOWN',
    "can't apply global qemu64-x86_64-cpu.foo=1: Property 'qemu64-x86_64-cpu.foo' not found",
  ],
  ['unknown model', 'skylake-client-v1,+avx', 'E_CPU_MODEL_UNKNOWN', "unable to find CPU model 'skylake-client-v1'"],
  ['hv-vpindex under TCG, before +/- and host', 'host,+foo,hv-vpindex', 'fails', "kernel doesn't allow setting HyperV VP_INDEX"],
  ['+/- before the host check', 'host,+foo', 'E_CPU_FEATURE_UNKNOWN', "Property 'host-x86_64-cpu.foo' not found"],
  ['enforce before the host check', 'host,kvm-steal-time=off,+vme,+pku,enforce=on', 'fails', "TCG doesn't support requested features"],
  ['host needs KVM', 'host,phys-bits=20', 'fails', "CPU model 'host' requires KVM or HVF"],
  ['legacy-cache=off needs cache_info', 'qemu64,legacy-cache=off', 'fails', "CPU model 'qemu64' doesn't support legacy-cache=off"],
  ['legacy-cache on max', 'max,legacy-cache=off', 'fails', "CPU model 'max' doesn't support legacy-cache=off"],
  ['phys-bits range', 'qemu64,phys-bits=64', 'fails', 'phys-bits should be between 32 and 52  (but is 64)'],
  ['phys-bits before legacy-cache', 'qemu64,phys-bits=20,legacy-cache=off', 'fails', 'phys-bits should be between 32 and 52  (but is 20)'],
  ['phys-bits without long mode', 'qemu64,-lm,phys-bits=20', 'fails', 'phys-bits is not user-configurable in 32 bit'],
  ['explicit child of an off parent is filtered (enforce fails)', 'qemu64,+vmx-ept,enforce', 'fails', "TCG doesn't support requested features"],
  ['KVM hints word is not cleared under TCG', 'qemu64,kvm=off,+kvm-hint-dedicated,enforce', 'fails', "TCG doesn't support requested features"],
  ['lbr-fmt bits are filtered by TCG', 'qemu64,lbr-fmt=5,enforce', 'fails', "TCG doesn't support requested features"],
  ['enforce wins over check=off', 'qemu64,+avx512f,enforce,check=off', 'fails', "TCG doesn't support requested features"],
];

const STARTS: [name: string, input: string, check: (ex: ReturnType<typeof explain>) => void][] = [
  ['migratable on max', 'max,migratable=off', () => undefined],
  ['+bool property is name=on', 'qemu64,+pmu,+check,-l3-cache', () => undefined],
  ['hex/octal/sign integers like strtoull', 'qemu64,level=0x10,xlevel=+2147483656,min-level=010,family=0x19', () => undefined],
  ['y/n booleans', 'qemu64,avx=y,aes=n', (ex) => expect(ex.final).toContain('avx')],
  ['phys-bits=0 is the default', 'qemu64,phys-bits=0', () => undefined],
  ['legacy-cache=off with cache_info', 'EPYC-v3,legacy-cache=off', (ex) => expect(ex.unavailable).toContain('xsaves')],
  ['hv-synic alone under TCG', 'qemu64,hv-synic,hv-time', () => undefined],
  [
    'TCG drops KVM paravirt features silently',
    'base,kvmclock=on,hypervisor=on,enforce=on',
    (ex) => {
      expect(ex.final).not.toContain('kvmclock');
      expect(ex.unavailable).not.toContain('kvmclock');
      expect(ex.droppedSilently).toContain('kvmclock');
    },
  ],
  [
    "+vmx keeps and filters the model's vmx-* bits",
    'Skylake-Server-v5,+cmov,vme=true,+vmx',
    (ex) => {
      expect(ex.unavailable).toEqual(expect.arrayContaining(['vmx', 'vmx-ept', 'vmx-activity-hlt', 'vmx-apicv-xapic']));
      expect(ex.final.filter((f) => f.startsWith('vmx'))).toEqual([]);
    },
  ],
  [
    'vmx-* without vmx: dropped, and filtered when explicit',
    'qemu64,vmx-ept=on',
    (ex) => {
      expect(ex.unavailable).toEqual(['vmx-ept']);
      expect(ex.final).not.toContain('vmx-ept');
    },
  ],
  [
    'x-force-features keeps filtered features',
    'Skylake-Server-noTSX-IBRS,+avx,x-force-features=on',
    (ex) => expect(ex.final).toEqual(expect.arrayContaining(['avx512f', 'pcid', 'x2apic'])),
  ],
  ['vendor= is reflected', 'kvm64,+vpclmulqdq,vendor=HygonGenuine', (ex) => expect(ex.vendor).toBe('HygonGenuine')],
  ['vendor= on an AMD model', 'EPYC-v2,vendor=GenuineIntel', (ex) => expect(ex.vendor).toBe('GenuineIntel')],
  ['model vendor without vendor=', 'EPYC-v2', (ex) => expect(ex.vendor).toBe('AuthenticAMD')],
  ['tsc-freq with a metric suffix', 'qemu64,tsc-freq=2.5G', (ex) => expect(ex.knobs.map((k) => k.name)).toContain('tsc-freq')],
  ['sgx children stay without sgx (no dependency in 7.2)', 'Snowridge-v2,sgx-debug=on', (ex) => expect(ex.unavailable).toContain('sgx-debug')],
];

describe('cpu explain: named regression cases from the QEMU 7.2 differential test (TCG)', () => {
  it.each(REFUSALS)('%s: %s', (_name, input, code, error) => {
    expect(qemuAnswer(input)).toEqual({ code, error });
  });
  it.each(STARTS)('%s: %s starts', (_name, input, check) => {
    expect(qemuAnswer(input)).toBeNull();
    check(explain(input));
  });
  it('counts', () => {
    // Guard against an edit that silently empties the tables.
    expect(REFUSALS.length).toBe(38);
    expect(STARTS.length).toBe(16);
  });
});

describe('cpu property value parsing (util/cutils.c, qemu_strtosz_metric)', () => {
  it('parses integers like strtoull/strtoll with base 0', () => {
    expect(parseCInteger('0x10', true)).toBe(16n);
    expect(parseCInteger('010', true)).toBe(8n);
    expect(parseCInteger(' +5', true)).toBe(5n);
    expect(parseCInteger('-1', true)).toBe((1n << 64n) - 1n);
    expect(parseCInteger('-1', false)).toBe(-1n);
    expect(parseCInteger('08', true)).toBeNull();
    expect(parseCInteger('', true)).toBeNull();
    expect(parseCInteger('18446744073709551616', true)).toBeNull();
  });
  it('parses tsc-freq sizes with metric suffixes', () => {
    expect(parseTscFreq('2.5G')).toBe(2_500_000_000n);
    expect(parseTscFreq('1000000000')).toBe(1_000_000_000n);
    expect(parseTscFreq('x')).toBeNull();
  });
});

describe('cpu features suggestion goes through cpu explain (issue 16 item 4)', () => {
  // A KVM like the nested-PVM one of issue 16: no pni, gfni available.
  const kvm = {
    accel: 'kvm' as const,
    source: 'qemu-live' as const,
    exact: true,
    features: new Set(
      [...tcg.features, 'gfni', 'x2apic', 'kvmclock', 'kvm-nopiodelay', 'kvm-asyncpf', 'kvm-steal-time', 'kvm-pv-eoi', 'kvmclock-stable-bit'].filter(
        (f) => f !== 'pni' && f !== 'avx512f',
      ),
    ),
    notes: [],
  };
  const explainKvm = (s: string) => explainCpu(s, { supported: kvm, catalog, machine: 'pc', hostVendor: 'AuthenticAMD' });
  it('drops what the accelerator cannot give and turns off the model features it lacks', async () => {
    const { settleSuggestion } = await import('./feature-advice.ts');
    const s = settleSuggestion('qemu64', ['gfni', 'avx512f'], explainKvm);
    expect(s).toMatchObject({ cpuString: 'qemu64,+gfni,-pni,enforce', add: ['gfni'], dropped: ['avx512f'], disabled: ['pni'] });
    expect(explainKvm(s.cpuString!).fails).toBe(false);
  });
  it('gives no string when QEMU refuses for another reason', async () => {
    const { settleSuggestion } = await import('./feature-advice.ts');
    expect(settleSuggestion('host', [], explain)).toMatchObject({ cpuString: null, error: "CPU model 'host' requires KVM or HVF" });
  });
});
