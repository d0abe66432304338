/**
 * `kvcpu/check`: Check: virtualization readiness checks (KVM, VT-x/AMD-V, IOMMU, SMP) as PASS/WARN/FAIL values.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { gatherCheckFacts, readCheckTree } from './gather-check-facts.ts';
export type { GatherCheckFactsOptions } from './gather-check-facts.ts';
export { runChecks, countStatuses, hostFactsFrom } from './run-checks.ts';
export { renderChecks, checksJson } from './render-checks.ts';
export { parseKernelCmdline, readCmdlineCpus } from './parse-kernel-cmdline.ts';
export type { KernelCmdline, CmdlineCpus } from './parse-kernel-cmdline.ts';
export { probeKvm, probeKvmWithQemu } from './probe-kvm.ts';
export type { ProbeKvmOptions } from './probe-kvm.ts';
export { readKernelLog } from './read-kernel-log.ts';
export { collectCheckSection } from './report-section.ts';
export type { Check, CheckStatus, CheckFacts, CheckHostFacts } from './types.ts';
