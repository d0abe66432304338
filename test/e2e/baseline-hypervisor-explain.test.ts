// Issue 16 rough edge: `cpu baseline --hypervisor kvm` printed "held below x86-64-v2 … by " with
// nothing after "by" when every host has the feature and the hypervisor does not give it. Run on
// this host's real `virsh capabilities` under both accelerators; every "held below" line names
// each feature and what holds it back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderExplanation, type BaselineExplanation } from '../../src/cpu-baseline/explain-baseline.ts';
import { libvirtReachable, virsh } from '../support/libvirt.ts';
import { runCli } from '../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'kvcpu-bl-explain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HELD = /^# held below x86-64-v\d \(best host: v\d\) by (.*)$/m;
const ITEM =
  /^[\w.-]+ \((missing on .+|every host has it, but the hypervisor does not give it to guests|every host has it, but libvirt's CPU map has no such feature)\)$/;

describe('baseline explanation: what holds the level back is always named', () => {
  it('renders hypervisor-held and host-held features alike (no blank after "by")', () => {
    const e: BaselineExplanation = {
      hosts: 2,
      distinctFeatureSets: 2,
      level: {
        level: 1,
        name: 'x86-64',
        bestHostLevel: 3,
        nextNeeds: [
          { feature: 'pni', lackedBy: [], heldBy: 'hypervisor' },
          { feature: 'sse4.2', lackedBy: ['h2'], heldBy: 'hosts' },
        ],
        hypervisor: 'QEMU 7.2.22 (snapshot), kvm',
        wontBoot: [],
      },
      perHost: [],
      limiting: [],
      heldBack: [],
      notes: [],
    };
    const line = HELD.exec(renderExplanation(e, 'kvm64'))![1]!;
    expect(line).toBe(
      'pni (every host has it, but the hypervisor does not give it to guests); sse4.2 (missing on h2) — hypervisor: QEMU 7.2.22 (snapshot), kvm',
    );
  });

  it.skipIf(!libvirtReachable())("on this host's virsh capabilities under kvm and tcg (live libvirtd)", { timeout: 120_000 }, async (ctx) => {
    const caps = join(dir, 'caps.xml');
    writeFileSync(caps, await virsh('capabilities'));
    let held = 0;
    for (const accel of ['kvm', 'tcg']) {
      const r = await runCli(['cpu', 'baseline', '--hypervisor', accel, caps]);
      expect(r.code, r.err).toBe(0);
      const m = HELD.exec(r.err);
      if (!m) continue;
      held++;
      expect(m[1]!.trim(), `${accel}: ${r.err}`).not.toBe('');
      for (const item of m[1]!.split(' — hypervisor: ')[0]!.split('; ')) expect(item, accel).toMatch(ITEM);
      const j = JSON.parse((await runCli(['cpu', 'baseline', '--hypervisor', accel, '--format', 'json', caps])).out);
      for (const n of j.explain.level.nextNeeds) expect(['hosts', 'hypervisor', 'cpu-map']).toContain(n.heldBy);
    }
    if (held === 0) ctx.skip("neither accelerator holds this host's baseline below its own level: nothing to explain here");
  });
});
