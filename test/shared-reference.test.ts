// The reference data in ../shared (real machines' sysfs trees, QEMU -smp vectors, libvirt and
// Nova answers) is read in place by many oracle tests, which skip when it is missing so a clone
// without it still tests. In CI (CI=true) a missing ../shared would turn hundreds of oracle cases
// into silent skips: this test fails then, naming what is missing. Outside CI it skips with the
// reason.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(repoRoot, '../shared');
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** What the oracle tests read (relative to ../shared); keep in step with the tests. */
const NEEDED = [
  'reference/cpu/baseline-cases.json', // src/cpu-baseline/*.test.ts, test/e2e/cpu-models.test.ts
  'reference/cpu/libvirt-oracle-cases.json', // src/cpu-baseline/baseline-cpus.test.ts
  'reference/nova/pinning-cases.jsonl', // src/plan/nova-cases.test.ts, nova-numa-constraints.test.ts
  'reference/nova/topology-cases.jsonl', // src/topology/nova-topology.test.ts, topology-cli.test.ts
  'reference/hosts/cases', // src/host/reference-hosts.test.ts, src/check/reference-captures.test.ts
  'reference/hosts/cases/hw-20em64t-hybrid-1p6c2t+2ca4co1t/root', // src/cli/commands/host.test.ts
  'reference/hosts/cases/hw-32intel64-2p8co2t+8ve/root', // test/e2e/guest-topology.test.ts
  'reference/qemu-smp/vectors-qemu-7.2.jsonl', // src/smp/parse-smp.test.ts
];

describe('../shared reference data', () => {
  it('is present, or CI fails instead of skipping the oracle tests', (ctx) => {
    const missing = NEEDED.filter((p) => !existsSync(path.join(shared, p)));
    if (missing.length > 0 && !inCi) ctx.skip(`not in CI and ${shared} lacks ${missing.join(', ')}: the oracle tests that need it skip`);
    expect(missing, `CI=true but ${shared} lacks these (the oracle tests would silently skip)`).toEqual([]);
  });
});
