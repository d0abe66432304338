import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseCpulist } from '../../core/cpulist.ts';
import { readHost } from '../../host/read-host.ts';
import { assessOvercommit, DEFAULT_OVERCOMMIT_RATIO } from '../../guests/assess-overcommit.ts';
import { renderOvercommit } from '../../guests/render-guests.ts';
import { snapshotGuests } from '../../guests/snapshot-guests.ts';
import { filterGuests } from '../../guests/find-guest.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { paint, writeJson } from '../output.ts';

function parseRatio(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(?::1)?$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError('expected a ratio like 4 or 4:1 or 1.5');
  return Number(m[1]);
}

/** `kvcpu overcommit [--ratio R] [--json]`: exit 1 on FAIL. */
export const registerOvercommit: RegisterCommand = (program: Command, ctx) => {
  program
    .command('overcommit')
    .argument('[guest...]', 'audit only these guests (names or pids) against the host')
    .description(
      'audit CPU overcommit of running guests: vCPUs vs online host CPUs, guests larger than the host (or able to grow past it by hot-plug), pCPUs pinned by two guests or open to floating vCPUs of others, vCPU threads per pCPU now',
    )
    .option(
      '--ratio <r>',
      `vCPU:pCPU limit (default ${DEFAULT_OVERCOMMIT_RATIO}:1 = OpenStack Nova's initial_cpu_allocation_ratio since 2023.1, down from 16.0; use 1 for pinned/latency-sensitive hosts)`,
      parseRatio,
      DEFAULT_OVERCOMMIT_RATIO,
    )
    .option('--root <dir>', 'read /proc and /sys under DIR', '/')
    .option('--json', 'print the report as JSON (hostCpus, guestVcpus, ratio, checks...)')
    .action(
      act(ctx, async (refs: string[], opts: { ratio: number; root: string; json?: boolean }) => {
        const host = readHost({ root: opts.root });
        const snap = filterGuests(await snapshotGuests({ root: opts.root, host, full: false }), refs);
        const report = assessOvercommit(snap, parseCpulist(host.cpus.online), opts.ratio);
        if (opts.json) writeJson(ctx.io, report);
        else {
          const p = paint(ctx.io);
          ctx.io.out(renderOvercommit(report).replace(/^(Verdict:\s+)(\w+)/, (_, a: string, v: string) => a + p.status(v)));
        }
        return report.verdict === 'FAIL' ? 1 : 0;
      }),
    );
};
