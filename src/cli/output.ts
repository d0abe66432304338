import pc from 'picocolors';
import { escapeJsonControls, EXIT_ERROR, isKvcpuError, KvcpuError, quoteControls } from '../core/errors.ts';
import { paint, type ColorOption } from '../core/format.ts';

// Formatting lives below the capabilities (core/format.ts); re-exported for the commands.
export { paint, renderKeyValues, renderTable, type TableOptions } from '../core/format.ts';

/** Where a command writes: real stdout/stderr in the CLI, buffers in tests. */
export interface CliIo extends ColorOption {
  out(text: string): void;
  err(text: string): void;
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
    // process.stdin is made on first access (a tty, pipe or file stream): only commands that
    // read it pay for it.
    get stdin() {
      return process.stdin;
    },
  };
}

/** Coded rendering warnings on stderr: what a consumer cannot express (the document says it too, in comments). */
export function warnRendering(io: CliIo, notes: { code: string; message: string }[] | undefined): void {
  const p = paint(io);
  for (const n of notes ?? []) io.err(`${p.yellow('warning')} ${n.code}: ${n.message}\n`);
}

export function writeJson(io: CliIo, value: unknown): void {
  io.out(escapeJsonControls(JSON.stringify(value, null, 2)) + '\n');
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
    // Messages quote input (feature names, guest names, file content): controls are escaped
    // here, once, so no command can forget it.
    io.err(`${p.red('error')} ${quoteControls(err.code)}: ${quoteControls(err.message)}\n`);
    if (err.hint) io.err(`${p.dim('hint:')} ${quoteControls(err.hint)}\n`);
    if (!isKvcpuError(e) && e instanceof Error && e.stack && process.env.KVCPU_DEBUG) io.err(e.stack + '\n');
  }
  return EXIT_ERROR;
}
