import { InvalidArgumentError, type Command } from 'commander';
import { readHost } from '../../host/read-host.ts';
import { renderTopTable } from '../../guests/render-guests.ts';
import { snapshotGuests } from '../../guests/snapshot-guests.ts';
import { computeTopRows, type TopRow } from '../../guests/top-rates.ts';
import { filterGuests } from '../../guests/find-guest.ts';
import { act, parsePositiveInt, type RegisterCommand } from '../command-kit.ts';

function parseInterval(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0.05) throw new InvalidArgumentError('expected seconds >= 0.05');
  return n;
}

/**
 * `kvcpu top`: refresh per-vCPU CPU%, migrations/s and run-queue wait% every interval.
 * Interactive only on a TTY (raw mode so `q` quits without Enter); Ctrl-C quits too, and the
 * terminal is restored either way. `--iterations N` stops after N refreshes (scripts, tests).
 */
export const registerTop: RegisterCommand = (program: Command, ctx) => {
  program
    .command('top')
    .argument('[guest...]', 'only these guests (names or pids)')
    .description('refreshing per-vCPU view: CPU%, migrations/s, run-queue wait% (host-side steal); q or Ctrl-C quits')
    .option('--interval <seconds>', 'seconds between refreshes', parseInterval, 1)
    .option('--iterations <n>', 'stop after N refreshes', parsePositiveInt)
    .option('--all-threads', 'show emulator, IO and other threads too')
    .option('--json', 'print each refresh as one JSON line {"rows":[...]}')
    .action(
      act(ctx, async (refs: string[], opts: { interval: number; iterations?: number; allThreads?: boolean; json?: boolean }) => {
        const host = readHost();
        const roles: TopRow['role'][] = opts.allThreads ? ['vcpu', 'emulator', 'iothread', 'vhost', 'other'] : ['vcpu'];
        const stdin = ctx.io.stdin as NodeJS.ReadStream;
        const tty = Boolean(stdin.isTTY) && typeof stdin.setRawMode === 'function';
        const isOutTty = Boolean(process.stdout.isTTY) && !opts.json;
        let stop = false;
        let wake: (() => void) | null = null;
        const quit = () => {
          stop = true;
          wake?.();
        };
        const onKey = (b: Buffer) => {
          const s = b.toString();
          if (s === 'q' || s === 'Q' || s === '\u0003') quit();
        };
        process.on('SIGINT', quit);
        if (tty) {
          stdin.setRawMode(true);
          stdin.resume();
          stdin.on('data', onKey);
        }
        try {
          // Resolve the names once (a typo fails at once); then follow those pids.
          let prev = filterGuests(await snapshotGuests({ host }), refs);
          const pids = refs.length ? prev.guests.map((g) => g.pid) : undefined;
          for (let i = 0; !stop && (opts.iterations === undefined || i < opts.iterations); i++) {
            await new Promise<void>((r) => {
              const t = setTimeout(r, opts.interval * 1000);
              wake = () => {
                clearTimeout(t);
                r();
              };
            });
            if (stop) break;
            const cur = await snapshotGuests({ host, ...(pids ? { pids } : {}) });
            const rows = computeTopRows(prev, cur, roles);
            prev = cur;
            if (opts.json) ctx.io.out(JSON.stringify({ iteration: i + 1, rows }) + '\n');
            else ctx.io.out((tty && isOutTty ? '\u001b[H\u001b[2J' : i > 0 ? '\n' : '') + renderTopTable(rows, opts.interval));
          }
        } finally {
          process.off('SIGINT', quit);
          if (tty) {
            stdin.off('data', onKey);
            stdin.setRawMode(false);
            stdin.pause();
          }
        }
        return 0;
      }),
    );
};
