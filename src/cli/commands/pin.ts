import type { Command } from 'commander';
import { KvcpuError, quoteInline } from '../../core/errors.ts';
import { readHost } from '../../host/read-host.ts';
import { parseAssignments, type GuestPinSpec } from '../../guests/build-pin-requests.ts';
import { jobsFromPlan, pinGuests, unpinGuest, type PinJob, type PinOutcome } from '../../guests/pin-guests.ts';
import { loadPinPlan } from '../../app/pin-plan.ts';
import { pinOutcomeJson } from '../../app/pin-outcome-json.ts';
import { parseCpulist } from '../../core/cpulist.ts';
import { act, collect, type RegisterCommand } from '../command-kit.ts';
import { renderTable, writeJson } from '../output.ts';

// Plan loading is shared with `kvcpu launch --pin` and the agent: app/pin-plan.ts.
export { loadPinPlan } from '../../app/pin-plan.ts';

export function renderPinOutcome(o: PinOutcome): string {
  if (o.dryRun) return `# dry run: nothing changed (method: ${o.method}); equivalent commands:\n${o.commands.map(quoteInline).join('\n')}\n`;
  const rows = (o.result?.applied ?? []).map((a) => [a.guest, a.pid, a.tid, a.label, a.comm, a.before, a.after]);
  return (
    renderTable(['GUEST', 'PID', 'TID', 'WHAT', 'THREAD', 'BEFORE', 'AFTER'], rows, { right: [1, 2] }) +
    `pinned ${rows.length} thread(s) via ${o.method}; verified from /proc/PID/task/TID/status (Cpus_allowed_list).\n` +
    (o.statePaths.length ? `undo with \`kvcpu unpin GUEST\` (saved: ${o.statePaths.join(', ')})\n` : '') +
    o.cleaned.map((c) => `${quoteInline(c)}\n`).join('')
  );
}

interface PinOpts {
  vcpu?: string[];
  emulator?: string;
  iothread?: string[];
  plan?: string;
  cgroup?: boolean;
  dryRun?: boolean;
  viaLibvirt?: boolean;
  direct?: boolean;
  config?: boolean;
  partial?: boolean;
  json?: boolean;
}

/**
 * `kvcpu pin GUEST --vcpu N=CPUS ... | --plan FILE` and `kvcpu unpin GUEST`.
 * How: sched_setaffinity(2) per thread through kvcpu's native addon, or util-linux
 * `taskset -p -c` run without a shell when the addon is not built; optionally also a v1
 * cpuset cgroup per thread; libvirt domains optionally via `virsh vcpupin/emulatorpin`.
 */
export const registerPin: RegisterCommand = (program: Command, ctx) => {
  program
    .command('pin')
    .argument('[guest]', 'guest name (-name guest=X) or pid')
    .description("pin a guest's vCPU/emulator/IO threads to host CPUs, all or nothing: validate, apply, re-read /proc, roll back on any failure")
    .option('--vcpu <n=cpus>', 'pin vCPU n to a cpulist (repeatable), e.g. --vcpu 0=2 --vcpu 1=3', collect)
    .option('--emulator <cpus>', 'pin the emulator threads (main loop, call_rcu, workers, monitor iothread)')
    .option('--iothread <id=cpus>', 'pin IOThread id (repeatable)', collect)
    .option('--plan <file>', 'apply a pin plan (kvcpu plan output) to every guest it names, all or nothing')
    .option('--cgroup', 'also put each thread in a cpuset cgroup kvcpu/<guest>.<pid>/<vcpuN|emulator> (cgroup v1 tasks, or v2 threaded leaves)')
    .option(
      '--via-libvirt',
      'require libvirt: every guest must be a libvirt domain pinned with virsh vcpupin/emulatorpin/iothreadpin (libvirt domains use libvirt by default anyway)',
    )
    .option('--direct', 'pin libvirt domains with sched_setaffinity, bypassing libvirt (warns: libvirt keeps its old pins and re-applies them)')
    .option('--config', 'libvirt domains: also persist in the domain XML (virsh --config); unpin removes what it added')
    .option('--partial', "with --plan: allow a plan that pins only some of a guest's vCPUs")
    .option('--dry-run', 'print the equivalent taskset/virsh commands, change nothing')
    .option('--json', 'print the result as JSON')
    .action(
      act(ctx, async (guest: string | undefined, opts: PinOpts) => {
        let jobs: PinJob[];
        if (opts.direct && opts.viaLibvirt) throw new KvcpuError('E_USAGE', '--direct and --via-libvirt contradict each other', { hint: 'pick one' });
        if (opts.partial && !opts.plan)
          throw new KvcpuError('E_USAGE', '--partial only applies to --plan', { hint: 'with --vcpu, only the vCPUs you name are pinned anyway' });
        if (opts.plan) {
          if (guest || opts.vcpu || opts.emulator || opts.iothread) {
            throw new KvcpuError('E_USAGE', '--plan cannot be combined with GUEST/--vcpu/--emulator/--iothread', { hint: 'put everything in the plan file' });
          }
          jobs = jobsFromPlan(loadPinPlan(opts.plan));
        } else {
          if (!guest) throw new KvcpuError('E_USAGE', 'name a GUEST (name or pid) or give --plan FILE', { hint: 'kvcpu pin vm1 --vcpu 0=2 --vcpu 1=3' });
          const spec: GuestPinSpec = {
            vcpus: new Map([...parseAssignments(opts.vcpu ?? [], 'vcpu')].map(([k, v]) => [Number(k), v])),
            emulator: opts.emulator ? parseCpulist(opts.emulator) : null,
            iothreads: parseAssignments(opts.iothread ?? [], 'iothread'),
          };
          jobs = [{ guest, spec }];
        }
        const host = readHost();
        const out = await pinGuests(jobs, {
          host,
          cgroup: opts.cgroup ?? false,
          dryRun: opts.dryRun ?? false,
          route: opts.direct ? 'direct' : opts.viaLibvirt ? 'libvirt' : 'auto',
          persist: opts.config ?? false,
          partial: opts.partial ?? false,
          fromPlan: Boolean(opts.plan),
        });
        for (const w of out.warnings) ctx.io.err(`warning: ${w}\n`);
        if (opts.json) {
          writeJson(ctx.io, pinOutcomeJson(out));
        } else ctx.io.out(renderPinOutcome(out));
        return 0;
      }),
    );

  program
    .command('unpin')
    .argument('<guest>', 'guest name or pid')
    .description(
      'restore the affinity (and cgroup, and libvirt domain XML) every thread had before `kvcpu pin`, verified from /proc; for a guest that is gone, remove the cgroups and state kvcpu left',
    )
    .option('--json', 'print the result as JSON')
    .action(
      act(ctx, async (guest: string, opts: { json?: boolean }) => {
        const out = await unpinGuest(guest, { host: readHost() });
        if (opts.json) writeJson(ctx.io, { ok: true, ...out });
        else if (out.gone)
          ctx.io.out(`${quoteInline(out.guest)} is gone; removed what kvcpu left for it:\n${out.cleaned.map((c) => `  ${quoteInline(c)}\n`).join('')}`);
        else {
          ctx.io.out(
            renderTable(
              ['GUEST', 'TID', 'WHAT', 'THREAD', 'FROM', 'TO', 'NOW'],
              out.restored.map((r) => [out.guest, r.tid, r.label, r.comm, r.from, r.to, r.now ?? 'gone']),
              { right: [1] },
            ) + `restored ${out.restored.length} thread(s) of ${quoteInline(out.guest)} (pid ${out.pid})\n`,
          );
          for (const e of out.cgroupErrors) ctx.io.err(`warning: cgroup cleanup: ${e}\n`);
          for (const c of out.cleaned) ctx.io.out(`${quoteInline(c)}\n`);
        }
        return 0;
      }),
    );
};
