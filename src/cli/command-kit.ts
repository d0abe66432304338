import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { reportError, type CliContext } from './output.ts';

// Input helpers live below the capabilities; re-exported for the commands.
export { parseJsonText } from '../core/parse-json.ts';
export { readAll } from '../io/read-stream.ts';

/** A CLI module: adds its command(s) to the program. One module per noun in cli/commands/. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/**
 * Wrap a commander action: run it, turn its return value into the exit status, and print any
 * thrown error as `E_CODE: message` + hint (or as `{"ok":false,"error":{...}}` under --json /
 * --format json), exit status 2.
 */
export function act<A extends unknown[]>(ctx: CliContext, fn: (...args: A) => Promise<number | void> | number | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command | undefined;
    const opts = (cmd && typeof cmd.opts === 'function' ? cmd.opts() : {}) as Record<string, unknown>;
    const json = opts.json === true || opts.format === 'json';
    try {
      const code = await fn(...args);
      ctx.exitCode = Math.max(ctx.exitCode, code ?? 0);
    } catch (e) {
      ctx.exitCode = reportError(ctx.io, e, json);
    }
  };
}

/** commander argument parser for a positive integer option (`--vcpus 4`). */
export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

/** commander argument parser for a non-negative integer option. */
export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

/** Collect a repeatable option into an array (`--vcpu 0=2 --vcpu 1=3`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
