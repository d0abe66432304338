import { Option } from 'commander';
import { act, readAll, type RegisterCommand } from '../command-kit.ts';
import { paint, warnRendering, writeJson, type CliIo } from '../output.ts';
import { progressLine, stderrOf } from '../progress.ts';
import { KvcpuError } from '../../core/errors.ts';
import { parseSmp, type ParseSmpOptions } from '../../smp/parse-smp.ts';
import { parseQemuVersion, resolveMachine } from '../../smp/qemu-machines.ts';
import type { GuestTopology, SmpResult } from '../../smp/types.ts';
import { SMP_MEMBERS } from '../../smp/types.ts';
import type { QemuSmpAnswer } from '../../smp/verify-smp.ts';
import { TOPOLOGY_FORMATS, type TopologyFormat } from '../../render/topology-formats.ts';

// The batch line schema (zod) and the renderers (YAML for KubeVirt) are loaded only by --batch
// and --format: `kvcpu smp SPEC` starts without them.
const renderers = () => import('../../render/render-topology.ts');

interface SmpOpts {
  machine?: string;
  qemuVersion?: string;
  accel?: 'tcg' | 'kvm';
  json?: boolean;
  batch?: boolean;
  verify?: boolean;
  format?: TopologyFormat;
  name?: string;
  memory?: number;
  libvirtVersion?: string;
}

/** The `--json` topology object: the seven SMPConfiguration members of QEMU 7.2 (+ levels the machine adds). */
function jsonTopology(t: GuestTopology): Record<string, number> {
  const o: Record<string, number> = {};
  if (t.drawers !== 1 || t.books !== 1) Object.assign(o, { drawers: t.drawers, books: t.books });
  Object.assign(o, { sockets: t.sockets, dies: t.dies, clusters: t.clusters });
  if (t.modules !== undefined) o.modules = t.modules;
  Object.assign(o, { cores: t.cores, threads: t.threads, cpus: t.cpus, maxcpus: t.maxcpus });
  return o;
}

/** `{"ok":true,"topology":{...},"canonical":"..."}` or `{"ok":false,"error":{code,message}}` (+ warnings/verify when any). */
export function smpResultJson(r: SmpResult, verify?: { qemu: QemuSmpAnswer; differences: string[] }): Record<string, unknown> {
  const out: Record<string, unknown> = r.ok
    ? { ok: true, topology: jsonTopology(r.topology), canonical: r.canonical }
    : { ok: false, error: { code: r.error.code, message: r.error.message, ...(r.error.location ? { location: r.error.location } : {}) } };
  if (r.warnings.length > 0) out.warnings = r.warnings;
  if (verify) {
    out.verify = {
      qemu: verify.qemu.version,
      agrees: verify.differences.length === 0,
      differences: verify.differences,
      ...(verify.qemu.ok ? { qemuTopology: verify.qemu.topology ?? null } : { qemuError: verify.qemu.error ?? null }),
    };
  }
  return out;
}

function describe(t: GuestTopology): string {
  const parts: string[] = [];
  const add = (n: number, one: string, many: string, always = false) => {
    if (always || n !== 1) parts.push(`${n} ${n === 1 ? one : many}`);
  };
  add(t.drawers, 'drawer', 'drawers');
  add(t.books, 'book', 'books');
  add(t.sockets, 'socket', 'sockets', true);
  add(t.dies, 'die', 'dies');
  add(t.clusters, 'cluster', 'clusters');
  add(t.modules ?? 1, 'module', 'modules');
  add(t.cores, 'core', 'cores', true);
  add(t.threads, 'thread', 'threads', true);
  const hot = t.maxcpus > t.cpus ? `, ${t.cpus} present at boot, ${t.maxcpus - t.cpus} hot-pluggable` : '';
  return `${parts.join(' × ')} = ${t.maxcpus} vCPU${t.maxcpus === 1 ? '' : 's'}${hot}`;
}

const HINTS: Partial<Record<string, string>> = {
  E_SMP_MACHINE_UNKNOWN:
    'kvcpu knows pc, q35, pc-i440fx-X.Y, pc-q35-X.Y, microvm, isapc, none, x-remote, virt[-X.Y], s390-ccw-virtio[-X.Y] of the chosen --qemu-version',
  E_SMP_PRODUCT_MISMATCH: 'sockets*dies*cores*threads must equal maxcpus exactly: QEMU does not round',
  E_SMP_OUT_OF_RANGE: 'QEMU keeps -smp values in 32 bits; give counts between 1 and the machine maximum',
  E_SMP_QEMU_VERSION: 'use --qemu-version MAJOR.MINOR between 5.2 and 10.2',
};

function printHuman(io: CliIo, specs: string[], r: SmpResult, verify?: { qemu: QemuSmpAnswer; differences: string[] }): void {
  const p = paint(io);
  const head = `-smp ${specs.join(' -smp ')}`;
  if (r.ok) {
    io.out(`${p.bold(head)}  (machine ${r.machine}, QEMU ${r.qemuVersion})\n`);
    io.out(`topology:  ${describe(r.topology)}\n`);
    io.out(`canonical: ${r.canonical}\n`);
    if (r.fills.length > 0) {
      io.out(`filled in (hw/core/machine-smp.c, QEMU ${r.qemuVersion}):\n`);
      const order = (m: string) => SMP_MEMBERS.indexOf(m as (typeof SMP_MEMBERS)[number]);
      const fills = [...r.fills].sort((a, b) => order(a.member) - order(b.member));
      const w = Math.max(...fills.map((f) => `${f.member} = ${f.value}`.length));
      for (const f of fills) io.out(`  ${`${f.member} = ${f.value}`.padEnd(w)}  ${f.rule}\n`);
    }
  } else {
    io.out(`${p.bold(head)}${r.machine ? `  (machine ${r.machine}, QEMU ${r.qemuVersion})` : ''}\n`);
    if (r.error.code === 'E_SMP_HELP') io.out(`${r.error.message}\n`);
    else {
      io.err(`${p.red('error')} ${r.error.code}: ${r.error.location ? `${r.error.location}: ` : ''}${r.error.message}\n`);
      const hint = HINTS[r.error.code];
      if (hint) io.err(`${p.dim('hint:')} ${hint}\n`);
    }
  }
  for (const w of r.warnings) io.out(`${p.yellow('warning:')} ${w}\n`);
  if (verify) {
    if (verify.differences.length === 0) {
      io.out(
        `verify: ${p.green('QEMU ' + verify.qemu.version + ' agrees')} (${verify.qemu.ok ? 'accepted, same topology and CPU slots' : 'refused with the same message'})\n`,
      );
    } else {
      io.out(`verify: ${p.red('QEMU ' + verify.qemu.version + ' differs')}\n`);
      for (const d of verify.differences) io.out(`  - ${d}\n`);
    }
  }
}

async function runVerify(specs: string[], r: SmpResult, o: ParseSmpOptions): Promise<{ qemu: QemuSmpAnswer; differences: string[] }> {
  // The machine's architecture picks the binary (virt → qemu-system-aarch64, s390-ccw-virtio → qemu-system-s390x).
  const version = parseQemuVersion(o.qemuVersion ?? '7.2');
  const m = version ? resolveMachine(o.machine ?? 'q35', version) : undefined;
  const binary = m && !('code' in m) ? `qemu-system-${m.arch}` : 'qemu-system-x86_64';
  // QEMU and KVM are only asked by --verify: their modules load here, not at start-up.
  const [{ askQemuSmp, compareWithQemu }, { kvmUsable }] = await Promise.all([import('../../smp/verify-smp.ts'), import('../../check/probe-kvm.ts')]);
  if (o.accel === 'kvm' && !(await kvmUsable())) {
    throw new KvcpuError('E_KVM_MISSING', '--verify --accel kvm needs a usable /dev/kvm', {
      hint: 'drop --accel kvm: --verify runs QEMU under TCG by default',
    });
  }
  const qemu = await askQemuSmp(specs, { machine: o.machine ?? 'q35', accel: o.accel ?? 'tcg', binary });
  return { qemu, differences: compareWithQemu(r, qemu, o.qemuVersion) };
}

/** Status for one result: 2 refused (bad input), 1 QEMU disagreed under --verify, else 0. */
function statusOf(r: SmpResult, verify?: { differences: string[] }): number {
  if (verify && verify.differences.length > 0) return 1;
  if (!r.ok) return r.error.code === 'E_SMP_HELP' ? 0 : 2;
  return 0;
}

export const registerSmp: RegisterCommand = (program, ctx) => {
  program
    .command('smp')
    .description("parse and validate a QEMU -smp value exactly as QEMU does (fills omitted values, QEMU's own errors)")
    .argument('[spec...]', "the -smp value, e.g. '8,threads=2' (several = several -smp options, merged like QEMU)")
    .option('--machine <type>', 'QEMU machine type (q35, pc, pc-q35-6.1, microvm, virt, ...; default q35 of that QEMU version)')
    .option('--qemu-version <v>', 'QEMU version whose rules apply (5.2 - 10.2)', '7.2')
    .addOption(new Option('--accel <accel>', 'accelerator for accelerator-dependent checks (TCG APIC-ID limit)').choices(['tcg', 'kvm']))
    .option('--json', 'print {"ok":true,"topology":{...},"canonical":"..."} or {"ok":false,"error":{...}}')
    .option('--batch', 'read JSON lines {"smp":SPEC,"machine"?:TYPE,"qemuVersion"?:V} on stdin, write one result per line')
    .option('--verify', 'also start the real qemu-system-x86_64 -S with the spec and report any difference')
    .addOption(new Option('--format <format>', 'render the topology for a consumer').choices(TOPOLOGY_FORMATS))
    .option('--name <name>', 'VM name for --format libvirt/kubevirt/nova/proxmox', 'guest')
    .option('--memory <mib>', 'guest RAM (MiB) for --format', (v: string) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1)
        throw new KvcpuError('E_USAGE', `--memory must be a positive integer (MiB), got ${v}`, { hint: 'e.g. --memory 2048' });
      return n;
    })
    .option('--libvirt-version <v>', 'libvirt the domain XML is for (clusters need 10.1)', '9.0')
    .addHelpText(
      'after',
      `
Exit status: 0 accepted, 2 refused by QEMU's rules (or bad input), 1 --verify found a difference.
--batch always exits 0; malformed lines give {"ok":false,"error":{"code":"E_BAD_JSON",...}}.
--format json adds the plan and every consumer's rendering to the --json answer.`,
    )
    .action(
      act(ctx, async (specArgs: string[], o: SmpOpts) => {
        const base: ParseSmpOptions = {
          ...(o.machine ? { machine: o.machine } : {}),
          ...(o.qemuVersion ? { qemuVersion: o.qemuVersion } : {}),
          // --verify runs QEMU under TCG (no KVM on many hosts), so model TCG unless told otherwise.
          ...(o.accel ? { accel: o.accel } : o.verify ? { accel: 'tcg' as const } : {}),
        };
        const json = o.json === true || o.format === 'json';
        if (o.batch) {
          if (specArgs.length > 0)
            throw new KvcpuError('E_USAGE', '--batch reads specs from stdin; give no SPEC argument', { hint: 'echo \'{"smp":"8"}\' | kvcpu smp --batch' });
          const { parseSmpBatchLine } = await import('../../app/smp-batch.ts');
          const text = await readAll(ctx.io.stdin);
          const lines = text.split('\n').filter((raw) => raw.trim() !== '');
          // Each --verify line starts a QEMU (~0.3 s): a long batch shows how far it got.
          const bar = o.verify ? progressLine({ stream: stderrOf(ctx.io), json, label: 'verify' }) : null;
          let done = 0;
          for (const raw of lines) {
            bar?.update(done++, lines.length, raw.trim().slice(0, 60));
            const line = parseSmpBatchLine(raw);
            if (typeof line === 'string') {
              ctx.io.out(JSON.stringify({ ok: false, error: { code: 'E_BAD_JSON', message: line } }) + '\n');
              continue;
            }
            const opts: ParseSmpOptions = { ...base, ...line };
            const specs = Array.isArray(line.smp) ? line.smp : [line.smp];
            const r = parseSmp(specs, opts);
            const verify = o.verify ? await runVerify(specs, r, opts) : undefined;
            const outLine = JSON.stringify(smpResultJson(r, verify)) + '\n';
            if (bar) bar.above(() => ctx.io.out(outLine));
            else ctx.io.out(outLine);
          }
          bar?.end();
          return 0;
        }
        if (specArgs.length === 0) throw new KvcpuError('E_USAGE', 'missing SPEC (the -smp value)', { hint: "kvcpu smp '8,threads=2' --machine q35" });
        const r = parseSmp(specArgs, base);
        let verify: { qemu: QemuSmpAnswer; differences: string[] } | undefined;
        if (o.verify) {
          const bar = progressLine({ stream: stderrOf(ctx.io), json, label: 'verify' });
          bar?.update(0, 1, `starting QEMU -S -smp ${specArgs.join(' -smp ')}`);
          verify = await runVerify(specArgs, r, base).finally(() => bar?.end());
        }
        const ropts = {
          machine: r.machine,
          qemuVersion: r.qemuVersion,
          name: o.name ?? 'guest',
          ...(o.memory ? { memoryMiB: o.memory } : {}),
          ...(o.libvirtVersion ? { libvirtVersion: o.libvirtVersion } : {}),
        };
        if (json) {
          const all = o.format === 'json' && r.ok ? await renderers().then((m) => m.renderAllJson(m.renderContext(r.topology, ropts), true)) : {};
          writeJson(ctx.io, { ...smpResultJson(r, verify), ...all });
          return statusOf(r, verify);
        }
        if (o.format && r.ok) {
          const rendered = (await renderers()).renderTopologyDetailed(r.topology, o.format, ropts);
          warnRendering(ctx.io, rendered.notes);
          ctx.io.out(rendered.text);
          if (verify && verify.differences.length > 0) for (const d of verify.differences) ctx.io.err(`verify: ${d}\n`);
          return statusOf(r, verify);
        }
        printHuman(ctx.io, specArgs, r, verify);
        return statusOf(r, verify);
      }),
    );
};
