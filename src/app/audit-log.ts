import { appendFileSync, openSync, closeSync } from 'node:fs';

/** One audited action: who asked, what, and what each thread's affinity was before and after. */
export interface AuditEntry {
  time: string;
  who: { remote: string | null; userAgent: string | null };
  action: 'pin' | 'unpin' | 'hotplug';
  outcome: 'applied' | 'dry-run' | 'refused' | 'denied';
  request: unknown;
  changes?: { guest: string; pid: number; tid: number | null; what: string; before: string | null; after: string | null }[];
  error?: { code: string; message: string };
}

/**
 * Append-only JSON-lines audit log of agent actions (file mode 0600). Written synchronously,
 * so an entry is on disk before the HTTP answer leaves and a SIGTERM cannot lose it. The
 * bearer token is never part of an entry.
 */
export class AuditLog {
  constructor(
    private readonly path: string | null,
    private readonly fallback: (line: string) => void = (l) => process.stderr.write(`audit ${l}`),
  ) {
    if (path) closeSync(openSync(path, 'a', 0o600));
  }

  write(e: Omit<AuditEntry, 'time'>): void {
    const line = JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n';
    if (this.path) appendFileSync(this.path, line, { mode: 0o600 });
    else this.fallback(line);
  }
}
