import type { PinOutcome } from '../guests/pin-guests.ts';

/**
 * The JSON of a pin (`kvcpu pin --json`, and the agent's answer to a pin request): under
 * --dry-run the threads that would move and their target CPUs, else what was applied and verified.
 */
export function pinOutcomeJson(out: PinOutcome): Record<string, unknown> {
  return {
    ok: true,
    dryRun: out.dryRun,
    method: out.method,
    commands: out.commands,
    threads: out.dryRun
      ? out.requests.map((r) => ({ guest: r.guest, pid: r.pid, tid: r.tid, label: r.label, comm: r.comm, cpus: r.cpus }))
      : out.result?.applied,
    statePaths: out.statePaths,
  };
}
