import { Argument, type Command } from 'commander';
import { listQemuProcesses } from '../../guests/scan-proc.ts';
import { parseQemuCmdline } from '../../guests/parse-qemu-cmdline.ts';
import { act } from '../command-kit.ts';
import type { CliContext } from '../output.ts';
import { commandTree } from '../command-tree.ts';
import { COMPLETION_SHELLS, renderCompletion, type CompletionShell } from '../render-completion.ts';

/**
 * `kvcpu completion bash|zsh|fish` prints the script; `kvcpu __complete guests` (hidden) lists
 * running guests' names and pids for it: one /proc walk, no QMP, no libvirt (it runs on every TAB).
 */
export function registerCompletion(program: Command, ctx: CliContext, fullProgram: () => Promise<Command>): void {
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
}
