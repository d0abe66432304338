/**
 * Issue 17: every rendering is accepted by its consumer's own validator and read back as the
 * plan (test/support/consumer-judges.ts says how, per consumer). Table-driven over
 * test/support/render-cases.ts; counts passes per consumer and prints them, and asserts all pass.
 * Also: each `--format X` prints exactly that one document on stdout (warnings on stderr).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { qemuAvailable } from '../../src/qmp/start-qemu.ts';
import { qemuOptionLines } from '../../src/render/render-qemu.ts';
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
} from '../support/consumer-judges.ts';
import { HOSTS, RENDER_CASES } from '../support/render-cases.ts';
import { runCli } from '../support/run-cli.ts';

const CONSUMERS = ['qemu', 'libvirt', 'kubevirt', 'nova', 'nova-json', 'proxmox'] as const;
type Consumer = (typeof CONSUMERS)[number];

interface Rendered {
  id: string;
  plan: PlanView;
  renderings: Record<Consumer, { text: string; warnings: { code: string }[] } | { error: { code: string; message: string } }>;
  args: string[];
}

const tally = new Map<Consumer, { pass: number; fail: number; refused: number; skipped: number }>(
  CONSUMERS.map((c) => [c, { pass: 0, fail: 0, refused: 0, skipped: 0 }]),
);
const failures: string[] = [];

function count(c: Consumer, id: string, v: Verdict | 'refused'): void {
  const t = tally.get(c)!;
  if (v === 'refused') t.refused++;
  else if (v.skipped) t.skipped++;
  else if (v.ok) t.pass++;
  else {
    t.fail++;
    failures.push(`${c} ${id}: ${v.problems.join('; ')}`);
  }
}

const libvirtUp = spawnSync('virsh', ['-c', 'qemu:///system', 'version'], { encoding: 'utf8', timeout: 30_000 }).status === 0;
const novaUp = spawnSync('/usr/bin/python3', ['-c', 'import nova.virt.hardware'], { encoding: 'utf8', timeout: 60_000 }).status === 0;
const validatorUp = spawnSync('which', ['virt-xml-validate']).status === 0;

async function renderAll(): Promise<Rendered[]> {
  const out: Rendered[] = [];
  for (const c of RENDER_CASES) {
    const r = await runCli([...c.args, '--format', 'json']);
    if (r.code !== 0 && r.code !== 1) throw new Error(`${c.id}: kvcpu ${c.args.join(' ')} --format json exited ${r.code}: ${r.err}${r.out}`);
    const j = JSON.parse(r.out);
    if (c.args[0] === 'plan') {
      const [name] = Object.keys(j.renderings);
      if (!name) throw new Error(`${c.id}: plan refused the guest: ${r.out.slice(0, 400)}`);
      out.push({ id: c.id, plan: j.renderings[name].plan, renderings: j.renderings[name].renderings, args: c.args });
    } else out.push({ id: c.id, plan: j.plan, renderings: j.renderings, args: c.args });
  }
  return out;
}

describe.skipIf(!existsSync(HOSTS))('renderings their consumers accept and read as the plan (issue 17)', () => {
  let rendered: Rendered[] = [];

  it(`renders ${RENDER_CASES.length} plans for every consumer, one document per --format on stdout`, async () => {
    expect(RENDER_CASES.length).toBeGreaterThanOrEqual(40);
    rendered = await renderAll();
    const kinds = { numa: 0, pinned: 0, hotplug: 0, arm: 0, smt: 0 };
    for (const r of rendered) {
      if (r.plan.cells.length > 1) kinds.numa++;
      if (r.plan.pins) kinds.pinned++;
      if (r.plan.topology.cpus < r.plan.topology.maxcpus) kinds.hotplug++;
      if (r.plan.arch === 'aarch64') kinds.arm++;
      if (r.plan.topology.threads > 1) kinds.smt++;
    }
    expect(Math.min(...Object.values(kinds)), JSON.stringify(kinds)).toBeGreaterThanOrEqual(4);
    // --format X: stdout is exactly the document of --format json; warnings with codes on stderr.
    for (const r of rendered) {
      for (const f of CONSUMERS) {
        const want = r.renderings[f];
        const got = await runCli([...r.args, '--format', f]);
        if ('error' in want) {
          expect(got.code, `${r.id} ${f}`).toBe(2);
          expect(got.err).toContain(want.error.code);
          continue;
        }
        if (r.args[0] === 'plan' && f === 'qemu') {
          // plan's qemu form is a start-and-pin script: it starts QEMU with exactly the rendering's options.
          for (const line of qemuOptionLines(want.text)) expect(got.out, `${r.id} qemu script`).toContain(line);
        } else expect(got.out, `${r.id} --format ${f}`).toBe(want.text);
        // (the plan script applies the pins itself with taskset, so it does not warn W_QEMU_PINS)
        for (const w of want.warnings) if (!(r.args[0] === 'plan' && w.code === 'W_QEMU_PINS')) expect(got.err, `${r.id} ${f}`).toContain(w.code);
      }
    }
  }, 600_000);

  it.skipIf(!qemuAvailable())(
    'QEMU starts every QEMU rendering; query-hotpluggable-cpus and info numa match the plan',
    async () => {
      for (const r of rendered) {
        const x = r.renderings.qemu;
        if ('error' in x) count('qemu', r.id, 'refused');
        else count('qemu', r.id, await judgeQemu(x.text, r.plan));
      }
    },
    900_000,
  );

  it.skipIf(!libvirtUp || !validatorUp)(
    'libvirt: virt-xml-validate, virsh define --validate, dumpxml and domxml-to-native read the plan',
    async () => {
      for (const r of rendered) {
        const x = r.renderings.libvirt;
        if ('error' in x) {
          expect(x.error.code, r.id).toMatch(/^E_RENDER_/);
          count('libvirt', r.id, 'refused');
        } else count('libvirt', r.id, await judgeLibvirt(x.text, r.plan, `${r.plan.name}-${process.pid}`));
      }
    },
    900_000,
  );

  it.skipIf(!novaUp)(
    "Nova's extra-spec validators and nova.virt.hardware read the flavors as the plan",
    () => {
      const flavors: { id: string; f: Consumer; flavor: NovaFlavor; text: string; plan: PlanView }[] = [];
      for (const r of rendered) {
        for (const f of ['nova', 'nova-json'] as const) {
          const x = r.renderings[f];
          if ('error' in x) {
            count(f, r.id, 'refused');
            continue;
          }
          const flavor =
            f === 'nova'
              ? flavorFromScript(x.text)
              : (() => {
                  const j = JSON.parse(x.text);
                  return { vcpus: j.flavor.vcpus, ram: j.flavor.ram, extra_specs: j.extra_specs } as NovaFlavor;
                })();
          if (typeof flavor === 'string') count(f, r.id, { ok: false, problems: [flavor] });
          else flavors.push({ id: r.id, f, flavor, text: x.text, plan: r.plan });
        }
      }
      const answers = askNova(flavors.map((x) => x.flavor));
      flavors.forEach((x, i) => count(x.f, x.id, judgeNova(x.text, x.flavor, answers[i]!, x.plan)));
    },
    300_000,
  );

  it("KubeVirt v1.9.0's OpenAPI schema and VMI admission rules accept every VMI, read as the plan", () => {
    for (const r of rendered) {
      const x = r.renderings.kubevirt;
      if ('error' in x) count('kubevirt', r.id, 'refused');
      else {
        expect(parseYaml(x.text).kind).toBe('VirtualMachineInstance');
        count('kubevirt', r.id, judgeKubevirt(x.text, r.plan));
      }
    }
  });

  it("Proxmox: qemu-server's qm.conf rules accept every config, read as the plan", () => {
    for (const r of rendered) {
      const x = r.renderings.proxmox;
      if ('error' in x) count('proxmox', r.id, 'refused');
      else count('proxmox', r.id, judgeProxmox(x.text, r.plan));
    }
  });

  afterAll(() => {
    const lines = [...tally.entries()].map(
      ([c, t]) => `  ${c.padEnd(9)} ${t.pass} passed, ${t.fail} failed, ${t.refused} refused with a code, ${t.skipped} skipped`,
    );
    console.log(`consumer validators over ${rendered.length} plans:\n${lines.join('\n')}`);
    if (failures.length) console.log(failures.join('\n'));
  });

  it('every consumer accepted every rendering it was given', () => {
    expect(failures).toEqual([]);
    const judged = [...tally.values()].reduce((a, t) => a + t.pass + t.fail, 0);
    expect(judged).toBeGreaterThan(0);
  });
});
