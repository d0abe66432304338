// Issue 16 item 7 (part) and the vCPUs-vs-host rule: `topology suggest --cpus` is a set (the
// pin mapping follows the topology, and a different written order is pointed out); the reasons
// name the same level values as the topology once --max grows a level; --vcpus above the host
// is refused and --max above it warned with the words overcommit uses.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { parseCpulist } from '../core/cpulist.ts';
import { checkVcpusFitHost } from '../guests/assess-overcommit.ts';
import { readHost } from '../host/read-host.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const smtHost = join(repoRoot, '../shared/reference/hosts/cases/hw-32intel64-2p8co2t+8ve/root');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), color: false, stdin: Readable.from([]) });
  return { code, out, err };
}

interface Suggestion {
  topology: Record<'sockets' | 'dies' | 'cores' | 'threads' | 'cpus' | 'maxcpus', number>;
  reasons: string[];
  warnings: string[];
  pin: { vcpu: number; hostCpu: number }[] | null;
}

async function suggest(args: string[]): Promise<Suggestion> {
  const r = await run(['topology', 'suggest', '--json', ...args]);
  expect(r.code, r.err + r.out).toBe(0);
  return JSON.parse(r.out) as Suggestion;
}

/** Every `level=N` a reason starts with must be the topology's value for that level. */
function reasonsAgree(s: Suggestion): string[] {
  const bad: string[] = [];
  for (const r of s.reasons) {
    const m = /^(sockets|dies|cores|threads|maxcpus)=(\d+)/.exec(r);
    if (m && s.topology[m[1] as keyof Suggestion['topology']] !== Number(m[2])) bad.push(r);
  }
  return bad;
}

describe.skipIf(!existsSync(smtHost))('topology suggest --cpus is a set (reference host: 2 sockets x 8 cores x 2 threads)', () => {
  it('the written order does not change the mapping, and a different order is pointed out', async () => {
    const sorted = await suggest(['--vcpus', '4', '--cpus', '0-1,16-17', '--root', smtHost]);
    const shuffled = await suggest(['--vcpus', '4', '--cpus', '17,1,16,0', '--root', smtHost]);
    expect(shuffled.topology).toEqual(sorted.topology);
    expect(shuffled.pin).toEqual(sorted.pin);
    // 0/16 and 1/17 are SMT siblings: guest cores are host cores.
    expect(sorted.pin!.map((p) => p.hostCpu)).toEqual([0, 16, 1, 17]);
    expect(
      shuffled.warnings.some((w) =>
        w.startsWith(
          '--cpus is a set of host CPUs, not a vCPU order: vCPUs are pinned in topology order (0:0 1:16 2:1 3:17), not in the order written (17,1,16,0)',
        ),
      ),
    ).toBe(true);
    // Written as the mapping already: no warning.
    const exact = await suggest(['--vcpus', '4', '--cpus', '0,16,1,17', '--root', smtHost]);
    expect(exact.warnings.filter((w) => w.startsWith('--cpus is a set'))).toEqual([]);
  });

  it('a CPU given twice is refused (E_CPUS_DUPLICATE), even through a range', async () => {
    for (const cpus of ['0,0', '0-3,2']) {
      const r = await run(['topology', 'suggest', '--vcpus', cpus === '0,0' ? '2' : '5', '--cpus', cpus, '--root', smtHost, '--json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out).error.code).toBe('E_CPUS_DUPLICATE');
    }
  });

  it('with --max, each reason names the level value the topology has', async () => {
    const cases = [
      ['--vcpus', '4', '--max', '8'], // cores grow
      ['--vcpus', '4', '--cpus', '0-1,16-17', '--max', '8'], // cores of 2 threads grow
      ['--vcpus', '8', '--cpus', '0-1,16-17,8-9,24-25', '--max', '16'], // sockets grow (2 nodes)
      ['--vcpus', '8', '--cpus', '0-3,8-11', '--max', '16'], // sockets grow (host sockets)
    ];
    let grown = 0;
    for (const c of cases) {
      const s = await suggest([...c, '--root', smtHost]);
      expect(reasonsAgree(s), c.join(' ')).toEqual([]);
      if (s.reasons.some((r) => /hot-pluggable\)/.test(r))) grown++;
    }
    expect(grown).toBe(cases.length);
  });
});

describe('topology suggest: vCPUs vs host CPUs, the same rule as overcommit (this host)', () => {
  const hostCpus = parseCpulist(readHost().cpus.online).length;

  it(`--vcpus ${hostCpus + 1} is refused with the overcommit FAIL's words; --max ${hostCpus + 2} is warned with its WARN's`, async () => {
    const r = await run(['topology', 'suggest', '--vcpus', String(hostCpus + 1), '--json']);
    expect(r.code).toBe(2);
    const e = JSON.parse(r.out).error;
    expect(e.code).toBe('E_VCPUS_EXCEED_HOST');
    expect(e.message).toBe(`--vcpus ${hostCpus + 1}: ${checkVcpusFitHost({ vcpus: hostCpus + 1, hostCpus })[0]!.message}`);

    const s = await suggest(['--vcpus', String(hostCpus), '--max', String(hostCpus + 2)]);
    expect(s.topology).toMatchObject({ cpus: hostCpus, maxcpus: hostCpus + 2 });
    expect(s.warnings).toContain(`--max ${hostCpus + 2}: ${checkVcpusFitHost({ vcpus: hostCpus, maxVcpus: hostCpus + 2, hostCpus })[0]!.message}`);
    expect(reasonsAgree(s)).toEqual([]);
    expect(s.reasons.some((r) => r.startsWith(`cores=${hostCpus + 2} (${hostCpus} with the present vCPUs + 2 hot-pluggable)`))).toBe(true);
    // Within the host: no such warning.
    const fits = await suggest(['--vcpus', '1', '--max', String(hostCpus)]);
    expect(fits.warnings.filter((w) => w.includes('hot-plugged'))).toEqual([]);
  });
});
