import type { Command } from 'commander';
import { renderHost } from '../../host/render-host.ts';
import { readHost } from '../../host/read-host.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { writeJson } from '../output.ts';

/** `kvcpu host [--root DIR] [--json]`: the host's CPUs, lscpu-style. */
export const registerHost: RegisterCommand = (program: Command, ctx) => {
  program
    .command('host')
    .description("show this host's CPUs: online/offline lists, model, flags, sockets/cores/threads, NUMA nodes, L3 domains (like lscpu)")
    .option('--root <dir>', 'read /proc and /sys under DIR (a tree made by `kvcpu capture`)', '/')
    .option('--json', 'print the host snapshot as JSON')
    .action(
      act(ctx, (opts: { root: string; json?: boolean }) => {
        const snap = readHost({ root: opts.root });
        if (opts.json) writeJson(ctx.io, snap);
        else ctx.io.out(renderHost(snap));
        return 0;
      }),
    );
};
