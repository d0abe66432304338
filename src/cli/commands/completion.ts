import { Argument, type Command } from 'commander';
import { listQemuProcesses } from '../../guests/scan-proc.ts';
import { parseQemuCmdline } from '../../guests/parse-qemu-cmdline.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { commandTree } from '../command-tree.ts';
import { COMPLETION_SHELLS, renderCompletion, type CompletionShell } from '../render-completion.ts';

/** The whole program (every command module), for the completion script. */
async function fullProgram(): Promise<Command> {
  const { buildProgram } = await import('../main.ts');
  return buildProgram({ io: { out: () => undefined, err: () => undefined, color: false, stdin: process.stdin }, exitCode: 0 });
}

/**
 * `kvcpu completion bash|zsh|fish` prints the script; `kvcpu __complete guests` (hidden) lists
 * running guests' names and pids for it: one /proc walk, no QMP, no libvirt (it runs on every TAB).
 */
export const registerCompletion: RegisterCommand = (program, ctx) => {
  program
    .command('completion')
    .description('print a shell completion script (subcommands, options, choices, running guest names)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(COMPLETION_SHELLS))
    .action(
      act(ctx, async (shell: CompletionShell) => {
        ctx.io.out(renderCompletion(shell, commandTree(await fullProgram())));
        return 0;
      }),
    );
  program
    .command('__complete', { hidden: true })
    .argument('<what>', 'guests')
    .action(
      act(ctx, (what: string) => {
        if (what !== 'guests') return 0;
        const names = new Set<string>();
        for (const p of listQemuProcesses('/')) {
          const name = parseQemuCmdline(p.argv).name;
          names.add(name ?? String(p.pid));
        }
        ctx.io.out([...names].sort().join('\n') + (names.size ? '\n' : ''));
        return 0;
      }),
    );
};
