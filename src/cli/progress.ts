import type { CliIo } from './output.ts';

/** Where a progress line goes: a terminal stream (process.stderr) or a test's stand-in. */
export interface ProgressStream {
  isTTY?: boolean | undefined;
  /** Terminal width; the line is cut to fit (a wrapped line cannot be redrawn with \r). */
  columns?: number | undefined;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** Default: process.stderr. */
  stream?: ProgressStream;
  /** The command prints JSON (--json / --format json): never draw. */
  json?: boolean;
  /** Default process.env: CI set or TERM=dumb turns progress off (logs keep every \r). */
  env?: Record<string, string | undefined>;
  /** Word before the bar ("import", "bench", "verify"). */
  label?: string;
  /** Least time between two redraws (ms); the first and the last update always draw. Default 100. */
  minIntervalMs?: number;
  /** Redraw every this many ms even without an update (the elapsed time keeps moving); 0 = off. */
  tickMs?: number;
  now?: () => number;
}

export interface ProgressLine {
  /** `done` of `total` finished, `note` = what runs now. */
  update(done: number, total: number, note?: string): void;
  /** Write other output (whole lines) while the bar is up: erase it, write, draw it again. */
  above(write: () => void): void;
  /** Erase the line for good (the work is over; its result follows). */
  end(): void;
}

const ERASE = '\r\x1b[2K';
const WIDTH = 24;

/** process.stderr's terminal facts with the command's own error writer (in-process tests capture it). */
export function stderrOf(io: Pick<CliIo, 'err'>): ProgressStream {
  return {
    isTTY: process.stderr.isTTY,
    get columns() {
      return process.stderr.columns;
    },
    write: (s: string) => io.err(s),
  };
}

/**
 * A one-line progress bar for long work (fleet import, `npm run bench`, `smp --verify`), drawn on
 * stderr only when stderr is a terminal and the output is not JSON, so pipes, files, CI logs
 * and scripts never see it; null otherwise (callers write `p?.update(...)`).
 * `label [#######.........] 3/10 · 12 s · note`, cut to the terminal width, redrawn with \r.
 */
export function progressLine(opts: ProgressOptions = {}): ProgressLine | null {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  if (opts.json || !stream.isTTY || env.CI || env.TERM === 'dumb') return null;
  const now = opts.now ?? Date.now;
  const minInterval = opts.minIntervalMs ?? 100;
  const started = now();
  let last = -Infinity;
  let state: { done: number; total: number; note: string } | null = null;
  let shown = false;
  let ended = false;
  let timer: NodeJS.Timeout | null = null;

  const render = (): string => {
    const s = state!;
    const frac = s.total > 0 ? Math.min(1, s.done / s.total) : 0;
    const fill = Math.round(frac * WIDTH);
    const secs = Math.floor((now() - started) / 1000);
    const parts = [`${opts.label ? `${opts.label} ` : ''}[${'#'.repeat(fill)}${'.'.repeat(WIDTH - fill)}] ${s.done}/${s.total}`];
    if (secs >= 1) parts.push(`${secs} s`);
    // eslint-disable-next-line no-control-regex -- a file name's control characters must not move the cursor
    if (s.note) parts.push(s.note.replace(/[\u0000-\u001f\u007f]/g, ' '));
    const line = parts.join(' · ');
    // A pty without a size (script(1) into a file) says 0 columns.
    const cols = stream.columns || 80;
    // One column short of the width: a line that fills it wraps on some terminals.
    return [...line].length > cols - 1 ? [...line].slice(0, Math.max(1, cols - 2)).join('') + '…' : line;
  };
  const draw = () => {
    if (!state || ended) return;
    stream.write(`${ERASE}${render()}`);
    shown = true;
    last = now();
  };
  if (opts.tickMs) {
    timer = setInterval(draw, opts.tickMs);
    timer.unref();
  }
  return {
    update(done, total, note = '') {
      if (ended) return;
      const first = state === null;
      state = { done, total, note };
      if (first || done >= total || now() - last >= minInterval) draw();
    },
    above(write) {
      if (shown && !ended) stream.write(ERASE);
      write();
      if (shown && !ended) draw();
    },
    end() {
      if (ended) return;
      ended = true;
      if (timer) clearInterval(timer);
      if (shown) stream.write(ERASE);
    },
  };
}
