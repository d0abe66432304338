import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../main.ts';

async function run(argv: string[], stdin: string[] = []) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from(stdin) });
  return { code, out, err };
}

describe('kvcpu smp', () => {
  it('--json prints the topology and canonical form', async () => {
    const r = await run(['smp', '8,threads=2', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      ok: true,
      topology: { sockets: 1, dies: 1, clusters: 1, cores: 4, threads: 2, cpus: 8, maxcpus: 8 },
      canonical: 'cpus=8,sockets=1,dies=1,cores=4,threads=2,maxcpus=8',
    });
  });
  it('--json refusal: exit 2 with the code and QEMU text', async () => {
    const r = await run(['smp', '7,threads=2', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({
      ok: false,
      error: {
        code: 'E_SMP_PRODUCT_MISMATCH',
        message: 'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (1) * dies (1) * cores (3) * threads (2) != maxcpus (7)',
      },
    });
  });
  it('human output explains each filled value with its rule', async () => {
    const r = await run(['smp', '8', '--machine', 'pc-q35-6.1']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('topology:  8 sockets × 1 core × 1 thread = 8 vCPUs');
    expect(r.out).toMatch(/^  sockets = 8 +omitted → maxcpus \/ \(other levels\) = 8 \/ 1 \(machine types <= 6.1 prefer sockets\)$/m);
    expect(r.out).toMatch(/^  cores = 1 +omitted → 1 /m);
    const bad = await run(['smp', '4,2']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("error E_SMP_SYNTAX: -smp 4,2: Invalid parameter '2'");
  });
  it('several SPEC arguments are several -smp options', async () => {
    const r = await run(['smp', '8,sockets=2', 'sockets=4', '--json']);
    expect(JSON.parse(r.out).topology).toMatchObject({ sockets: 4, cores: 2 });
  });
  it('--batch: one result per line in order, bad lines as E_BAD_JSON, exit 0', async () => {
    const r = await run(
      ['smp', '--batch', '--machine', 'pc'],
      [
        '{"smp":"4"}\n',
        'not json\n',
        '\n',
        '{"smp":"8","machine":"pc-q35-6.1"}\n',
        '{"smp":"4","qemuVersion":"9.0"}\n',
        '{"smp":5}\n',
        '{"smp":"4,cores=0","qemuVersion":"9.0"}\n',
      ],
    );
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatchObject({ ok: true, topology: { cores: 4 } });
    expect(lines[1]).toMatchObject({ ok: false, error: { code: 'E_BAD_JSON' } });
    expect(lines[2]).toMatchObject({ ok: true, topology: { sockets: 8, cores: 1 } });
    expect(lines[3]).toMatchObject({ ok: true, topology: { cores: 4 } }); // `pc` on 9.0 = pc-i440fx-9.0
    expect(lines[4]).toMatchObject({ ok: false, error: { code: 'E_BAD_JSON' } });
    expect(lines[5]).toMatchObject({ ok: false, error: { code: 'E_SMP_ZERO' } });
  });
  it('--format renders for a consumer', async () => {
    const r = await run(['smp', '4,maxcpus=8', '--format', 'libvirt', '--name', 'db1']);
    expect(r.code).toBe(0);
    expect(r.out).toContain("<vcpu placement='static' current='4'>8</vcpu>");
    expect(r.out).toContain('<name>db1</name>');
    const q = await run(['smp', '8,threads=2', '--format', 'qemu', '--machine', 'q35']);
    expect(q.out).toBe('-machine pc-q35-7.2 -smp cpus=8,sockets=1,dies=1,cores=4,threads=2,maxcpus=8\n');
    const j = await run(['smp', '8', '--format', 'json']);
    expect(JSON.parse(j.out)).toMatchObject({ ok: true, canonical: 'cpus=8,sockets=1,dies=1,cores=8,threads=1,maxcpus=8' });
    const e = await run(['smp', '5,sockets=2', '--format', 'kubevirt']);
    expect(e.code).toBe(2);
  });
  it('-smp help prints the member list like QEMU (exit 0)', async () => {
    const r = await run(['smp', 'help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('smp-opts options:\n  clusters=<num>\n  cores=<num>');
  });
  it('usage errors', async () => {
    expect((await run(['smp'])).code).toBe(2);
    expect((await run(['smp', '4', '--batch'])).code).toBe(2);
    expect((await run(['smp', '4', '--format', 'xml'])).code).toBe(2);
  });
});
