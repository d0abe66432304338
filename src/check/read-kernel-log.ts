import { closeSync, constants, openSync, readSync } from 'node:fs';

/**
 * Kernel log lines about virtualization (KVM vendor modules, VT-x/AMD-V, IOMMU), read from
 * /dev/kmsg without blocking (one record per read(2), EAGAIN at the end; see
 * Documentation/ABI/testing/dev-kmsg). Live host only; null when the log is not readable
 * (dmesg_restrict for non-root users). kvm-clock lines are guest clock noise, not KVM.
 */
export const KERNEL_LOG_PATTERN =
  /^(kvm(?!-clock)[\w-]*:|kvm_(intel|amd|pvm)|DMAR|AMD-Vi|iommu|x86\/cpu: (VMX|SVM)|Hypervisor detected)|disabled by bios|VMX not supported|SVM not supported/i;

export function readKernelLog(pattern: RegExp = KERNEL_LOG_PATTERN, path = '/dev/kmsg'): string[] | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  const out: string[] = [];
  const buf = Buffer.alloc(16384);
  try {
    for (let i = 0; i < 200_000; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; // the record was overwritten while we read: skip it
        if (code === 'EAGAIN') break; // end of the buffer
        return out.length > 0 ? out : null;
      }
      if (n <= 0) break;
      // One record per read on /dev/kmsg ("prio,seq,usec,flags;message\n" + " KEY=value" lines);
      // a saved copy read as a plain file gives many records per read: handle both.
      for (const line of buf.toString('utf8', 0, n).split('\n')) {
        const semi = line.indexOf(';');
        if (line.startsWith(' ') || semi < 0) continue;
        const msg = line.slice(semi + 1).trim();
        if (pattern.test(msg)) out.push(msg);
      }
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
