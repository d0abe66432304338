import type { Command, Option } from 'commander';

/**
 * The CLI's commands as plain data, read from the commander definitions themselves: shell
 * completion and the man pages are generated from this, so they cannot drift from `--help`.
 */
export interface OptionNode {
  flags: string;
  long: string | null;
  short: string | null;
  description: string;
  /** Takes a value (`--root <dir>`). */
  takesValue: boolean;
  valueName: string | null;
  /** `.choices([...])` */
  choices: string[];
  defaultValue: string | null;
}

export interface CommandNode {
  /** Words from the top: `['cpu', 'baseline']`. */
  path: string[];
  name: string;
  description: string;
  usage: string;
  arguments: { name: string; required: boolean; variadic: boolean; description: string }[];
  options: OptionNode[];
  commands: CommandNode[];
}

/** Argument names whose values are running guests (completed from /proc). */
export const GUEST_ARGUMENTS = new Set(['guest', 'name-or-pid', 'guests', 'pid-or-name']);

function optionNode(o: Option): OptionNode {
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? null;
  return {
    flags: o.flags,
    long: o.long ?? null,
    short: o.short ?? null,
    description: o.description,
    takesValue: o.required || o.optional,
    valueName,
    choices: [...(o.argChoices ?? [])],
    defaultValue: o.defaultValue === undefined || typeof o.defaultValue === 'object' ? null : String(o.defaultValue),
  };
}

export function commandTree(cmd: Command, path: string[] = []): CommandNode {
  const args =
    (cmd as unknown as { registeredArguments: { name(): string; required: boolean; variadic: boolean; description: string }[] }).registeredArguments ?? [];
  return {
    path,
    name: path.length ? path[path.length - 1]! : cmd.name(),
    description: cmd.description(),
    usage: cmd.usage(),
    arguments: args.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic, description: a.description })),
    options: (cmd.options as readonly Option[]).filter((o) => !o.hidden).map(optionNode),
    commands: cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => commandTree(c, [...path, c.name()])),
  };
}

/** Every command node, depth first. */
export function allCommands(root: CommandNode): CommandNode[] {
  return [root, ...root.commands.flatMap(allCommands)];
}
