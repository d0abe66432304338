import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { isKvcpuError } from '../core/errors.ts';
import { loadNative, type NativeAddon } from '../io/native.ts';
import { qemuAvailable, startQemu } from '../qmp/start-qemu.ts';
import type { KvmProbeFacts } from './types.ts';

export interface ProbeKvmOptions {
  path?: string;
  /** The addon to use; default loadNative() (null forces the QEMU fallback). */
  native?: NativeAddon | null;
  qemuBinary?: string;
  timeoutMs?: number;
}

/**
 * Does KVM really work? Creates a VM, the only reliable test (flags lie both ways: nested PVM
 * works without vmx/svm; a BIOS-locked VT-x shows /dev/kvm yet fails).
 *
 * Why the native addon first: Node has no ioctl(2). The addon (native/kvcpu.c) does what QEMU's
 * kvm_init() does — open, KVM_GET_API_VERSION == 12, KVM_CREATE_VM — plus KVM_CREATE_VCPU, in
 * about a millisecond with no child process, and it reads KVM_CAP_NR_VCPUS / KVM_CAP_MAX_VCPUS,
 * which QMP does not report. The fallback (addon not built, e.g. no compiler at npm install)
 * starts `qemu-system-x86_64 -accel kvm -machine none -S`: QEMU runs the same kvm_init() (it
 * exits with "failed to initialize kvm" when KVM_CREATE_VM fails) and `query-kvm` confirms;
 * it costs ~0.3 s, creates no vCPU (machine none has none) and gives no vCPU limits.
 * The QEMU process is always stopped (startQemu's stop(): quit, SIGKILL after 2 s, waits for exit).
 */
export async function probeKvm(opts: ProbeKvmOptions = {}): Promise<KvmProbeFacts> {
  const path = opts.path ?? '/dev/kvm';
  const native = opts.native !== undefined ? opts.native : loadNative();
  if (native) {
    const r = native.kvmProbe(path);
    const usable = r.openErrno === 0 && r.apiVersion === 12 && r.createErrno === 0 && r.vcpuErrno === 0;
    return { method: 'native', usable, path, ...r };
  }
  if (!existsSync(path)) {
    // Nothing to start QEMU for: it would fail to open the same missing node.
    return {
      method: 'none',
      usable: false,
      path,
      openErrno: constants.errno.ENOENT,
      openError: 'No such file or directory',
      note: 'native addon not available; no device node to probe, so QEMU was not started',
    };
  }
  const binary = opts.qemuBinary ?? 'qemu-system-x86_64';
  if (!qemuAvailable(binary)) {
    return { method: 'none', usable: null, path, note: `native addon not built and ${binary} not installed: cannot create a test VM` };
  }
  return probeKvmWithQemu({ path, binary, timeoutMs: opts.timeoutMs });
}

/** The QEMU fallback on its own (tests call it to cover this path even when the addon exists). */
export async function probeKvmWithQemu(
  opts: {
    path?: string;
    binary?: string;
    timeoutMs?: number;
    /** test hook: tcg exercises the start/QMP/stop path where KVM is absent */ accel?: 'kvm' | 'tcg';
  } = {},
): Promise<KvmProbeFacts> {
  const path = opts.path ?? '/dev/kvm';
  const binary = opts.binary ?? 'qemu-system-x86_64';
  // -machine none: no board, no vCPU, no firmware; -S: never run; kvm_init() still opens
  // /dev/kvm and creates the VM before the monitor answers (softmmu/vl.c configure_accelerators
  // runs before the monitors are created).
  const args = ['-accel', opts.accel ?? 'kvm', '-machine', 'none', '-nodefaults', '-no-user-config', '-display', 'none', '-S'];
  let proc: Awaited<ReturnType<typeof startQemu>> | undefined;
  try {
    proc = await startQemu({ args, binary, timeoutMs: opts.timeoutMs ?? 10_000 });
    const kvm = await proc.qmp.execute<{ enabled: boolean; present: boolean }>('query-kvm');
    return {
      method: 'qemu',
      usable: kvm.enabled === true,
      path,
      qemuBinary: binary,
      qemuOutput: `query-kvm: enabled=${kvm.enabled} present=${kvm.present}${proc.stderr().trim() ? `\n${proc.stderr().trim()}` : ''}`,
    };
  } catch (e) {
    if (isKvcpuError(e) && e.code === 'E_QEMU_FAILED') {
      const stderr = typeof e.details?.stderr === 'string' ? e.details.stderr : e.message;
      return { method: 'qemu', usable: false, path, qemuBinary: binary, qemuOutput: stderr.trim() };
    }
    const msg = e instanceof Error ? e.message : String(e);
    return { method: 'qemu', usable: null, path, qemuBinary: binary, note: `QEMU probe did not finish: ${msg}` };
  } finally {
    if (proc) await proc.stop();
  }
}

/** How long one probe answer is reused (KVM does not come and go; a module reload is rare). */
export const KVM_PROBE_MAX_AGE_MS = 60_000;
/** The longest a probe may take before its answer is "unknown" (the QEMU fallback's bound). */
export const KVM_PROBE_DEADLINE_MS = 5_000;

const probes = new Map<string, { at: number; facts: Promise<KvmProbeFacts> }>();

/**
 * The one KVM probe every caller shares (check kvm.usable, the models section, default
 * accelerators, launch, smp --verify, the agent): probeKvm once per device path, reused for
 * KVM_PROBE_MAX_AGE_MS, and never longer than KVM_PROBE_DEADLINE_MS (then `usable: null` with a
 * note). Concurrent callers wait on the same probe instead of starting one each.
 */
export function probeKvmCached(
  opts: {
    path?: string;
    maxAgeMs?: number;
    deadlineMs?: number;
    /** probe settings (tests: no addon, another binary) */ probe?: Pick<ProbeKvmOptions, 'native' | 'qemuBinary'>;
  } = {},
): Promise<KvmProbeFacts> {
  const path = opts.path ?? '/dev/kvm';
  const key = `${path}|${opts.probe?.native === null ? 'no-native' : ''}|${opts.probe?.qemuBinary ?? ''}`;
  const hit = probes.get(key);
  if (hit && Date.now() - hit.at <= (opts.maxAgeMs ?? KVM_PROBE_MAX_AGE_MS)) return hit.facts;
  const deadlineMs = opts.deadlineMs ?? KVM_PROBE_DEADLINE_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<KvmProbeFacts>((resolve) => {
    timer = setTimeout(() => resolve({ method: 'none', usable: null, path, note: `KVM probe gave no answer within ${deadlineMs} ms` }), deadlineMs);
    timer.unref();
  });
  const facts = Promise.race([probeKvm({ ...opts.probe, path, timeoutMs: deadlineMs }), timedOut]).finally(() => clearTimeout(timer));
  probes.set(key, { at: Date.now(), facts });
  return facts;
}

/** KVM works here (the cached probe said so). False when it does not or could not be told. */
export async function kvmUsable(): Promise<boolean> {
  return (await probeKvmCached()).usable === true;
}

/** Forget cached probe answers (tests; the agent after a module load). */
export function clearKvmProbeCache(): void {
  probes.clear();
}
