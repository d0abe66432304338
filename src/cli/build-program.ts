import { EXIT_ERROR, quoteControls } from '../core/errors.ts';
import { kvcpuVersion } from '../core/package-root.ts';
import { Command, CommanderError, Help } from 'commander';
import { COMMAND_SUMMARIES } from './command-summaries.ts';
import { loadCommands, moduleFor } from './commands/index.ts';
import { paint, reportError, writeJson, type CliContext, type CliIo } from './output.ts';

/** True when the command line asks for JSON output (--json, --format json, --format=json). */
function wantsJson(argv: string[]): boolean {
  return argv.some((a, i) => a === '--json' || a === '--format=json' || (a === '--format' && argv[i + 1] === 'json'));
}

/**
 * Build the `kvcpu` program against `ctx`: every command, or only the one named `only` (the
 * command being run), so a single command does not load every capability; `null` registers
 * none.
 */
export async function buildProgram(ctx: CliContext, only?: string | null): Promise<Command> {
  // `completion` and its hidden `__complete` helper need no capability module of their own; the
  // completion script is made from the whole program, built on demand (no import cycle).
  const completionOnly = only === 'completion' || only === '__complete';
  const commands = only === null || completionOnly ? [] : await loadCommands(only);
  const program = newProgram(ctx);
  for (const register of commands) register(program, ctx);
  if (only === undefined || completionOnly) {
    const { registerCompletion } = await import('./commands/completion.ts');
    const silent: CliContext = { io: { out: () => undefined, err: () => undefined, color: false, stdin: ctx.io.stdin }, exitCode: 0 };
    registerCompletion(program, ctx, () => buildProgram(silent));
  }
  return finishProgram(program, ctx);
}

/**
 * The program as `kvcpu --help`, `kvcpu help`, a bare `kvcpu` or a mistyped command see it: one
 * placeholder per command, named and described from the static table (command-summaries.ts),
 * so listing the commands or suggesting one loads no command module. The placeholders never
 * run: a known command word takes buildProgram's path. test/command-summaries.test.ts checks
 * that this help is the whole program's, byte for byte.
 */
export function buildHelpProgram(ctx: CliContext): Command {
  const program = newProgram(ctx);
  const terms = new Map(COMMAND_SUMMARIES.map((c) => [c.name, c.term]));
  program.configureHelp({
    subcommandTerm(this: Help, cmd: Command): string {
      return terms.get(cmd.name()) ?? Help.prototype.subcommandTerm.call(this, cmd);
    },
  });
  for (const c of COMMAND_SUMMARIES) program.command(c.name).description(c.description);
  return finishProgram(program, ctx);
}

function newProgram(ctx: CliContext): Command {
  return new Command('kvcpu')
    .description('vCPU toolkit for KVM/QEMU hosts: readiness, -smp topology, CPU models, placement, pinning, overcommit')
    .version(kvcpuVersion())
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
      outputError: (s, write) => write(paint(ctx.io).red(quoteControls(s.replace(/^error: /, 'error E_USAGE: ')))),
    })
    .exitOverride();
}

function finishProgram(program: Command, ctx: CliContext): Command {
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
 * The command word `argv` runs (`kvcpu host ...`, `kvcpu help host`), or undefined when it names
 * none (no word, an option first, a typo): then the help program (placeholders) serves it.
 */
function commandWord(argv: string[]): string | undefined {
  const first = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const known = (w: string | undefined) => w !== undefined && (moduleFor(w) !== undefined || w === 'completion' || w === '__complete');
  if (known(first)) return first;
  if (first === 'help' && known(argv[1])) return argv[1];
  return undefined;
}

/** main() past its `--version` shortcut: build the program argv needs and run it. */
export async function runProgram(argv: string[], io: CliIo): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  const word = commandWord(argv);
  const program = word === undefined ? buildHelpProgram(ctx) : await buildProgram(ctx, word);
  return runWith(program, ctx, argv);
}

/** Parse `argv` with `program` and return the exit status (usage errors as E_USAGE, exit 2). */
export async function runWith(program: Command, ctx: CliContext, argv: string[]): Promise<number> {
  const io = ctx.io;
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
