import { allCommands, GUEST_ARGUMENTS, type CommandNode } from './command-tree.ts';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** Commands whose first argument is a running guest: completed from /proc by `kvcpu __complete guests`. */
function guestCommands(root: CommandNode): string[] {
  return allCommands(root)
    .filter((c) => c.path.length > 0 && c.arguments[0] && GUEST_ARGUMENTS.has(c.arguments[0].name))
    .map((c) => c.path.join(' '));
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * bash: one function that finds the command path among the words typed so far, then offers
 * that command's subcommands and options, an option's choices after it, files for value
 * options, and guest names where a command takes a guest.
 */
function bash(root: CommandNode): string {
  const cases: string[] = [];
  for (const c of allCommands(root)) {
    const key = c.path.join(' ');
    const words = [...c.commands.map((s) => s.name), ...c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)), '--help'];
    const valued = c.options.filter((o) => o.takesValue);
    const choiceCases = valued
      .filter((o) => o.choices.length)
      .map((o) => `        ${[o.long, o.short].filter(Boolean).join('|')}) COMPREPLY=($(compgen -W ${shq(o.choices.join(' '))} -- "$cur")); return ;;`);
    const fileOpts = valued.filter((o) => !o.choices.length).flatMap((o) => [o.long, o.short].filter((x): x is string => !!x));
    cases.push(
      `    ${shq(key)})\n      case "$prev" in\n${choiceCases.join('\n')}${choiceCases.length ? '\n' : ''}${fileOpts.length ? `        ${fileOpts.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;\n` : ''}      esac\n      words=${shq(words.join(' '))} ;;`,
    );
  }
  const guests = guestCommands(root);
  return `# bash completion for kvcpu (generated from its command definitions: kvcpu completion bash)
# Install: kvcpu completion bash > /etc/bash_completion.d/kvcpu   (or source it from ~/.bashrc)
_kvcpu() {
  local cur prev path="" w i words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # The command path: the leading words that are subcommands.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && break
    if _kvcpu_is_command "\${path:+$path }$w"; then path="\${path:+$path }$w"; else break; fi
  done
  case "$path" in
${cases.join('\n')}
    *) words="" ;;
  esac
  if [[ "$cur" != -* ]] && _kvcpu_takes_guest "$path" && [[ "$prev" != -* ]]; then
    COMPREPLY=($(compgen -W "$(kvcpu __complete guests 2>/dev/null)" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
_kvcpu_is_command() {
  case "$1" in
    ${allCommands(root)
      .filter((c) => c.path.length)
      .map((c) => shq(c.path.join(' ')))
      .join('|')}) return 0 ;;
  esac
  return 1
}
_kvcpu_takes_guest() {
  case "$1" in
    ${guests.length ? guests.map(shq).join('|') : "''"}) return 0 ;;
  esac
  return 1
}
complete -F _kvcpu kvcpu
`;
}

function zsh(root: CommandNode): string {
  // zsh runs the bash function through bashcompinit: one generated rule set for both shells.
  return `#compdef kvcpu
# zsh completion for kvcpu (generated: kvcpu completion zsh)
# Install: kvcpu completion zsh > "\${fpath[1]}/_kvcpu", or: source <(kvcpu completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(root).split('\n').slice(2).join('\n')}`;
}

function fishEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

function fish(root: CommandNode): string {
  const lines = [
    '# fish completion for kvcpu (generated: kvcpu completion fish)',
    '# Install: kvcpu completion fish > ~/.config/fish/completions/kvcpu.fish',
    'complete -c kvcpu -f',
  ];
  for (const c of allCommands(root)) {
    // A command path is "seen" when each of its words is on the line; the next level is offered then.
    const cond = c.path.length ? `__fish_seen_subcommand_from ${c.path[c.path.length - 1]}` : '__fish_use_subcommand';
    const notDeeper = c.commands.length ? `; and not __fish_seen_subcommand_from ${c.commands.map((s) => s.name).join(' ')}` : '';
    for (const s of c.commands) lines.push(`complete -c kvcpu -n '${cond}${notDeeper}' -a ${s.name} -d '${fishEscape(s.description.slice(0, 80))}'`);
    if (!c.path.length) continue;
    for (const o of c.options) {
      const parts = [`complete -c kvcpu -n '${cond}'`];
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, '')}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, '')}`);
      if (o.takesValue) parts.push(o.choices.length ? `-x -a '${o.choices.join(' ')}'` : '-r -F');
      parts.push(`-d '${fishEscape(o.description.slice(0, 80))}'`);
      lines.push(parts.join(' '));
    }
    if (c.arguments[0] && GUEST_ARGUMENTS.has(c.arguments[0].name))
      lines.push(`complete -c kvcpu -n '${cond}' -a '(kvcpu __complete guests 2>/dev/null)' -d 'running guest'`);
  }
  return lines.join('\n') + '\n';
}

export function renderCompletion(shell: CompletionShell, root: CommandNode): string {
  return shell === 'bash' ? bash(root) : shell === 'zsh' ? zsh(root) : fish(root);
}
