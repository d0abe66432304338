import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixtures = path.join(repoRoot, 'test/fixtures/hosts');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvcpu-cli-host-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from([]) });
  return { code, out, err };
}

describe('kvcpu host', () => {
  it('prints an lscpu-like summary and an lscpu -e style table', async () => {
    const r = await run(['host', '--root', path.join(fixtures, 'old-kernel-hexmask-2s2c2t')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Architecture:\s+x86_64$/m);
    expect(r.out).toMatch(/^On-line CPU\(s\) list:\s+0-4,6-7$/m);
    expect(r.out).toMatch(/^Off-line CPU\(s\) list:\s+5$/m);
    expect(r.out).toMatch(/^Thread\(s\) per core:\s+1-2$/m);
    expect(r.out).toMatch(/^Socket\(s\):\s+2$/m);
    expect(r.out).toMatch(/^NUMA node2 CPU\(s\):\s+\(none/m);
    expect(r.out).toMatch(/^Virtualization:\s+VT-x$/m);
    expect(r.out).toMatch(/^CPU\s+NODE\s+SOCKET\s+DIE\s+CORE\s+L3\s+ONLINE\s+MAXMHZ$/m);
    expect(r.out).toMatch(/^\s+5\s+0\s+-\s+-\s+-\s+-\s+no\s+-$/m);
    expect(r.out).toMatch(/^\s+6\s+0\s+1\s+-\s+2\s+1\s+yes\s+-$/m);
  });

  it('--json prints the HostSnapshot with the fields scripts rely on', async () => {
    const r = await run(['host', '--json', '--root', path.join(fixtures, 'this-machine-amd-epyc-2c')]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.cpus.online).toBe('0-1');
    expect(j.topology).toMatchObject({ sockets: 1, cores: 2, threadsPerCore: 1 });
    expect(j.numa.nodes).toEqual([expect.objectContaining({ id: 0, cpus: '0-1' })]);
    expect(j.perCpu[1]).toMatchObject({ cpu: 1, online: true, socket: 0, core: 1, siblings: '1', node: 0 });
  });

  it('shows one model line on a homogeneous CPU, and flags a nested guest', async () => {
    const r = await run(['host', '--root', path.join(fixtures, 'this-machine-amd-epyc-2c')]);
    expect(r.out.match(/^Model name:/gm)).toHaveLength(1);
    expect(r.out).toMatch(/^Hypervisor flag:\s+yes/m);
  });

  const hybrid = path.resolve(repoRoot, '../shared/reference/hosts/cases/hw-20em64t-hybrid-1p6c2t+2ca4co1t/root');
  it.skipIf(!existsSync(hybrid))('shows one model line per core kind on a hybrid Intel CPU', async () => {
    const r = await run(['host', '--root', hybrid]);
    expect(r.out).toMatch(/^Model name:\s+.*i7-1370P \(P-core\) \(CPUs 0-11\)$/m);
    expect(r.out).toMatch(/^Model name:\s+.*i7-1370P \(E-core\) \(CPUs 12-19\)$/m);
    expect(r.out).toMatch(/^\s+19\s+0\s+0\s+0\s+13\s+0\s+yes\s+3900\.0000$/m);
  });

  it('fails with E_SYSFS_MISSING (exit 2, hint) on an empty root', async () => {
    const r = await run(['host', '--root', tmp]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error E_SYSFS_MISSING: /m);
    expect(r.err).toMatch(/^hint: /m);
    const j = await run(['host', '--json', '--root', tmp]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.out)).toMatchObject({ ok: false, error: { code: 'E_SYSFS_MISSING' } });
  });

  it('runs on the live host', async () => {
    const r = await run(['host', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).root).toBe('/');
  });
});

describe('kvcpu capture', () => {
  it('captures a tree that `kvcpu host --root` reads back identically', async () => {
    const src = path.join(fixtures, 'old-kernel-hexmask-2s2c2t');
    const dir = path.join(tmp, 'cap');
    const c = await run(['capture', dir, '--root', src, '--json']);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.out)).toMatchObject({ dir, format: 'kvcpu-capture/1' });
    const a = JSON.parse((await run(['host', '--json', '--root', src])).out);
    const b = JSON.parse((await run(['host', '--json', '--root', dir])).out);
    expect({ ...b, root: '' }).toEqual({ ...a, root: '' });
    const again = await run(['capture', dir, '--root', src]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/E_BAD_INPUT/);
  });
});
