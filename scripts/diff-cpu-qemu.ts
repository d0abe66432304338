/**
 * Differential run of `cpu explain` against the installed QEMU on seeded, generated -cpu strings.
 * Usage: node --import tsx scripts/diff-cpu-qemu.ts [--seed N] [--n N] [--accel tcg|kvm] [--out FILE]
 * Prints the agreement count and the disagreements by kind (the figures in issue 18's closing note).
 */
import { writeFileSync } from 'node:fs';
import { mulberry32 } from '../src/core/seeded-random.ts';
import { askQemuCpu } from '../src/cpu-models/ask-qemu-cpu.ts';
import { loadCatalog } from '../src/cpu-models/catalog.ts';
import { compareCpu, predictCpu } from '../src/cpu-models/compare-cpu-with-qemu.ts';
import { generateCpuStrings } from '../src/cpu-models/generate-cpu-strings.ts';
import { accelFeatures } from '../src/cpu-models/live-catalog.ts';
import type { Accel } from '../src/cpu-models/types.ts';
import { readHost } from '../src/host/read-host.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

async function main(): Promise<void> {
  const seed = Number(arg('seed', '18'));
  const n = Number(arg('n', '300'));
  const accel = arg('accel', 'tcg') as Accel;
  const catalog = loadCatalog('7.2');
  const supported = await accelFeatures(accel, { catalog });
  const hostVendor = readHost().cpu.vendor;
  const inputs = generateCpuStrings(mulberry32(seed), n, catalog);
  const results: { input: string; agree: boolean; kind?: string; detail?: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const input = inputs[next++]!;
      const q = await askQemuCpu(input, { accel, features: catalog.features });
      const k = predictCpu(input, supported, catalog, { hostVendor });
      results.push({ input, ...compareCpu(k, q, catalog.features) });
    }
  };
  await Promise.all([worker(), worker()]);
  const agree = results.filter((r) => r.agree).length;
  const byKind = new Map<string, number>();
  for (const r of results) if (!r.agree) byKind.set(r.kind!, (byKind.get(r.kind!) ?? 0) + 1);
  process.stdout.write(`${accel}: ${agree} of ${results.length} agree\n`);
  for (const [k, c] of [...byKind].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${k}: ${c}\n`);
  const out = arg('out', '');
  if (out)
    writeFileSync(
      out,
      JSON.stringify(
        results.filter((r) => !r.agree),
        null,
        1,
      ),
    );
}

void main();
