// Real QEMU as the oracle for kvcpu's -smp model: generated specs (valid and invalid) are given
// to both `parseSmp` and `qemu-system-x86_64 -S` (TCG), and every answer must agree: the
// normalized topology (qom-get /machine smp), every CPU slot (query-hotpluggable-cpus), the
// present vCPUs (query-cpus-fast), the warnings, or QEMU's exact error text and location.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { isKvcpuError } from '../../src/core/errors.ts';
import { qemuAvailable } from '../../src/qmp/start-qemu.ts';
import { renderTopology } from '../../src/render/render-topology.ts';
import { generateSmpCases, mulberry32 } from '../../src/smp/generate-smp-cases.test-helpers.ts';
import { parseSmp } from '../../src/smp/parse-smp.ts';
import { askQemuSmp, compareWithQemu, qemuBinaryVersion } from '../../src/smp/verify-smp.ts';
import { mapLimit } from '../support/map-limit.ts';

const haveQemu = qemuAvailable();
const qemuVersion = haveQemu ? await qemuBinaryVersion() : '';
// kvcpu's rules were verified against 7.2; another installed QEMU would need its own profile.
const skipReason = !haveQemu
  ? 'qemu-system-x86_64 not installed'
  : !qemuVersion.startsWith('7.2.')
    ? `installed QEMU is ${qemuVersion}, the oracle tests model 7.2`
    : '';
if (skipReason) console.warn(`smp-verify e2e skipped: ${skipReason}`);

const SEED = 20261127;
const N = Number(process.env.KVCPU_SMP_ORACLE_N ?? 300);
// Each case starts one QEMU (~0.15 s idle, several times that when the host is busy): stop
// starting new ones after this budget, but insist on a meaningful minimum.
const BUDGET_MS = Number(process.env.KVCPU_SMP_ORACLE_BUDGET_MS ?? 150_000);
const MIN_CHECKED = Math.min(N, 120);

function bufferIo(stdinLines: string[] = []) {
  const io = { outText: '', errText: '' };
  return {
    io,
    cli: { out: (s: string) => void (io.outText += s), err: (s: string) => void (io.errText += s), color: false, stdin: Readable.from(stdinLines) },
  };
}

afterAll(() => {
  // askQemuSmp stops every QEMU it starts; make sure none of ours is left.
  const r = spawnSync('pgrep', ['-P', String(process.pid), 'qemu-system'], { encoding: 'utf8' });
  expect(r.stdout.trim()).toBe('');
});

describe.skipIf(skipReason !== '')('kvcpu smp vs real QEMU 7.2 (oracle)', () => {
  it(`agrees with QEMU on ${N} generated -smp specs (seed ${SEED})`, { timeout: 240_000 }, async () => {
    const cases = generateSmpCases(mulberry32(SEED), N);
    let timeouts = 0;
    const all = await mapLimit(
      cases,
      2,
      async (c) => {
        const parsed = parseSmp(c.smp, { machine: c.machine, accel: 'tcg' });
        try {
          const answer = await askQemuSmp([c.smp], { machine: c.machine, accel: 'tcg', timeoutMs: 45_000 });
          return { c, parsed, answer, diffs: compareWithQemu(parsed, answer) };
        } catch (e) {
          // A QEMU that does not come up in time on a busy host is no answer, not a disagreement.
          if (isKvcpuError(e) && e.code === 'E_TIMEOUT') {
            timeouts++;
            return null;
          }
          throw e;
        }
      },
      Date.now() + BUDGET_MS,
    );
    const results = all.filter((r) => r !== null);
    expect(timeouts).toBeLessThanOrEqual(Math.max(2, all.length * 0.05));
    console.info(`smp oracle: ${results.length} of ${N} generated specs checked against QEMU ${qemuVersion}`);
    expect(results.length).toBeGreaterThanOrEqual(MIN_CHECKED);
    const disagreements = results.filter((r) => r.diffs.length > 0).map((r) => `-machine ${r.c.machine} -smp '${r.c.smp}': ${r.diffs.join('; ')}`);
    expect(disagreements).toEqual([]);
    // The generator must exercise both sides and several refusal classes.
    const accepted = results.filter((r) => r.answer.ok).length;
    const codes = new Set(results.flatMap((r) => (r.parsed.ok ? [] : [r.parsed.error.code])));
    expect(accepted).toBeGreaterThan(results.length * 0.3);
    expect(results.length - accepted).toBeGreaterThan(results.length * 0.15);
    for (const code of ['E_SMP_SYNTAX', 'E_SMP_NOT_INTEGER', 'E_SMP_UNKNOWN_KEY', 'E_SMP_PRODUCT_MISMATCH', 'E_SMP_TOO_MANY_CPUS']) {
      expect([...codes]).toContain(code);
    }
  });

  it('multiple -smp options merge like QEMU', async () => {
    for (const specs of [
      ['4', 'sockets=2'],
      ['8,sockets=2', 'sockets=4'],
      ['4', '8'],
    ]) {
      const parsed = parseSmp(specs, { accel: 'tcg' });
      const answer = await askQemuSmp(specs, { accel: 'tcg' });
      expect(compareWithQemu(parsed, answer), specs.join(' -smp ')).toEqual([]);
    }
  });

  it('QEMU accepts the rendered -smp of every topology exactly as planned', { timeout: 120_000 }, async () => {
    const specs: [string, string][] = [
      ['8', 'q35'],
      ['8,threads=2', 'q35'],
      ['2,maxcpus=8,sockets=2,dies=2', 'q35'],
      ['sockets=2,cores=3,threads=2', 'pc'],
      ['12,dies=2,threads=2', 'pc-q35-6.1'],
      ['3,maxcpus=6', 'pc-i440fx-6.1'],
      ['4,sockets=2', 'microvm'],
      ['1', 'none'],
    ];
    for (const [spec, machine] of specs) {
      const parsed = parseSmp(spec, { machine, accel: 'tcg' });
      expect(parsed.ok, spec).toBe(true);
      if (!parsed.ok) continue;
      const text = renderTopology(parsed.topology, 'qemu', { machine });
      const m = /^-machine (\S+) -smp (\S+)$/m.exec(text);
      expect(m, text).not.toBeNull();
      const answer = await askQemuSmp([m![2]!], { machine: m![1]!, accel: 'tcg' });
      expect(compareWithQemu(parseSmp(m![2]!, { machine: m![1]!, accel: 'tcg' }), answer), text).toEqual([]);
      // and it is the same topology the user's spec gave
      expect(answer.smpProperty).toMatchObject({
        sockets: parsed.topology.sockets,
        cores: parsed.topology.cores,
        threads: parsed.topology.threads,
        cpus: parsed.topology.cpus,
        maxcpus: parsed.topology.maxcpus,
      });
    }
  });

  it('kvcpu smp --verify (CLI) reports agreement and disagreement sensibly', async () => {
    const a = bufferIo();
    expect(await main(['smp', '8,threads=2', '--verify', '--json'], a.cli)).toBe(0);
    const j = JSON.parse(a.io.outText);
    expect(j).toMatchObject({ ok: true, verify: { agrees: true, differences: [], qemuTopology: { sockets: 1, cores: 4, threads: 2, cpus: 8, maxcpus: 8 } } });
    const b = bufferIo();
    expect(await main(['smp', '5,sockets=2', '--verify'], b.cli)).toBe(2);
    expect(b.io.outText).toContain('refused with the same message');
    // modelling QEMU 6.1 while 7.2 is installed is a difference --verify must report (exit 1)
    const c = bufferIo();
    expect(await main(['smp', '8', '--machine', 'pc-q35-6.1', '--qemu-version', '6.1', '--verify'], c.cli)).toBe(1);
    expect(c.io.outText).toMatch(/modelled QEMU 6\.1 but the installed QEMU is 7\.2/);
    const d = bufferIo(['{"smp":"4"}\n', '{"smp":"4,x=1"}\n']);
    expect(await main(['smp', '--batch', '--verify'], d.cli)).toBe(0);
    const lines = d.io.outText
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.ok, l.verify.agrees])).toEqual([
      [true, true],
      [false, true],
    ]);
  });
});

const haveVirsh = spawnSync('virsh', ['--version'], { encoding: 'utf8' }).status === 0;
describe.skipIf(!haveVirsh)('libvirt accepts the rendered domain (virsh define --validate, test driver)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-virsh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const spec of ['4', '4,maxcpus=8,sockets=2', '12,dies=2,threads=2', '1,maxcpus=4']) {
    it(`-smp ${spec}`, () => {
      const r = parseSmp(spec);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const file = join(dir, 'guest.xml');
      writeFileSync(file, renderTopology(r.topology, 'libvirt', { name: 'kvcpu-smp' }));
      const out = spawnSync(
        'virsh',
        ['-c', 'test:///default', `define --validate ${file}; vcpucount kvcpu-smp --config --maximum; vcpucount kvcpu-smp --config --current`],
        {
          encoding: 'utf8',
        },
      );
      expect(out.status, out.stderr).toBe(0);
      const nums = out.stdout.match(/^\d+$/gm);
      expect(nums).toEqual([String(r.topology.maxcpus), String(r.topology.cpus)]);
    });
  }
});

// Other targets, when their QEMU is installed (Debian: qemu-system-arm, qemu-system-misc).
const armQemu = qemuAvailable('qemu-system-aarch64') && (await qemuBinaryVersion('qemu-system-aarch64')).startsWith('7.2.');
describe.skipIf(!armQemu)('arm virt vs real qemu-system-aarch64 7.2 (clusters, GICv2 limit, prefer sockets <= 6.1)', () => {
  it('agrees on generated specs', { timeout: 120_000 }, async () => {
    const machines = ['virt', 'virt-6.1', 'virt-6.2', 'virt-7.0', 'virt,gic-version=3'];
    const cases = generateSmpCases(mulberry32(SEED + 1), 60).map((c, i) => ({
      smp: i % 2 ? c.smp.replace('dies=', 'clusters=') : c.smp,
      machine: machines[i % machines.length]!,
    }));
    cases.push({ smp: '16,clusters=2,cores=4', machine: 'virt,gic-version=3' }, { smp: '9', machine: 'virt' }, { smp: '600', machine: 'virt,gic-version=3' });
    const results = await mapLimit(
      cases,
      2,
      async (c) => {
        const parsed = parseSmp(c.smp, { machine: c.machine, accel: 'tcg' });
        const answer = await askQemuSmp([c.smp], { machine: c.machine, accel: 'tcg', binary: 'qemu-system-aarch64', timeoutMs: 45_000 });
        return `${c.machine} -smp '${c.smp}': ${compareWithQemu(parsed, answer).join('; ')}`;
      },
      Date.now() + 90_000,
    );
    expect(results.length).toBeGreaterThan(30);
    expect(results.filter((r) => !r.endsWith(': '))).toEqual([]);
  });
});

const s390Qemu = qemuAvailable('qemu-system-s390x') && (await qemuBinaryVersion('qemu-system-s390x')).startsWith('7.2.');
describe.skipIf(!s390Qemu)('s390x vs real qemu-system-s390x 7.2 (max 248, no SMT on >= 7.2 types, prefer sockets <= 6.1)', () => {
  it('agrees on generated specs', { timeout: 120_000 }, async () => {
    const machines = ['s390-ccw-virtio', 's390-ccw-virtio-6.1', 's390-ccw-virtio-6.2', 's390-ccw-virtio-7.1'];
    const cases = generateSmpCases(mulberry32(SEED + 2), 50).map((c, i) => ({ smp: c.smp, machine: machines[i % machines.length]! }));
    cases.push(
      { smp: '4,threads=2', machine: 's390-ccw-virtio' },
      { smp: '249', machine: 's390-ccw-virtio' },
      { smp: '1,maxcpus=248,sockets=8', machine: 's390-ccw-virtio' },
    );
    const results = await mapLimit(
      cases,
      2,
      async (c) => {
        const parsed = parseSmp(c.smp, { machine: c.machine, accel: 'tcg' });
        const answer = await askQemuSmp([c.smp], { machine: c.machine, accel: 'tcg', binary: 'qemu-system-s390x', timeoutMs: 45_000 });
        return `${c.machine} -smp '${c.smp}': ${compareWithQemu(parsed, answer).join('; ')}`;
      },
      Date.now() + 90_000,
    );
    expect(results.length).toBeGreaterThan(25);
    expect(results.filter((r) => !r.endsWith(': '))).toEqual([]);
  });
});
