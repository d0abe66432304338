import { ProcFiles } from '../io/proc-files.ts';
import type { ThreadClass } from './classify-thread.ts';
import type { QemuConfig } from './types.ts';

/** What does not change during a QEMU process's life, kept between scans. */
export interface KnownGuest {
  /** Identity: a pid is the same process only with the same start time and main-thread comm (exec changes the comm). */
  startTime: number;
  comm: string;
  argv: string[];
  config: QemuConfig;
  /** Started by libvirt: once its pid file names this process, it stays so (a false is asked again each scan: the file may come later). */
  libvirt: boolean;
  /** Thread roles by tid, each valid for one thread (same start time and comm; QEMU names a thread just after creating it). */
  threads: Map<number, { startTime: number; comm: string; cls: ThreadClass }>;
  seen: number;
}

/**
 * State a long-running sampler keeps between `snapshotGuests` calls so that one scan costs only
 * the per-thread files that change (stat, schedstat, sched, the affinity): each QEMU's parsed
 * command line, libvirt identity and thread roles keyed by pid + start time (tid + start time),
 * so a reused pid or tid is never served the old process's facts; and on the live /proc, open
 * descriptors for the small files (ProcFiles). Entries of processes that are gone are dropped
 * at the end of each scan. Not for one-shot commands: they scan once.
 */
export class GuestScanCache {
  readonly files: ProcFiles | null;
  readonly guests = new Map<number, KnownGuest>();
  private scan = 0;

  /** @param root the /proc root; descriptors are kept only for the live "/" (see ProcFiles). */
  constructor(root = '/', maxOpenFiles?: number) {
    this.files = root === '/' ? new ProcFiles(maxOpenFiles) : null;
  }

  /** Start a scan: returns its number (entries touched get it in `seen`). */
  begin(): number {
    this.files?.beginPass();
    return ++this.scan;
  }

  /** End a scan: forget processes not seen in it and close their descriptors. */
  end(): void {
    for (const [pid, g] of this.guests) if (g.seen !== this.scan) this.guests.delete(pid);
    this.files?.endPass();
  }

  close(): void {
    this.guests.clear();
    this.files?.closeAll();
  }
}
