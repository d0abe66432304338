import type { Command } from 'commander';
import { readHost } from '../../host/read-host.ts';
import { renderPsTable } from '../../guests/render-guests.ts';
import { snapshotGuests } from '../../guests/snapshot-guests.ts';
import { psJson } from '../../guests/ps-json.ts';
import { filterGuests } from '../../guests/find-guest.ts';
import { wakeVcpus } from '../../guests/wake-vcpus.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { writeJson } from '../output.ts';

/** `kvcpu ps [--json]`: every QEMU guest's threads on one screen. */
export const registerPs: RegisterCommand = (program: Command, ctx) => {
  program
    .command('ps')
    .argument('[guest...]', 'only these guests (names or pids)')
    .description(
      'list every QEMU guest thread (vCPU, emulator, IO, vhost) with its CPU (psr), affinity, CPU time, migrations and run-queue wait; read from /proc, no ps(1)',
    )
    .option('--root <dir>', 'read /proc and /sys under DIR', '/')
    .option('--no-qmp', 'do not ask QMP monitors for vCPU thread ids (only thread names and libvirt)')
    .option(
      '--refresh-psr',
      'first pause+resume every guest (QMP stop+cont; libvirt domains: virsh suspend+resume) so halted vCPUs run once and their psr is current (pauses guests for ~1 ms)',
    )
    .option('--json', 'print {"guests":[{pid,name,threads:[{tid,role,vcpu,psr,affinity,...}]}]}')
    .action(
      act(ctx, async (refs: string[], opts: { root: string; qmp: boolean; refreshPsr?: boolean; json?: boolean }) => {
        const host = readHost({ root: opts.root });
        if (opts.refreshPsr) {
          const before = filterGuests(await snapshotGuests({ root: opts.root, host, full: false, qmp: false }), refs);
          const woke = await Promise.all(before.guests.map((g) => wakeVcpus(g)));
          woke.forEach((ok, i) => {
            const g = before.guests[i]!;
            if (!ok) ctx.io.err(`warning: could not refresh psr of ${g.name}: ${g.libvirt ? 'virsh suspend/resume failed' : 'no reachable QMP socket'}\n`);
          });
          await new Promise((r) => setTimeout(r, 20));
        }
        const snap = filterGuests(await snapshotGuests({ root: opts.root, host, qmp: opts.qmp }), refs);
        if (opts.json) writeJson(ctx.io, psJson(snap));
        else ctx.io.out(renderPsTable(snap));
        return 0;
      }),
    );
};
