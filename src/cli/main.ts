import { kvcpuVersion } from '../core/package-root.ts';
import type { Command } from 'commander';
import { processIo, type CliContext, type CliIo } from './output.ts';

// The entry point stays small: `kvcpu --version` answers from package.json without commander,
// and everything else loads commander and the one command module it runs
// (./build-program.ts), so start-up is paid for what a command uses (issue 11, item 5).

/**
 * Build the `kvcpu` program against `ctx`: every command, or only the one named `only` (the
 * command being run), so a single command does not load every capability; `null` registers
 * none.
 */
export async function buildProgram(ctx: CliContext, only?: string | null): Promise<Command> {
  return (await import('./build-program.ts')).buildProgram(ctx, only);
}

/**
 * Run the CLI with `argv` (without node and script) and return the exit status:
 * 0 ok, 1 a check failed, 2 bad input or environment error.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  // What commander's .version() prints, byte for byte (`${version}\n` on stdout).
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.out(`${kvcpuVersion()}\n`);
    return 0;
  }
  return (await import('./build-program.ts')).runProgram(argv, io);
}
