import { Command, CommanderError } from 'commander';
import { EXIT_ERROR, quoteControls } from '../core/errors.ts';
import { kvcpuVersion } from '../core/package-root.ts';
import { registerCompletion } from './commands/completion.ts';
import { loadCommands } from './commands/index.ts';
import { paint, processIo, reportError, writeJson, type CliContext, type CliIo } from './output.ts';

/** True when the command line asks for JSON output (--json, --format json, --format=json). */
function wantsJson(argv: string[]): boolean {
  return argv.some((a, i) => a === '--json' || a === '--format=json' || (a === '--format' && argv[i + 1] === 'json'));
}

/**
 * Build the `kvcpu` program against `ctx`: every command, or only the one named `only` (the
 * command being run), so a single command does not load every capability; `null` registers
 * none (`kvcpu --version` needs no command module).
 */
export async function buildProgram(ctx: CliContext, only?: string | null): Promise<Command> {
  // `completion` and its hidden `__complete` helper need no capability module of their own; the
  // completion script is made from the whole program, built on demand (no import cycle).
  const completionOnly = only === 'completion' || only === '__complete';
  const commands = only === null || completionOnly ? [] : await loadCommands(only);
  const program = new Command('kvcpu')
    .description('vCPU toolkit for KVM/QEMU hosts: readiness, -smp topology, CPU models, placement, pinning, overcommit')
    .version(kvcpuVersion())
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
      outputError: (s, write) => write(paint(ctx.io).red(quoteControls(s.replace(/^error: /, 'error E_USAGE: ')))),
    })
    .exitOverride();
  for (const register of commands) register(program, ctx);
  if (only === undefined || completionOnly) {
    const silent: CliContext = { io: { out: () => undefined, err: () => undefined, color: false, stdin: ctx.io.stdin }, exitCode: 0 };
    registerCompletion(program, ctx, () => buildProgram(silent));
  }
  // Subcommands inherit output settings and exitOverride so usage errors never call process.exit.
  const propagate = (c: Command) => {
    for (const sub of c.commands) {
      sub.exitOverride().configureOutput({
        writeOut: (s) => ctx.io.out(s),
        writeErr: (s) => ctx.io.err(s),
        outputError: (s, write) => write(paint(ctx.io).red(quoteControls(s.replace(/^error: /, 'error E_USAGE: ')))),
      });
      sub.showSuggestionAfterError(true);
      propagate(sub);
    }
  };
  propagate(program);
  return program;
}

/**
 * Run the CLI with `argv` (without node and script) and return the exit status:
 * 0 ok, 1 a check failed, 2 bad input or environment error.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  // The first word names the command when it is not an option (`kvcpu host --json`).
  const first = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const versionOnly = argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
  const program = await buildProgram(ctx, versionOnly ? null : first);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version are not errors.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      // commander already printed "error E_USAGE: ..." on stderr; scripts that asked for JSON
      // also get the JSON envelope on stdout, like every other error.
      if (wantsJson(argv)) {
        writeJson(io, { ok: false, error: { code: 'E_USAGE', message: e.message.replace(/^error: /, ''), hint: 'see --help' } });
      }
      return EXIT_ERROR;
    }
    // Anything else thrown outside an action (an option parser, a register function) is still
    // reported with a code and exit 2, never as an uncaught stack trace.
    return reportError(io, e, wantsJson(argv));
  }
  return ctx.exitCode;
}
