// Per-consumer pass counts of another kvcpu build's renderings (e.g. an older commit), judged by
// the same consumer validators as test/e2e/renderings-consumers.test.ts against the plans this
// tree computes. For the before/after figures of issue 17:
//   git archive main | tar -x -C /tmp/before && ln -s $PWD/node_modules /tmp/before/ && (cd /tmp/before && npx tsc -p tsconfig.build.json && touch dist/.build-stamp)
//   node --import tsx scripts/measure-renderings.ts /tmp/before/bin/kvcpu.js
// Needs what the test needs (QEMU, libvirtd on qemu:///system, virt-xml-validate, python3-nova).
import { spawnSync } from 'node:child_process';
import {
  askNova,
  flavorFromScript,
  judgeKubevirt,
  judgeLibvirt,
  judgeNova,
  judgeProxmox,
  judgeQemu,
  type NovaFlavor,
  type PlanView,
  type Verdict,
} from '../test/support/consumer-judges.ts';
import { RENDER_CASES } from '../test/support/render-cases.ts';
import { runCli } from '../test/support/run-cli.ts';

const bin = process.argv[2];
if (!bin) throw new Error('usage: measure-renderings.ts PATH/TO/bin/kvcpu.js');
const CONSUMERS = ['qemu', 'libvirt', 'kubevirt', 'nova', 'nova-json', 'proxmox'] as const;
const tally = Object.fromEntries(CONSUMERS.map((c) => [c, { pass: 0, fail: 0 }])) as Record<string, { pass: number; fail: number }>;
const why: string[] = [];
const add = (c: string, id: string, v: Verdict) => {
  if (v.ok || v.skipped) tally[c]!.pass += v.ok ? 1 : 0;
  else {
    tally[c]!.fail++;
    why.push(`${c} ${id}: ${v.problems.join('; ').slice(0, 300)}`);
  }
};

/** Older builds printed `key=value` lines with `# flavor vcpus=N`: read those too. */
function flavorOf(text: string, plan: PlanView, json: boolean): NovaFlavor | string {
  if (json) {
    try {
      const j = JSON.parse(text);
      return { vcpus: j.flavor.vcpus, ram: j.flavor.ram, extra_specs: j.extra_specs };
    } catch {
      return 'not JSON';
    }
  }
  const f = flavorFromScript(text);
  if (typeof f !== 'string') return f;
  const vcpus = /# flavor vcpus=(\d+)/.exec(text);
  const specs = Object.fromEntries([...text.matchAll(/^(hw:[^=\s]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return vcpus ? { vcpus: Number(vcpus[1]), ram: plan.memoryMiB, extra_specs: specs } : f;
}

const nova: { c: string; id: string; text: string; flavor: NovaFlavor; plan: PlanView }[] = [];
for (const k of RENDER_CASES) {
  const j = JSON.parse((await runCli([...k.args, '--format', 'json'])).out);
  const plan: PlanView = k.args[0] === 'plan' ? (Object.values(j.renderings)[0] as { plan: PlanView }).plan : j.plan;
  for (const c of CONSUMERS) {
    const r = spawnSync('node', [bin, ...k.args, '--format', c], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
    if (r.status !== 0) {
      add(c, k.id, { ok: false, problems: [`exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`] });
      continue;
    }
    // LENIENT=1: forgive prose above the document (older `topology suggest` printed its
    // explanation, then `# --format X`, then the document, all on stdout) to judge the content alone.
    const marker = `\n# --format ${c}\n`;
    const text = process.env.LENIENT && r.stdout.includes(marker) ? r.stdout.slice(r.stdout.indexOf(marker) + marker.length) : r.stdout;
    if (c === 'qemu') add(c, k.id, await judgeQemu(text, plan));
    else if (c === 'libvirt') add(c, k.id, await judgeLibvirt(text, plan, `kvt-render-before-${process.pid}`));
    else if (c === 'kubevirt') add(c, k.id, judgeKubevirt(text, plan));
    else if (c === 'proxmox') add(c, k.id, judgeProxmox(text, plan));
    else {
      const flavor = flavorOf(text, plan, c === 'nova-json');
      if (typeof flavor === 'string') add(c, k.id, { ok: false, problems: [flavor] });
      else nova.push({ c, id: k.id, text, flavor, plan });
    }
  }
}
askNova(nova.map((x) => x.flavor)).forEach((a, i) => add(nova[i]!.c, nova[i]!.id, judgeNova(nova[i]!.text, nova[i]!.flavor, a, nova[i]!.plan)));
console.log(`${bin} over ${RENDER_CASES.length} plans:`);
for (const c of CONSUMERS) console.log(`  ${c.padEnd(9)} ${tally[c]!.pass}/${tally[c]!.pass + tally[c]!.fail}`);
if (process.env.VERBOSE) console.log(why.join('\n'));
