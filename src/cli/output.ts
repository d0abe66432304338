import pc from 'picocolors';
import { EXIT_ERROR, isKvcpuError, KvcpuError } from '../core/errors.ts';

/** Where a command writes: real stdout/stderr in the CLI, buffers in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Colour only when the output is a terminal and NO_COLOR is unset (https://no-color.org). */
  color: boolean;
  stdin: NodeJS.ReadableStream;
}

export interface CliContext {
  io: CliIo;
  /** Exit status the command asks for: 0 ok, 1 findings (a FAIL), 2 bad input/environment. */
  exitCode: number;
}

export function processIo(): CliIo {
  // `kvcpu ps | head` closes the pipe early: that is the reader's choice, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const color = Boolean(process.stdout.isTTY) && !('NO_COLOR' in process.env) && pc.isColorSupported;
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    color,
    stdin: process.stdin,
  };
}

/** Colour helpers that turn into identity functions when colour is off. */
export function paint(io: CliIo) {
  const c = pc.createColors(io.color);
  return {
    bold: c.bold,
    dim: c.dim,
    red: c.red,
    green: c.green,
    yellow: c.yellow,
    cyan: c.cyan,
    status(s: string): string {
      if (s === 'PASS' || s === 'ok') return c.green(s);
      if (s === 'WARN') return c.yellow(s);
      if (s === 'FAIL') return c.red(s);
      return c.dim(s);
    },
  };
}

/** Coded rendering warnings on stderr: what a consumer cannot express (the document says it too, in comments). */
export function warnRendering(io: CliIo, notes: { code: string; message: string }[] | undefined): void {
  const p = paint(io);
  for (const n of notes ?? []) io.err(`${p.yellow('warning')} ${n.code}: ${n.message}\n`);
}

// ANSI escape sequences do not take up columns.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
function width(s: string): number {
  return s.replace(ANSI, '').length;
}

export interface TableOptions {
  /** Columns aligned right (numbers), by index. */
  right?: number[];
  /** Column separator; lscpu uses a single space, we use two for readability. */
  gap?: string;
}

/**
 * Render rows as an aligned plain-text table with a header line, in the style of `lscpu -e`
 * (no borders, so the output stays greppable and copy-pastable).
 */
export function renderTable(header: string[], rows: (string | number | null | undefined)[][], opts: TableOptions = {}): string {
  const gap = opts.gap ?? '  ';
  const right = new Set(opts.right ?? []);
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined ? '-' : String(v))));
  const widths = header.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((v, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - width(v)));
        return right.has(i) ? pad + v : i === r.length - 1 ? v : v + pad;
      })
      .join(gap)
      .replace(/\s+$/, '');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** Render `key: value` lines like lscpu's summary (keys padded to one column). */
export function renderKeyValues(pairs: [string, string | number | null | undefined][]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w)}  ${v === null || v === undefined ? '-' : String(v)}`).join('\n') + '\n';
}

export function writeJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + '\n');
}

/** Print an error the way the user asked for output (JSON envelope or one human line + hint). */
export function reportError(io: CliIo, e: unknown, json: boolean): number {
  const err = isKvcpuError(e)
    ? e
    : new KvcpuError('E_INTERNAL', e instanceof Error ? e.message : String(e), {
        hint: 'this is a kvcpu bug: please report it with the command line you ran',
        cause: e,
      });
  if (json) {
    writeJson(io, { ok: false, error: err.toJSON() });
  } else {
    const p = paint({ ...io, color: io.color });
    io.err(`${p.red('error')} ${err.code}: ${err.message}\n`);
    if (err.hint) io.err(`${p.dim('hint:')} ${err.hint}\n`);
    if (!isKvcpuError(e) && e instanceof Error && e.stack && process.env.KVCPU_DEBUG) io.err(e.stack + '\n');
  }
  return EXIT_ERROR;
}
