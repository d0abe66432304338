import { spawnSync } from 'node:child_process';
import { featureTable } from './feature-names.ts';

function startsKvm(cpu: string, binary: string): { ok: boolean; stderr: string } {
  const r = spawnSync(binary, ['-machine', 'pc', '-accel', 'kvm', '-cpu', cpu, '-S', '-nodefaults', '-display', 'none', '-qmp', 'stdio'], {
    input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { ok: r.status === 0, stderr: r.stderr ?? '' };
}

/**
 * Whether this KVM can give a guest its own TSC frequency (KVM_CAP_TSC_CONTROL): without it QEMU
 * 7.2 kvm_arch_init_vcpu fails for any tsc-frequency= ("kvm_init_vcpu: kvm_arch_init_vcpu failed
 * (0): Operation not supported"). Asked with one start at 1 GHz.
 */
export function probeTscScaling(binary = 'qemu-system-x86_64'): boolean {
  return !/kvm_arch_init_vcpu failed/.test(startsKvm('qemu64,tsc-frequency=1000000000', binary).stderr);
}

/**
 * Which MSRs this KVM refuses to take non-zero values for. KVM can advertise an MSR feature
 * (KVM_GET_MSR_FEATURE_INDEX_LIST) and still fail KVM_SET_MSRS for it — under nested PVM
 * IA32_ARCH_CAPABILITIES (0x10a): QEMU 7.2 then aborts in kvm_buf_set_msrs after
 * "error: failed to set MSR 0x10a to 0x69". Asked by starting `-cpu host` (all MSR features on);
 * after a refusal the features of that MSR are turned off and QEMU is asked again (at most 4 times).
 */
export function probeRefusedMsrs(binary = 'qemu-system-x86_64'): number[] {
  const refused: number[] = [];
  const off: string[] = [];
  for (let i = 0; i < 4; i++) {
    const cpu = ['host', ...off.map((f) => `-${f}`)].join(',');
    const m = /failed to set MSR (0x[0-9a-f]+) to/.exec(startsKvm(cpu, binary).stderr);
    if (!m) break;
    const msr = Number(m[1]);
    if (refused.includes(msr)) break;
    refused.push(msr);
    for (const row of featureTable().rows) if (row.loc.type === 'msr' && row.loc.index === msr && row.qemu) off.push(row.qemu);
  }
  return refused.sort((a, b) => a - b);
}
