import { qemuVersion } from '../qmp/qemu-env.ts';
import { isKvcpuError, KvcpuError } from '../core/errors.ts';
import { startQemu } from '../qmp/start-qemu.ts';
import { enumerateSlots } from './cpu-slots.ts';
import { parseQemuVersion, resolveMachine } from './qemu-machines.ts';
import type { SmpResult } from './types.ts';

/** What the real QEMU did with a `-smp` configuration. */
export interface QemuSmpAnswer {
  /** QEMU's version (`7.2.22`). */
  version: string;
  ok: boolean;
  /** Shape from `query-hotpluggable-cpus` (distinct ids per level) and the present count from `query-cpus-fast`. */
  topology?: { sockets: number; dies: number; cores: number; threads: number; cpus: number; maxcpus: number };
  /** `qom-get /machine smp` — QEMU's normalized SMPConfiguration (clusters included). */
  smpProperty?: Record<string, number>;
  /** Every possible slot `[socket, die|null, core, thread, present 0|1]`, sorted (die only when QEMU reports it). */
  slots?: [number, number | null, number, number, number][];
  presentCpus?: number;
  /** Refusal: QEMU's error line without program prefix and option location. */
  error?: string;
  location?: string;
  exitStatus?: number;
  /** `warning:` lines, prefix removed. */
  warnings: string[];
  /** `-smp help` printed the option list (exit 0, no QMP). */
  help?: boolean;
}

export interface AskQemuOptions {
  machine?: string;
  binary?: string;
  accel?: 'tcg' | 'kvm';
  timeoutMs?: number;
}

/** `qemu-system-x86_64 --version` → `7.2.22` (the one cached QEMU-version probe, qmp/qemu-env.ts); E_QEMU_MISSING when absent. */
export async function qemuBinaryVersion(binary = 'qemu-system-x86_64'): Promise<string> {
  const version = await qemuVersion(binary);
  if (version === null) {
    // Debian packages: qemu-system-x86 (x86_64), qemu-system-arm (aarch64), qemu-system-misc (s390x).
    const pkg = binary.endsWith('aarch64') ? 'qemu-system-arm' : binary.endsWith('s390x') ? 'qemu-system-misc' : 'qemu-system-x86';
    throw new KvcpuError('E_QEMU_MISSING', `${binary} is not installed (or printed no version)`, { hint: `apt-get install --no-install-recommends ${pkg}` });
  }
  return version;
}

/** QEMU's stderr → error line (prefix and `-smp ARG:` location removed) and warnings. */
export function splitQemuStderr(stderr: string, specs: string[]): { error?: string; location?: string; warnings: string[] } {
  const warnings: string[] = [];
  let error: string | undefined;
  let location: string | undefined;
  const unprefixed: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/^\S*qemu-system-[\w-]+: /, '');
    if (line.trim() === '') continue;
    const w = /^(?:-accel \w+: )?warning: (.*)$/.exec(line);
    if (w) {
      warnings.push(w[1]!);
      continue;
    }
    if (line === raw) {
      // No program prefix: continuation of a warning, help text, or the KVM vCPU-limit error.
      unprefixed.push(line);
      continue;
    }
    if (line.startsWith('terminating on signal')) continue;
    if (error === undefined) {
      const loc = specs.map((s) => `-smp ${s}: `).find((p) => line.startsWith(p));
      if (loc) {
        location = loc.slice(0, -2);
        error = line.slice(loc.length);
      } else {
        error = line;
      }
    }
  }
  if (error === undefined) error = unprefixed.map((l) => l.trim()).find((l) => !/^Please configure -smp|^Use -machine help/.test(l));
  // s390x prints " S390 does not support ..." after the prefix: compare the text, not its padding.
  if (error !== undefined) error = error.trim();
  return { error, location, warnings };
}

/**
 * Ask the real QEMU: start `qemu-system-x86_64 -S -machine M -smp SPEC... -accel tcg -nodefaults
 * -display none`, read `query-hotpluggable-cpus`, `query-cpus-fast` and `qom-get /machine smp`,
 * then quit. A refusal (QEMU exits by itself) is a value, not an error. The process is always
 * stopped before this returns.
 */
export async function askQemuSmp(specs: string[], opts: AskQemuOptions = {}): Promise<QemuSmpAnswer> {
  // startQemu resolves on the child's 'exit', which can come before its stderr pipe is drained:
  // a refusal with an empty stderr is that race, not QEMU's answer — ask again (up to 3 times).
  let answer = await askQemuOnce(specs, opts);
  for (let i = 0; i < 2 && !answer.ok && !answer.help && answer.exitStatus === 1 && answer.error?.startsWith('(QEMU exited'); i++) {
    answer = await askQemuOnce(specs, opts);
  }
  return answer;
}

async function askQemuOnce(specs: string[], opts: AskQemuOptions): Promise<QemuSmpAnswer> {
  const binary = opts.binary ?? 'qemu-system-x86_64';
  const version = await qemuBinaryVersion(binary);
  const args = ['-S', '-nodefaults', '-no-user-config', '-display', 'none', '-accel', opts.accel ?? 'tcg', '-machine', opts.machine ?? 'q35'];
  for (const s of specs) args.push('-smp', s);
  let q;
  try {
    q = await startQemu({ args, binary, timeoutMs: opts.timeoutMs ?? 20_000 });
  } catch (e) {
    if (isKvcpuError(e) && e.code === 'E_QEMU_FAILED') {
      const stderr = String(e.details?.stderr ?? '');
      const status = Number(e.details?.status ?? -1);
      const parts = splitQemuStderr(stderr, specs);
      if (status === 0 && parts.error === undefined) return { version, ok: false, help: true, exitStatus: 0, warnings: parts.warnings };
      return {
        version,
        ok: false,
        error: parts.error ?? `(QEMU exited with status ${status} and no message)`,
        ...(parts.location ? { location: parts.location } : {}),
        exitStatus: status,
        warnings: parts.warnings,
      };
    }
    throw e;
  }
  try {
    const smpProperty = await q.qmp.execute<Record<string, number>>('qom-get', { path: '/machine', property: 'smp' });
    const fast = await q.qmp.execute<unknown[]>('query-cpus-fast');
    let slots: QemuSmpAnswer['slots'];
    let topology: QemuSmpAnswer['topology'];
    try {
      const hp = await q.qmp.execute<{ props: Record<string, number>; 'qom-path'?: string }[]>('query-hotpluggable-cpus');
      slots = hp
        .map((h): [number, number | null, number, number, number] => [
          h.props['socket-id'] ?? 0,
          h.props['die-id'] ?? null,
          h.props['core-id'] ?? 0,
          h.props['thread-id'] ?? 0,
          h['qom-path'] ? 1 : 0,
        ])
        .sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0) || a[2] - b[2] || a[3] - b[3]);
      const distinct = (i: number) => new Set(slots!.map((s) => s[i])).size;
      const sockets = distinct(0);
      topology = {
        sockets,
        dies: distinct(1),
        cores: distinct(2),
        threads: distinct(3),
        cpus: fast.length,
        maxcpus: slots.length,
      };
    } catch (e) {
      // -machine none has no hot-plug API (and creates no CPU).
      if (!(isKvcpuError(e) && e.code.startsWith('E_QMP'))) throw e;
    }
    const parts = splitQemuStderr(q.stderr(), specs);
    return {
      version,
      ok: true,
      smpProperty,
      presentCpus: fast.length,
      warnings: parts.warnings,
      ...(slots ? { slots } : {}),
      ...(topology ? { topology } : {}),
    };
  } finally {
    await q.stop();
  }
}

/** Differences between kvcpu's answer and QEMU's (empty = agree). */
export function compareWithQemu(parsed: SmpResult, answer: QemuSmpAnswer, modelledVersion?: string): string[] {
  const diffs: string[] = [];
  const mv = parseQemuVersion(modelledVersion ?? parsed.qemuVersion ?? '7.2');
  const av = parseQemuVersion(answer.version);
  if (mv && av && (mv.major !== av.major || mv.minor !== av.minor)) {
    diffs.push(`kvcpu modelled QEMU ${mv.major}.${mv.minor} but the installed QEMU is ${answer.version}`);
  }
  if (answer.help) {
    if (!(!parsed.ok && parsed.error.code === 'E_SMP_HELP')) diffs.push('QEMU printed -smp help and exited; kvcpu did not');
    return diffs;
  }
  if (!parsed.ok) {
    if (answer.ok) {
      if (parsed.error.kvcpuOnly) return diffs; // kvcpu refuses what QEMU wraps around: by design
      diffs.push(`kvcpu refuses (${parsed.error.code}: ${parsed.error.message}) but QEMU accepts: ${JSON.stringify(answer.smpProperty)}`);
      return diffs;
    }
    if (parsed.error.kvcpuOnly) return diffs;
    if (parsed.error.message !== answer.error) diffs.push(`error text: kvcpu "${parsed.error.message}" vs QEMU "${answer.error}"`);
    if ((parsed.error.location ?? undefined) !== answer.location)
      diffs.push(`error location: kvcpu ${parsed.error.location ?? '(none)'} vs QEMU ${answer.location ?? '(none)'}`);
    return diffs;
  }
  if (!answer.ok) {
    diffs.push(`kvcpu accepts (${parsed.canonical}) but QEMU refuses: ${answer.error}`);
    return diffs;
  }
  const t = parsed.topology;
  const prop = answer.smpProperty ?? {};
  for (const k of ['cpus', 'maxcpus', 'sockets', 'dies', 'clusters', 'cores', 'threads'] as const) {
    if (prop[k] !== undefined && prop[k] !== t[k]) diffs.push(`${k}: kvcpu ${t[k]} vs QEMU ${prop[k]} (qom-get /machine smp)`);
  }
  const machine = resolveMachine(parsed.machine, parseQemuVersion(parsed.qemuVersion) ?? { major: 7, minor: 2 });
  const createsCpus = !('code' in machine) && machine.createsCpus;
  if (answer.presentCpus !== undefined && createsCpus && answer.presentCpus !== t.cpus) {
    diffs.push(`present vCPUs: kvcpu ${t.cpus} vs QEMU ${answer.presentCpus} (query-cpus-fast)`);
  }
  if (answer.slots) {
    // s390x slots carry only core-id = the CPU's global index.
    const s390 = !('code' in machine) && machine.arch === 's390x';
    const expected = enumerateSlots(t)
      .map((s): [number, number | null, number, number, number] =>
        s390 ? [0, null, s.index, 0, s.present ? 1 : 0] : [s.socket, t.dies > 1 ? s.die : null, s.core, s.thread, s.present ? 1 : 0],
      )
      .sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0) || a[2] - b[2] || a[3] - b[3]);
    const got = answer.slots.map((s) => [s[0], t.dies > 1 ? s[1] : null, s[2], s[3], s[4]]);
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      const tp = answer.topology;
      diffs.push(
        `CPU slots differ (query-hotpluggable-cpus): QEMU has ${answer.slots.length} slots` +
          (tp ? ` (${tp.sockets} sockets × ${tp.dies} dies × ${tp.cores} cores × ${tp.threads} threads, ${tp.cpus} present)` : ''),
      );
    }
  }
  const smpWarnings = answer.warnings.filter((w) => !/AMD CPU|supported by KVM|host doesn't support/.test(w));
  if (JSON.stringify(smpWarnings) !== JSON.stringify(parsed.warnings.filter((w) => !w.startsWith('APIC IDs reach')))) {
    diffs.push(`warnings: kvcpu ${JSON.stringify(parsed.warnings)} vs QEMU ${JSON.stringify(smpWarnings)}`);
  }
  return diffs;
}
