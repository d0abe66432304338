import type { Command } from 'commander';
import { KvcpuError } from '../../core/errors.ts';
import { readHost } from '../../host/read-host.ts';
import { kvmUsable } from '../../check/probe-kvm.ts';
import { chooseDefaultCpu } from '../../cpu-models/default-cpu.ts';
import { accelFeatures } from '../../cpu-models/live-catalog.ts';
import { findGuest } from '../../guests/find-guest.ts';
import { launchGuest } from '../../guests/launch-guest.ts';
import { jobsFromPlan, pinGuests, type PinOutcome } from '../../guests/pin-guests.ts';
import { renderPsTable } from '../../guests/render-guests.ts';
import { snapshotGuests } from '../../guests/snapshot-guests.ts';
import { stopGuest } from '../../guests/stop-guest.ts';
import { act, parsePositiveInt, type RegisterCommand } from '../command-kit.ts';
import { writeJson } from '../output.ts';
import { psJson } from '../../guests/ps-json.ts';
import { loadPinPlan } from '../../app/pin-plan.ts';
import { renderPinOutcome } from './pin.ts';

interface LaunchOpts {
  name: string;
  smp: string;
  cpu?: string;
  accel?: string;
  pin?: string;
  kernel?: string;
  bios?: string;
  memory: number;
  dir?: string;
  json?: boolean;
}

/** `kvcpu launch ... -- extra-args` and `kvcpu stop GUEST`. */
export const registerLaunch: RegisterCommand = (program: Command, ctx) => {
  program
    .command('launch')
    .argument('[qemuArgs...]', 'extra QEMU arguments after --')
    .description(
      'start a daemonized QEMU guest with named threads (debug-threads=on), a QMP socket, the given -smp and -cpu, apply a pin plan, and show where every thread runs',
    )
    .requiredOption('--name <name>', 'guest name (-name guest=NAME)')
    .requiredOption('--smp <spec>', 'QEMU -smp, e.g. 4,sockets=1,cores=2,threads=2 or 1,maxcpus=4')
    .option(
      '--cpu <model>',
      'QEMU -cpu model (default: qemu64 when it is runnable under the accelerator, else qemu64 minus what the accelerator lacks; said on stderr)',
    )
    .option('--accel <accel>', 'kvm | tcg | tcg,thread=single (default: kvm when /dev/kvm works, else tcg)')
    .option('--pin <planfile>', 'pin plan to apply once the guest runs (its entry named like the guest, or its only entry)')
    .option('--kernel <elf>', 'multiboot ELF or kernel for -kernel (none: vCPUs halt in qboot)')
    .option('--bios <file>', 'firmware (default qboot.rom when installed: starts in ~0.1 s)')
    .option('-m, --memory <mib>', 'guest RAM in MiB', parsePositiveInt, 16)
    .option('--dir <dir>', 'where to put qmp.sock, qemu.pid, serial.log (default: new temp dir)')
    .option('--json', 'print the result as JSON')
    .action(
      act(ctx, async (qemuArgs: string[], opts: LaunchOpts) => {
        const host = readHost();
        const plan = opts.pin ? loadPinPlan(opts.pin) : null;
        let planGuest = plan?.guests.find((g) => g.name === opts.name) ?? null;
        if (plan && !planGuest) {
          if (plan.guests.length === 1) planGuest = plan.guests[0]!;
          else
            throw new KvcpuError('E_BAD_INPUT', `plan ${opts.pin} has no guest named "${opts.name}"`, {
              hint: `plan guests: ${plan.guests.map((g) => g.name).join(', ')}`,
            });
        }
        const accel = opts.accel ?? ((await kvmUsable()) ? 'kvm' : 'tcg');
        let cpu = opts.cpu;
        let cpuReason: string | null = null;
        if (cpu === undefined) {
          const d = chooseDefaultCpu(await accelFeatures(accel.startsWith('kvm') ? 'kvm' : 'tcg'));
          cpu = d.cpu;
          cpuReason = d.reason;
        }
        const g = await launchGuest({
          name: opts.name,
          smp: opts.smp,
          cpu,
          accel,
          kernel: opts.kernel ?? null,
          ...(opts.bios ? { bios: opts.bios } : {}),
          memoryMiB: opts.memory,
          ...(opts.dir ? { dir: opts.dir } : {}),
          extraArgs: qemuArgs,
        });
        let pin: PinOutcome | null = null;
        if (planGuest) {
          try {
            pin = await pinGuests(jobsFromPlan({ kind: 'kvcpu-pin-plan', version: 1, guests: [{ ...planGuest, name: String(g.pid) }] }), { host });
          } catch (e) {
            // Launch + pin is one step: a guest whose pins failed is not what was asked for.
            await stopGuest(g.pid, { qmpSocket: g.qmpSocket });
            throw e;
          }
        }
        const snap = await snapshotGuests({ host, pids: [g.pid] });
        findGuest(snap, String(g.pid));
        if (opts.json) {
          writeJson(ctx.io, {
            ok: true,
            guest: { ...g, accel, cpu, ...(cpuReason ? { cpuDefault: cpuReason } : {}) },
            pins: pin?.result?.applied ?? null,
            ps: psJson(snap),
          });
        } else {
          ctx.io.out(
            `launched ${g.name}: pid ${g.pid}, accel ${accel}, QMP ${g.qmpSocket}, serial ${g.serialLog}, pidfile ${g.pidfile}\n` +
              `cpu: ${cpuReason ?? `-cpu ${cpu} (--cpu)`}\n` +
              `stop with: kvcpu stop ${g.name}\n\n` +
              (pin ? renderPinOutcome(pin) + '\n' : '') +
              renderPsTable(snap),
          );
        }
        return 0;
      }),
    );

  program
    .command('stop')
    .argument('<guest>', 'guest name or pid')
    .description('stop a QEMU guest: QMP quit, else SIGTERM, SIGKILL after 2 s; waits until the process is gone')
    .option('--json', 'print the result as JSON')
    .action(
      act(ctx, async (guest: string, opts: { json?: boolean }) => {
        const snap = await snapshotGuests({ full: false, qmp: false });
        const g = findGuest(snap, guest);
        const gone = await stopGuest(g.pid, { qmpSocket: g.config.qmpSockets[0] ?? null, startTime: g.startTime });
        if (opts.json) writeJson(ctx.io, { ok: gone, guest: g.name, pid: g.pid, stopped: gone });
        else ctx.io.out(gone ? `stopped ${g.name} (pid ${g.pid})\n` : `${g.name} (pid ${g.pid}) is still there\n`);
        if (!gone) throw new KvcpuError('E_TIMEOUT', `guest ${g.name} (pid ${g.pid}) did not exit`, { hint: `kill -9 ${g.pid}` });
        return 0;
      }),
    );
};
