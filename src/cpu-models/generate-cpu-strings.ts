import type { QemuCatalog } from './types.ts';

/**
 * Random `-cpu` strings from a grammar, for the differential test against the real QEMU
 * (test/e2e/cpu-differential.test.ts): a model of the catalog (aliases, versions, max/base/host,
 * now and then an unknown name), feature edits (+f, -f, f=on|off|true|false|yes|no|junk, duplicates,
 * contradictions, QEMU and Linux spellings, unknown names), typed properties with valid and
 * out-of-range values, and check/enforce. Reproducible from the PRNG.
 */
export function generateCpuStrings(rand: () => number, n: number, catalog: QemuCatalog): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const models = catalog.models.map((m) => m.name);
  const features = catalog.features;
  // Features users actually type, so edits hit present/absent bits of real models often.
  const common = [
    'avx',
    'avx2',
    'avx512f',
    'aes',
    'pcid',
    'invpcid',
    'pni',
    'ssse3',
    'sse4.1',
    'sse4.2',
    'x2apic',
    'vmx',
    'svm',
    'hle',
    'rtm',
    'spec-ctrl',
    'ssbd',
    'arch-capabilities',
    'md-clear',
    'xsave',
    'xsaveopt',
    'rdrand',
    'rdseed',
    'sha-ni',
    'la57',
    'pdpe1gb',
    'topoext',
    'kvmclock',
    'kvm-pv-eoi',
    'kvm-asyncpf',
    'kvm-steal-time',
    'kvm-pv-unhalt',
    'invtsc',
    'lahf-lm',
    'vme',
    'monitor',
    'hypervisor',
    'vmx-ept',
    'vmx-vpid',
    'npt',
    'nrip-save',
    'tsc-deadline',
    'umip',
    'pku',
    'fsgsbase',
    'erms',
    'smap',
    'smep',
  ];
  const spellings = ['sse4_1', 'sse4_2', 'lahf_lm', 'sse4-1', 'i64', 'pclmuldq', 'kvm_pv_eoi', 'avx512_vnni', 'sha_ni', 'pdpe1gb', 'fxsr_opt'];
  const unknown = ['foo', 'avx513', 'sse5', 'Avx2', 'nx2', 'kvm-pv-foo', 'vmx-foo'];
  const boolWords = ['on', 'off', 'true', 'false', 'yes', 'no', 'on', 'off'];
  const badBool = ['1', '0', 'maybe', 'ON', ''];
  const props: (() => string)[] = [
    () => `level=${pick(['7', '13', '0x14', '0', 'abc', '4294967296', '-1', '010'])}`,
    () => `xlevel=${pick(['0x80000008', '0x8000001f', '2147483656', 'x'])}`,
    () => `min-level=${pick(['7', '0xd'])}`,
    () => `vendor=${pick(['GenuineIntel', 'AuthenticAMD', 'HygonGenuine', 'abc', 'GenuineIntelX', 'CentaurHauls'])}`,
    () => `model-id=${pick(['Test CPU', 'x'])}`,
    () => `family=${pick(['6', '15', '23', '25', '270', '271', '300', '-1', '0x19', 'six'])}`,
    () => `model=${pick(['1', '85', '255', '256', '-1', '0xff'])}`,
    () => `stepping=${pick(['0', '3', '15', '16', 'a'])}`,
    () => `phys-bits=${pick(['0', '20', '32', '40', '46', '52', '53', '64'])}`,
    () => `host-phys-bits=${pick(boolWords)}`,
    () => `pmu=${pick([...boolWords, 'maybe'])}`,
    () => `migratable=${pick(['on', 'off'])}`,
    () => `host-cache-info=${pick(['on', 'off'])}`,
    () => `legacy-cache=${pick(['on', 'off'])}`,
    () => `l3-cache=${pick(['on', 'off'])}`,
    () => pick(['hv-relaxed', 'hv-vapic', 'hv-time', 'hv-vpindex', 'hv-synic', 'hv-spinlocks=0x1fff', 'hv-spinlocks=abc', 'hv-passthrough']),
    () => `tsc-frequency=${pick(['1000000000', '2500000000', '-1', 'fast'])}`,
    () => `tsc-freq=${pick(['1G', '2.5G', '1000000000', 'x'])}`,
    () => `lbr-fmt=${pick(['0', '5', '0x3f', '64'])}`,
    () => pick(['+pmu', '-pmu', '+level', '+vendor', '-l3-cache', '+check', '+migratable', '+host-phys-bits', '+model-id']),
    () => pick(['x-force-features=on', 'full-cpuid-auto-level=off', 'kvm=off', 'ucode-rev=0x100000000']),
  ];
  const feat = (): string => {
    const r = rand();
    if (r < 0.55) return pick(common);
    if (r < 0.85) return pick(features);
    if (r < 0.95) return pick(spellings);
    return pick(unknown);
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const model =
      r < 0.03
        ? pick(['Skylake', 'foo', 'qemu64-v9', 'EPYC-v99', 'skylake-client-v1'])
        : r < 0.2
          ? pick(['qemu64', 'max', 'base', 'host', 'kvm64'])
          : pick(models);
    const items: string[] = [model];
    const nEdits = Math.floor(rand() * 5);
    for (let e = 0; e < nEdits; e++) {
      const f = feat();
      const k = rand();
      if (k < 0.35) items.push(`+${f}`);
      else if (k < 0.6) items.push(`-${f}`);
      else if (k < 0.95) items.push(`${f}=${pick(boolWords)}`);
      else items.push(`${f}=${pick(badBool)}`);
    }
    if (rand() < 0.1 && items.length > 1) items.push(items[1 + Math.floor(rand() * (items.length - 1))]!); // duplicate
    const nProps = rand() < 0.5 ? 0 : 1 + Math.floor(rand() * 2);
    for (let p = 0; p < nProps; p++) items.splice(1 + Math.floor(rand() * items.length), 0, pick(props)());
    const mode = rand();
    if (mode < 0.35) items.push('enforce');
    else if (mode < 0.45) items.push(pick(['check', 'check=off', 'enforce=off', 'enforce=on']));
    out.push(items.join(','));
  }
  return out;
}
