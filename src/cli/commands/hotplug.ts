import type { Command } from 'commander';
import { readHost } from '../../host/read-host.ts';
import { findGuest } from '../../guests/find-guest.ts';
import { hotplugVcpus } from '../../guests/hotplug-vcpus.ts';
import { assessOvercommit } from '../../guests/assess-overcommit.ts';
import { parseCpulist } from '../../core/cpulist.ts';
import { quoteInline } from '../../core/errors.ts';
import { snapshotGuests } from '../../guests/snapshot-guests.ts';
import { act, parsePositiveInt, type RegisterCommand } from '../command-kit.ts';
import { renderTable, writeJson } from '../output.ts';

/** `kvcpu hotplug GUEST --to N`: add vCPUs through QMP, or report why removal cannot work. */
export const registerHotplug: RegisterCommand = (program: Command, ctx) => {
  program
    .command('hotplug')
    .argument('<guest>', 'guest name or pid')
    .requiredOption('--to <n>', 'wanted number of vCPUs (up to maxcpus)', parsePositiveInt)
    .description(
      "change a running guest's vCPU count via QMP (query-hotpluggable-cpus -> device_add; libvirt domains: virsh setvcpus --live), verify the new CPU n/... threads, say what the guest must do",
    )
    .option('--json', 'print the result as JSON')
    .action(
      act(ctx, async (guest: string, opts: { to: number; json?: boolean }) => {
        const host = readHost();
        const snap = await snapshotGuests({ host, full: false, qmp: false });
        const g = findGuest(snap, guest);
        // The same rule `kvcpu overcommit` applies, on the host as it will be after the change:
        // warn about every check that the new count makes worse (not about what was already so).
        const online = parseCpulist(host.cpus.online);
        const now = assessOvercommit(snap, online);
        const after = assessOvercommit({ ...snap, guests: snap.guests.map((x) => (x.pid === g.pid ? { ...x, vcpuCount: opts.to } : x)) }, online);
        const had = new Set(now.checks.filter((c) => c.status !== 'PASS').map((c) => c.message));
        const warnings =
          opts.to > g.vcpuCount
            ? after.checks.filter((c) => c.status !== 'PASS' && !had.has(c.message)).map((c) => `${c.message} (kvcpu overcommit: ${c.id} ${c.status})`)
            : [];
        for (const w of warnings) ctx.io.err(`warning: after hotplug: ${w}\n`);
        const out = await hotplugVcpus(g, opts.to);
        if (opts.json) {
          writeJson(ctx.io, { ok: true, ...out, warnings });
          return 0;
        }
        if (out.action === 'none') ctx.io.out(`${quoteInline(out.guest)} already has ${out.from} vCPUs (max ${out.maxCpus})\n`);
        else if (out.action === 'unplug') ctx.io.out(`${quoteInline(out.guest)}: ${out.from} -> ${out.to} vCPUs (the guest ejected the removed CPUs)\n`);
        else {
          ctx.io.out(
            `${quoteInline(out.guest)}: ${out.from} -> ${out.to} vCPUs (max ${out.maxCpus})\n` +
              renderTable(
                ['CPU-INDEX', 'TID', 'THREAD', 'DEVICE-ID', 'SLOT'],
                out.added.map((a) => [
                  a.cpuIndex,
                  a.tid,
                  a.thread,
                  a.id,
                  Object.entries(a.props)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(','),
                ]),
                { right: [0, 1] },
              ) +
              'The new vCPUs wait for the guest OS to start them. In the guest:\n' +
              out.guestSteps.map((s) => `  ${s}\n`).join(''),
          );
        }
        return 0;
      }),
    );
};
