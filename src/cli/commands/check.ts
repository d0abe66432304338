import path from 'node:path';
import { act, type RegisterCommand } from '../command-kit.ts';
import { writeJson } from '../output.ts';
import { EXIT_FINDINGS, EXIT_OK } from '../../core/errors.ts';
import { gatherCheckFacts } from '../../check/gather-check-facts.ts';
import { checksJson, renderChecks } from '../../check/render-checks.ts';
import { runChecks } from '../../check/run-checks.ts';

/** `kvcpu check [--root DIR] [--json]`: virtualization readiness verdicts; exit 1 when any FAIL. */
export const registerCheck: RegisterCommand = (program, ctx) => {
  program
    .command('check')
    .description('is this host ready for KVM guests? VT-x/AMD-V, /dev/kvm (really creates a VM), IOMMU, SR-IOV, SMP, isolation')
    .option('--root <dir>', 'read /proc and /sys under DIR (a captured tree); live probes run only for /', '/')
    .option('--no-probe', 'do not create a test VM on /dev/kvm (kvm.usable is then SKIP)')
    .option('--json', 'print {"checks":[{id,status,summary,evidence,fix}]}')
    .action(
      act(ctx, async (opts: { root: string; json?: boolean; probe: boolean }) => {
        const root = path.resolve(opts.root);
        const facts = await gatherCheckFacts({ root, live: root === '/', probe: opts.probe });
        const checks = runChecks(facts);
        if (opts.json) writeJson(ctx.io, checksJson(checks));
        else ctx.io.out(renderChecks(checks, ctx.io));
        return checks.some((c) => c.status === 'FAIL') ? EXIT_FINDINGS : EXIT_OK;
      }),
    );
};
