import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ref = resolve(repoRoot, '../shared/reference');
const casesFile = join(ref, 'nova/topology-cases.jsonl');
const smtHost = join(ref, 'hosts/cases/hw-32intel64-2p8co2t+8ve/root');

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), color: false, stdin: Readable.from([stdin]) });
  return { code, out, err };
}

describe.skipIf(!existsSync(casesFile))('kvcpu topology nova --batch over the shared Nova cases', () => {
  it('answers every best/possible/sorted/constraints case exactly as Nova 26.2.2', async () => {
    const cases = readFileSync(casesFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown> & { kind: string; expected: Record<string, unknown> });
    expect(cases.some((c) => c.kind === 'constraints')).toBe(true);
    const input = cases.map((c) => {
      const { expected: _e, flags: _f, ...rest } = c;
      return JSON.stringify(rest);
    });
    const { code, out } = await run(['topology', 'nova', '--batch'], input.join('\n') + '\n');
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      const want = c.expected.error
        ? { error: c.expected.error }
        : c.kind === 'constraints'
          ? { preferred: c.expected.preferred, maximum: c.expected.maximum }
          : { best: c.expected.ranked ? (c.expected.ranked as unknown[])[0] : undefined, ranked: c.expected.ranked };
      expect(lines[i], String(c.id)).toEqual(want);
    });
  });
});

describe('kvcpu topology nova', () => {
  it('single case, human output with the traps', async () => {
    const r = await run(['topology', 'nova', '--vcpus', '8', '--flavor', 'hw:max_cpu_sockets=2', '--flavor', 'hw:cpu_sockets=1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/8 vCPUs -> 1 socket\(s\) x 8 core\(s\) x 1 thread\(s\)/);
    expect(r.out).toMatch(/hw:max_cpu_sockets passes Nova's extra-spec validator but the topology code ignores it/);
  });
  it('Nova exceptions exit 1 with the class name; JSON has it too', async () => {
    const r = await run(['topology', 'nova', '--vcpus', '16', '--flavor', 'hw:cpu_max_sockets=4', '--image', 'hw_cpu_sockets=8', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, error: 'ImageVCPUTopologyRangeExceeded' });
  });
  it('--no-threads caps threads at 1 (VMware)', async () => {
    const r = await run(['topology', 'nova', '--vcpus', '8', '--image', 'hw_cpu_threads=2', '--no-threads', '--json']);
    expect(JSON.parse(r.out).best).toEqual([8, 1, 1]);
  });
  it('batch: bad lines give E_ codes in place and exit 2', async () => {
    const r = await run(['topology', 'nova', '--batch'], '{"vcpus":4}\nnot json\n{"vcpus":0}\n{"vcpus":6,"maximum":[2,1,1]}\n');
    expect(r.code).toBe(2);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({
      best: [4, 1, 1],
      ranked: [
        [4, 1, 1],
        [2, 2, 1],
        [1, 4, 1],
        [2, 1, 2],
        [1, 2, 2],
        [1, 1, 4],
      ],
    });
    expect(lines[1].error).toBe('E_BAD_JSON');
    expect(lines[2].error).toBe('E_BAD_INPUT');
    expect(lines[3]).toEqual({ error: 'ImageVCPULimitsRangeImpossible' });
  });
  it('usage errors', async () => {
    expect((await run(['topology', 'nova'])).code).toBe(2);
    const r = await run(['topology', 'nova', '--vcpus', '4', '--flavor', 'nonsense', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe('E_BAD_INPUT');
  });
});

describe.skipIf(!existsSync(smtHost))('kvcpu topology suggest (reference host)', () => {
  it('human output explains each choice and renders qemu args with NUMA', async () => {
    const r = await run(['topology', 'suggest', '--vcpus', '8', '--cpus', '0-1,16-17,8-9,24-25', '--root', smtHost, '--memory', '2048']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 sockets x 2 cores x 2 threads = 8 vCPUs/);
    expect(r.out).toMatch(/^ {2}threads=2: /m);
    expect(r.out).toMatch(/^ {2}sockets=2: /m);
    expect(r.out).toMatch(/-smp cpus=8,sockets=2,dies=1,cores=2,threads=2,maxcpus=8/);
    expect(r.out).toMatch(/-numa node,nodeid=1,cpus=4-7,memdev=ram1/);
    expect(r.out).toMatch(/pin \(vCPU:host CPU\): 0:0 1:16 2:1 3:17 4:8 5:24 6:9 7:25/);
  });
  it('--json and --format json', async () => {
    const a = await run(['topology', 'suggest', '--vcpus', '4', '--root', smtHost, '--json', '--format', 'libvirt']);
    const j = JSON.parse(a.out);
    expect(j).toMatchObject({ ok: true, topology: { sockets: 1, cores: 4, threads: 1, cpus: 4, maxcpus: 4 }, machine: 'pc-q35-7.2' });
    expect(j.renderings.libvirt.text).toMatch(/<topology /);
    expect(Object.keys(j.renderings)).toEqual(['qemu', 'libvirt', 'kubevirt', 'nova', 'nova-json', 'proxmox']);
    expect(j.plan).toMatchObject({ arch: 'x86_64', memoryMiB: 1024, cells: [], pins: null });
    const b = await run(['topology', 'suggest', '--vcpus', '4', '--root', smtHost, '--format', 'json']);
    expect(JSON.parse(b.out).smp).toBe('cpus=4,sockets=1,dies=1,cores=4,threads=1,maxcpus=4');
  });
  it('--host FILE.json equals --root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvcpu-topo-'));
    try {
      const snap = await run(['host', '--root', smtHost, '--json']);
      writeFileSync(join(dir, 'host.json'), snap.out);
      const a = await run(['topology', 'suggest', '--vcpus', '8', '--cpus', '0-3,16-19', '--root', smtHost, '--json']);
      const b = await run(['topology', 'suggest', '--vcpus', '8', '--cpus', '0-3,16-19', '--host', join(dir, 'host.json'), '--json']);
      expect(b.code).toBe(0);
      expect(JSON.parse(b.out)).toEqual(JSON.parse(a.out));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('one plan for every format: KubeVirt states its whole-socket hot-plug re-layout (stdout is only the document)', async () => {
    const r = await run(['topology', 'suggest', '--vcpus', '4', '--cpus', '0-1,16-17', '--max', '8', '--root', smtHost, '--format', 'kubevirt']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^# warning: KubeVirt hot-plugs whole sockets: the plan's 1 socket\(s\) x 4 cores \(4 of 8 present\) becomes 1 of 2 sockets x 2 cores x 2 threads \[W_KUBEVIRT_HOTPLUG_SOCKETS\]/m,
    );
    expect(r.out).toMatch(/maxSockets: 2/);
    expect(r.out).not.toMatch(/guest topology:/);
    expect(r.err).toMatch(/W_KUBEVIRT_HOTPLUG_SOCKETS/);
    const q = await run(['topology', 'suggest', '--vcpus', '4', '--cpus', '0-1,16-17', '--max', '8', '--root', smtHost, '--json']);
    expect(JSON.parse(q.out).hotplug).toEqual({ level: 'core', vcpusPerStep: 2, steps: 2 });
  });
  it('errors carry stable codes', async () => {
    const mismatch = await run(['topology', 'suggest', '--vcpus', '8', '--cpus', '0-3', '--root', smtHost, '--json']);
    expect(mismatch.code).toBe(2);
    expect(JSON.parse(mismatch.out).error.code).toBe('E_CPUS_COUNT_MISMATCH');
    const tooMany = await run(['topology', 'suggest', '--vcpus', '33', '--root', smtHost]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.err).toMatch(/error E_VCPUS_EXCEED_HOST/);
    const badOs = await run(['topology', 'suggest', '--vcpus', '2', '--os', 'dos', '--root', smtHost]);
    expect(badOs.code).toBe(2);
  });
});
