import type { ThreadRole, VcpuSource } from './types.ts';

export interface ThreadClass {
  role: ThreadRole;
  vcpu: number | null;
  /** Set for `ALL CPUs/TCG`: the one thread runs every vCPU. */
  allVcpus?: boolean;
  accel?: string;
  iothread?: string;
  detail?: string;
}

export interface ClassifyContext {
  pid: number;
  /** TID -> cpu-index from QMP query-cpus-fast or libvirt's status XML. */
  vcpuTids: Map<number, number>;
  vcpuSource: VcpuSource;
}

/**
 * Classify one QEMU thread by its comm. With `-name ...,debug-threads=on` QEMU names threads
 * (util/qemu-thread-posix.c qemu_thread_create + pthread_setname_np): vCPUs `CPU n/KVM` or
 * `CPU n/TCG` (accel/*-accel-ops.c), `ALL CPUs/TCG` for single-threaded TCG, `IO <id>` for
 * iothreads (`IO mon_iothread` is the QMP monitor's, i.e. emulator work), and `call_rcu`,
 * `worker`, `vnc_worker` helpers. Without names, vCPU TIDs come from QMP or libvirt.
 */
export function classifyThread(tid: number, comm: string, ctx: ClassifyContext): ThreadClass {
  const cpu = /^CPU (\d+)\/(\w+)$/.exec(comm);
  if (cpu) return { role: 'vcpu', vcpu: Number(cpu[1]), accel: cpu[2]!.toLowerCase() };
  if (comm === 'ALL CPUs/TCG') return { role: 'vcpu', vcpu: null, allVcpus: true, accel: 'tcg' };
  const fromMap = ctx.vcpuTids.get(tid);
  if (fromMap !== undefined && tid !== ctx.pid) return { role: 'vcpu', vcpu: fromMap };
  if (comm === 'IO mon_iothread') return { role: 'emulator', vcpu: null, detail: 'QMP monitor iothread' };
  const io = /^IO (.+)$/.exec(comm);
  if (io) return { role: 'iothread', vcpu: null, iothread: io[1]! };
  if (/^vhost-\d+$/.test(comm)) return { role: 'vhost', vcpu: null };
  // Created by KVM itself inside the VMM (kernel >= 6.13 PF_USER_WORKER): neither a vCPU nor
  // QEMU emulator code, but pinnable.
  if (comm === 'kvm-nx-lpage-re' || comm.startsWith('kvm-nx-lpage')) return { role: 'other', vcpu: null, detail: 'kernel KVM worker' };
  if (tid === ctx.pid) return { role: 'emulator', vcpu: null, detail: 'main' };
  // Unnamed threads when kvcpu could not learn the vCPU TIDs: they may be vCPUs, so do not
  // call them emulator threads.
  if (ctx.vcpuSource === 'none' && /^qemu-system|^qemu-kvm/.test(comm)) return { role: 'other', vcpu: null, detail: 'unnamed (no debug-threads, no QMP)' };
  return { role: 'emulator', vcpu: null, ...(comm === 'call_rcu' || comm === 'worker' || comm === 'vnc_worker' ? { detail: comm } : {}) };
}
