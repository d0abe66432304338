import { constants } from 'node:os';
import { isX86 } from './check-cpu.ts';
import { lastParam, parseKernelCmdline } from './parse-kernel-cmdline.ts';
import type { Check, CheckFacts } from './types.ts';

/** KVM's misc device: major 10 (MISC_MAJOR), minor 232 (KVM_MINOR in include/linux/miscdevice.h). */
export const KVM_MAJOR = 10;
export const KVM_MINOR = 232;
/** QEMU kvm_init() refuses anything else (accel/kvm/kvm-all.c: KVM_API_VERSION 12). */
export const KVM_API_VERSION = 12;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

export function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/** x86 vendor modules that register /dev/kvm (each calls kvm_init()). */
const X86_VENDOR_MODULES = ['kvm_intel', 'kvm_amd', 'kvm_pvm'];

function expectedVendorModule(f: CheckFacts): string {
  if (f.host.hwVirtualization === 'svm') return 'kvm_amd';
  if (f.host.hwVirtualization === 'vmx') return 'kvm_intel';
  if (f.host.vendor === 'AuthenticAMD' || f.host.vendor === 'HygonGenuine') return 'kvm_amd';
  return 'kvm_intel';
}

function loadedModules(f: CheckFacts): string[] {
  return f.modules === null ? [] : Object.keys(f.modules).sort();
}

function describeModules(f: CheckFacts): string {
  const m = f.modules;
  if (m === null) return '/sys/module not available';
  const names = Object.keys(m).sort();
  if (names.length === 0) return '/sys/module: no kvm module';
  return `/sys/module: ${names.map((n) => `${n}${m[n]!.builtin ? ' (built-in)' : ''}`).join(', ')}`;
}

function moduleLoadingDisabled(f: CheckFacts): boolean {
  if (f.cmdline === null) return false;
  const c = parseKernelCmdline(f.cmdline);
  return c.params.has('nomodule') || lastParam(c, 'module.sig_enforce') === 'forbid';
}

function modprobeFix(f: CheckFacts): string {
  const mod = isX86(f.host.arch) ? expectedVendorModule(f) : 'kvm';
  const base = `modprobe ${mod}${isX86(f.host.arch) ? ' (loads kvm too)' : ''}; make it permanent with: echo ${mod} > /etc/modules-load.d/kvm.conf`;
  return moduleLoadingDisabled(f)
    ? `${base} — but "nomodule" is on the kernel cmdline: module loading is disabled, boot a kernel with KVM built in or drop "nomodule"`
    : base;
}

/**
 * Why /dev/kvm is missing when the modules are there: no vendor module registered the kvm
 * misc device (it is registered by kvm_init(), called from kvm_intel/kvm_amd/kvm_pvm init,
 * virt/kvm/kvm_main.c). Returns extra evidence and an honest fix.
 */
export function explainKvmUnbound(f: CheckFacts): { evidence: string[]; fix: string; summary: string } {
  const ev: string[] = [describeModules(f)];
  if (f.miscKvm === false) ev.push(`/proc/misc: no "${KVM_MINOR} kvm" entry: no module registered the kvm device`);
  if (f.miscKvm === true) ev.push(`/proc/misc: "${KVM_MINOR} kvm" registered`);
  // Only KVM / VT lines: IOMMU lines in the same log say nothing about /dev/kvm.
  const log = (f.kernelLog ?? []).filter((l) => /kvm|vmx|svm|bios|hypervisor detected/i.test(l));
  for (const l of log.slice(-6)) ev.push(`kernel log: ${l}`);
  const mods = loadedModules(f);
  if (f.miscKvm === true) {
    return {
      summary: 'the kvm device is registered but the /dev/kvm node is missing',
      evidence: ev,
      fix: `mknod /dev/kvm c ${KVM_MAJOR} ${KVM_MINOR} && chown root:kvm /dev/kvm && chmod 0660 /dev/kvm (devtmpfs/udev did not create it: check that /dev is devtmpfs and udev runs)`,
    };
  }
  if (!mods.includes('kvm')) {
    return { summary: 'the kvm module is not loaded', evidence: ev, fix: modprobeFix(f) };
  }
  const pvmGuest = log.some((l) => /kvm-pvm:.*itself a kvm-pvm guest/i.test(l));
  if (mods.includes('kvm_pvm') && (pvmGuest || (f.host.hypervisorFlag && f.host.hwVirtualization === null))) {
    return {
      summary: pvmGuest
        ? 'kvm_pvm did not bind: this kernel is itself a kvm-pvm guest'
        : 'kvm_pvm is loaded but did not register /dev/kvm (this host is a VM without vmx/svm)',
      evidence: ev,
      fix: 'KVM cannot be enabled inside this VM: kvm_pvm refuses to run inside a PVM guest and the VM has no vmx/svm; mknod /dev/kvm would not help (no driver behind it). Run guests with -accel tcg here, or use a host or VM that exposes VT-x/AMD-V (nested virtualization) or PVM',
    };
  }
  const vendor = mods.filter((m) => X86_VENDOR_MODULES.includes(m));
  if (isX86(f.host.arch) && vendor.length === 0) {
    return { summary: `kvm is loaded but no vendor module (${expectedVendorModule(f)})`, evidence: ev, fix: modprobeFix(f) };
  }
  return {
    summary: `${vendor.join(', ') || 'kvm'} loaded but did not register /dev/kvm`,
    evidence: ev,
    fix:
      f.host.hwVirtualization === null && isX86(f.host.arch)
        ? biosOrNestedFix(f)
        : 'read `dmesg | grep -i kvm` for the reason (e.g. "VMX not supported", "disabled by bios", "kvm: already loaded vendor module"); fix it, then: modprobe -r ' +
          (vendor[0] ?? 'kvm') +
          ' && modprobe ' +
          (vendor[0] ?? 'kvm'),
  };
}

function biosOrNestedFix(f: CheckFacts): string {
  if (f.host.hypervisorFlag)
    return 'this VM has no vmx/svm: enable nested virtualization on the outer host and pass vmx/svm to this VM (QEMU -cpu host / libvirt host-passthrough)';
  return f.host.vendor === 'AuthenticAMD'
    ? 'Enable "SVM Mode" in BIOS/UEFI (Advanced > CPU Configuration), power-cycle, then modprobe kvm_amd'
    : 'Enable Intel Virtualization Technology (VT-x) in BIOS/UEFI (Advanced > CPU Configuration), power-cycle, then modprobe kvm_intel';
}

/** kvm.module: kvm core + a vendor module in /sys/module, and whether one of them registered the device. */
export function checkKvmModule(f: CheckFacts): Check {
  const id = 'kvm.module';
  if (f.modules === null) {
    return { id, status: 'SKIP', summary: '/sys/module not captured under this root', evidence: [`${f.root}/sys/module absent`], fix: null };
  }
  const mods = loadedModules(f);
  const ev = [describeModules(f)];
  for (const m of mods) {
    const p = f.modules[m]!.params;
    const keys = ['nested', 'ept', 'npt', 'vpid', 'enable_apicv', 'avic', 'pvm_native', 'tdp_mmu', 'halt_poll_ns'].filter((k) => k in p);
    if (keys.length > 0) ev.push(`${m} parameters: ${keys.map((k) => `${k}=${p[k]}`).join(' ')}`);
  }
  if (!mods.includes('kvm')) {
    return { id, status: 'FAIL', summary: 'the kvm module is not loaded', evidence: ev, fix: modprobeFix(f) };
  }
  if (isX86(f.host.arch) && !mods.some((m) => X86_VENDOR_MODULES.includes(m))) {
    return { id, status: 'FAIL', summary: `kvm is loaded but no vendor module (${expectedVendorModule(f)})`, evidence: ev, fix: modprobeFix(f) };
  }
  if (f.miscKvm === false) {
    ev.push(`/proc/misc: no "${KVM_MINOR} kvm" entry: the loaded module(s) did not register /dev/kvm`);
    return {
      id,
      status: 'WARN',
      summary: `${mods.join(', ')} loaded, but none registered the kvm device (see kvm.device)`,
      evidence: ev,
      fix: explainKvmUnbound(f).fix,
    };
  }
  return { id, status: 'PASS', summary: `${mods.join(', ')} loaded`, evidence: ev, fix: null };
}

/** kvm.nested: kvm_intel/kvm_amd `nested` (arch/x86/kvm/vmx/vmx.c, svm/svm.c), s390 kvm `nested`. */
export function checkKvmNested(f: CheckFacts): Check {
  const id = 'kvm.nested';
  if (f.modules === null) return { id, status: 'SKIP', summary: '/sys/module not captured under this root', evidence: [], fix: null };
  const owner =
    ['kvm_intel', 'kvm_amd'].find((m) => f.modules![m]?.params.nested !== undefined) ??
    (!isX86(f.host.arch) && f.modules.kvm?.params.nested !== undefined ? 'kvm' : undefined);
  if (owner === undefined) {
    const mods = loadedModules(f);
    return {
      id,
      status: 'SKIP',
      summary: mods.includes('kvm_pvm') ? 'kvm_pvm has no nested-virtualization switch' : 'no loaded KVM module has a nested parameter',
      evidence: [describeModules(f)],
      fix: null,
    };
  }
  const v = f.modules[owner]!.params.nested!;
  const ev = [`/sys/module/${owner}/parameters/nested: ${v}`];
  if (/^(y|1)$/i.test(v.trim())) return { id, status: 'PASS', summary: `nested virtualization enabled in ${owner}`, evidence: ev, fix: null };
  return {
    id,
    status: 'WARN',
    summary: `nested virtualization disabled in ${owner} (matters only if guests run their own hypervisor)`,
    evidence: ev,
    fix: `echo "options ${owner} nested=1" > /etc/modprobe.d/kvm-nested.conf && modprobe -r ${owner} && modprobe ${owner} (stop all guests first)`,
  };
}

function modeString(mode: number): string {
  const bits = 'rwxrwxrwx';
  let s = '';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  return s;
}

export function describeNode(d: NonNullable<CheckFacts['kvmDevice']>): string {
  const t = d.kind === 'char' ? 'c' : d.kind === 'block' ? 'b' : d.kind === 'directory' ? 'd' : '-';
  const mode = d.mode === null ? '?' : `${t}${modeString(d.mode)} (0${d.mode.toString(8)})`;
  const owner = `${d.owner ?? d.uid}:${d.group ?? d.gid}`;
  const dev = d.major !== null ? ` ${d.major}:${d.minor}` : '';
  return `${d.path}: ${mode} ${owner}${dev}`;
}

/** kvm.device: /dev/kvm exists and is the KVM character device 10:232 (live host only). */
export function checkKvmDevice(f: CheckFacts): Check {
  const id = 'kvm.device';
  const d = f.kvmDevice;
  if (!f.live || d === null) {
    return { id, status: 'SKIP', summary: 'device nodes are only checked on the live host (not under --root)', evidence: [], fix: null };
  }
  if (d.exists) {
    if (d.kind === 'char' && d.major === KVM_MAJOR && d.minor === KVM_MINOR) {
      return { id, status: 'PASS', summary: `${d.path} is the KVM device (${KVM_MAJOR}:${KVM_MINOR})`, evidence: [describeNode(d)], fix: null };
    }
    return {
      id,
      status: 'FAIL',
      summary: `${d.path} exists but is not the KVM character device ${KVM_MAJOR}:${KVM_MINOR}`,
      evidence: [describeNode(d)],
      fix: `rm ${d.path} && mknod ${d.path} c ${KVM_MAJOR} ${KVM_MINOR} && chown root:kvm ${d.path} && chmod 0660 ${d.path}`,
    };
  }
  const why = explainKvmUnbound(f);
  return {
    id,
    status: 'FAIL',
    summary: `${d.path} is missing: ${why.summary}`,
    evidence: [`${d.path}: No such file or directory`, ...why.evidence],
    fix: why.fix,
  };
}

/** kvm.permissions: the current user can open /dev/kvm read-write; group kvm can too (libvirt's qemu user). */
export function checkKvmPermissions(f: CheckFacts): Check {
  const id = 'kvm.permissions';
  const d = f.kvmDevice;
  if (!f.live || d === null) return { id, status: 'SKIP', summary: 'permissions are only checked on the live host', evidence: [], fix: null };
  if (!d.exists) return { id, status: 'SKIP', summary: `no ${d.path} (see kvm.device)`, evidence: [], fix: null };
  const u = f.user;
  const who = u ? `${u.name} (uid ${u.uid})` : 'this user';
  const ev = [describeNode(d)];
  if (u && d.group && u.deviceGroupMembers) ev.push(`/etc/group ${d.group}: ${u.deviceGroupMembers.join(',') || '(no members)'}`);
  if (!d.accessible) {
    const groupRw = d.mode !== null && (d.mode & 0o060) === 0o060;
    return {
      id,
      status: 'FAIL',
      summary: `${who} cannot open ${d.path} read-write`,
      evidence: ev,
      fix:
        groupRw && d.group
          ? `usermod -aG ${d.group} ${u?.name ?? 'USER'} (then log out and back in)`
          : `chown root:kvm ${d.path} && chmod 0660 ${d.path} (persist with a udev rule: KERNEL=="kvm", GROUP="kvm", MODE="0660"), then usermod -aG kvm ${u?.name ?? 'USER'}`,
    };
  }
  const groupRw = d.mode !== null && (d.mode & 0o060) === 0o060;
  const otherRw = d.mode !== null && (d.mode & 0o006) === 0o006;
  // systemd's udev rules (50-udev-default.rules: KERNEL=="kvm", GROUP="kvm", MODE="0660" on Debian 12) give /dev/kvm to group
  // kvm; libvirt's qemu user and admins are added to that group, not to another one.
  if (u?.uid === 0 && !otherRw && (!groupRw || (d.group !== null && d.group !== 'kvm'))) {
    return {
      id,
      status: 'WARN',
      summary: groupRw
        ? `${d.path} belongs to group ${d.group}, not kvm: QEMU run by libvirt (user libvirt-qemu) or by kvm-group users cannot open it`
        : `only root can open ${d.path}: QEMU run by libvirt (user libvirt-qemu) or by users cannot use KVM`,
      evidence: ev,
      fix: `chown root:kvm ${d.path} && chmod 0660 ${d.path} (persist with a udev rule: KERNEL=="kvm", GROUP="kvm", MODE="0660")`,
    };
  }
  const how = u?.uid === 0 ? 'root' : otherRw ? 'world-accessible' : `group ${d.group ?? d.gid}`;
  return { id, status: 'PASS', summary: `${who} can open ${d.path} read-write (${how})`, evidence: ev, fix: null };
}

function probeEvidence(f: CheckFacts): string[] {
  const p = f.probe!;
  const ev: string[] = [];
  if (p.method === 'native') {
    ev.push(`probe: native ioctls on ${p.path} (open, KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CREATE_VCPU)`);
    if (p.openErrno !== undefined && p.openErrno !== 0) ev.push(`open(${p.path}): ${p.openError ?? ''} (${errnoName(p.openErrno)})`);
    if (p.apiVersion !== undefined) ev.push(`KVM_GET_API_VERSION: ${p.apiVersion}${p.apiVersion === KVM_API_VERSION ? '' : ` (expected ${KVM_API_VERSION})`}`);
    if (p.createErrno !== undefined) ev.push(p.createErrno === 0 ? 'KVM_CREATE_VM: ok' : `KVM_CREATE_VM: ${p.createError ?? ''} (${errnoName(p.createErrno)})`);
    if (p.vcpuErrno !== undefined) ev.push(p.vcpuErrno === 0 ? 'KVM_CREATE_VCPU: ok' : `KVM_CREATE_VCPU: ${p.vcpuError ?? ''} (${errnoName(p.vcpuErrno)})`);
  } else if (p.method === 'none' && p.openErrno !== undefined && p.openErrno !== 0) {
    ev.push(`${p.path}: ${p.openError ?? ''} (${errnoName(p.openErrno)})`);
  } else if (p.method === 'qemu') {
    ev.push(`probe: ${p.qemuBinary ?? 'qemu-system-x86_64'} -accel kvm -machine none (native addon not available)`);
    if (p.qemuOutput) for (const l of p.qemuOutput.trim().split('\n').slice(0, 4)) ev.push(`qemu: ${l}`);
  }
  if (p.note) ev.push(p.note);
  return ev;
}

/**
 * kvm.usable: THE verdict. KVM works iff a VM can be created, whatever the cpuinfo flags say
 * (nested PVM has no vmx/svm; a BIOS-locked VT-x has /dev/kvm missing or KVM_CREATE_VM failing).
 */
export function checkKvmUsable(f: CheckFacts): Check {
  const id = 'kvm.usable';
  if (!f.live) {
    return { id, status: 'SKIP', summary: 'KVM can only be probed on the live host (not under --root)', evidence: [], fix: null };
  }
  const p = f.probe;
  if (p === null || p.usable === null) {
    return {
      id,
      status: 'SKIP',
      summary: 'could not probe KVM',
      evidence: p ? probeEvidence(f) : [],
      fix: 'build the native addon (npm rebuild) or install QEMU (apt-get install qemu-system-x86) so kvcpu can try to create a VM',
    };
  }
  const ev = probeEvidence(f);
  if (p.usable) {
    const noFlag = isX86(f.host.arch) && f.host.hwVirtualization === null;
    if (noFlag) {
      ev.push('no vmx/svm in /proc/cpuinfo: kvm-ok and virt-host-validate report "no KVM" here; they are wrong, a VM was just created');
      if (f.modules?.kvm_pvm) ev.push('KVM is provided by kvm_pvm (paravirtualized nested KVM)');
    }
    const what = p.method === 'native' ? 'a VM and a vCPU were created' : 'QEMU started with -accel kvm';
    return {
      id,
      status: 'PASS',
      summary: `KVM works: ${what}${noFlag ? ' (despite no vmx/svm flag: kvm-ok/virt-host-validate wrongly say no)' : ''}`,
      evidence: ev,
      fix: null,
    };
  }
  // Not usable: find the first step that failed and say what to do about it.
  const ENOENT = constants.errno.ENOENT;
  const EACCES = constants.errno.EACCES;
  const EPERM = constants.errno.EPERM;
  const missing = p.openErrno === ENOENT || (p.method !== 'native' && f.kvmDevice !== null && !f.kvmDevice.exists);
  if (missing) {
    const why = explainKvmUnbound(f);
    return { id, status: 'FAIL', summary: `KVM is not usable: ${p.path} is missing (${why.summary})`, evidence: [...ev, ...why.evidence], fix: why.fix };
  }
  if (p.openErrno === EACCES || p.openErrno === EPERM) {
    const u = f.user;
    return {
      id,
      status: 'FAIL',
      summary: `KVM is not usable by ${u ? u.name : 'this user'}: permission denied on ${p.path}`,
      evidence: ev,
      fix: `usermod -aG kvm ${u?.name ?? 'USER'} (then log in again); check that ${p.path} is root:kvm 0660`,
    };
  }
  if (p.openErrno !== undefined && p.openErrno !== 0) {
    return { id, status: 'FAIL', summary: `KVM is not usable: cannot open ${p.path} (${errnoName(p.openErrno)})`, evidence: ev, fix: explainKvmUnbound(f).fix };
  }
  if (p.apiVersion !== undefined && p.apiVersion !== KVM_API_VERSION) {
    return {
      id,
      status: 'FAIL',
      summary: `KVM API version ${p.apiVersion}, QEMU needs ${KVM_API_VERSION}`,
      evidence: ev,
      fix: 'the kernel is far too old or the device is not KVM: boot a current kernel',
    };
  }
  if (p.createErrno !== undefined && p.createErrno !== 0) {
    const busy = p.createErrno === constants.errno.EBUSY;
    return {
      id,
      status: 'FAIL',
      summary: `KVM is not usable: KVM_CREATE_VM failed (${errnoName(p.createErrno)})`,
      evidence: ev,
      fix: busy
        ? 'another hypervisor (VirtualBox, VMware) holds VT-x/AMD-V: stop it or unload its driver (vboxdrv, vmmon)'
        : 'read `dmesg | grep -i kvm`; common causes: VT-x/AMD-V locked off in BIOS (' + biosOrNestedFix(f) + '), or out of memory',
    };
  }
  if (p.vcpuErrno !== undefined && p.vcpuErrno !== 0) {
    return {
      id,
      status: 'FAIL',
      summary: `KVM is not usable: a VM was created but KVM_CREATE_VCPU failed (${errnoName(p.vcpuErrno)})`,
      evidence: ev,
      fix: 'read `dmesg | grep -i kvm`; on nested setups the outer hypervisor may lack features this KVM needs',
    };
  }
  return { id, status: 'FAIL', summary: 'KVM is not usable', evidence: ev, fix: explainKvmUnbound(f).fix };
}

/** kvm.vcpu_limits: KVM_CAP_NR_VCPUS (QEMU warns above it) and KVM_CAP_MAX_VCPUS (QEMU refuses above it), kvm-all.c kvm_init. */
export function checkKvmVcpuLimits(f: CheckFacts): Check {
  const id = 'kvm.vcpu_limits';
  const p = f.probe;
  if (!f.live || p === null || p.usable !== true) {
    return { id, status: 'SKIP', summary: 'vCPU limits need a working /dev/kvm on the live host', evidence: [], fix: null };
  }
  if (p.nrVcpus === undefined || p.nrVcpus <= 0) {
    return {
      id,
      status: 'SKIP',
      summary: 'vCPU limits not readable (needs the native addon: KVM_CHECK_EXTENSION)',
      evidence: [`probe method: ${p.method}`],
      fix: null,
    };
  }
  // KVM_CAP_MAX_VCPUS answers 0 on ancient kernels: the API doc says use NR_VCPUS then.
  const max = p.maxVcpus !== undefined && p.maxVcpus > 0 ? p.maxVcpus : p.nrVcpus;
  const ev = [`KVM_CAP_NR_VCPUS: ${p.nrVcpus}`, `KVM_CAP_MAX_VCPUS: ${p.maxVcpus ?? 'n/a'}`];
  if (p.maxVcpuId !== undefined && p.maxVcpuId > 0) ev.push(`KVM_CAP_MAX_VCPU_ID: ${p.maxVcpuId}`);
  ev.push(`QEMU warns "exceeds the recommended cpus supported by KVM" above ${p.nrVcpus} vCPUs and refuses more than ${max}`);
  return { id, status: 'PASS', summary: `recommended max ${p.nrVcpus} vCPUs per guest, hard max ${max}`, evidence: ev, fix: null };
}
