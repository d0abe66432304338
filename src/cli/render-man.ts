import type { CommandNode } from './command-tree.ts';

/** roff-escape one line of text: backslashes, leading dots/quotes (control lines), dashes in options. */
function esc(s: string): string {
  return (
    s
      // Long unbreakable words (a guest spec, a cpu string) get break points after , and | so
      // troff can fill the line instead of warning "cannot adjust line".
      .replace(/\S{40,}/g, (w) => w.replace(/([,|])/g, '$1\u0001'))
      .replace(/\\/g, '\\e')
      .replace(/-/g, '\\-')
      .split('\n')
      .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
      .join('\n')
      // eslint-disable-next-line no-control-regex -- \u0001 is the placeholder for break points set above
      .replace(/\u0001/g, '\\:')
  );
}

function optionLines(c: CommandNode): string[] {
  const out: string[] = [];
  for (const o of c.options) {
    out.push('.TP', `.B ${esc(o.flags)}`);
    let d = o.description;
    if (o.choices.length) d += ` (one of: ${o.choices.join(', ')})`;
    if (o.defaultValue !== null && o.defaultValue !== 'false') d += ` [default: ${o.defaultValue}]`;
    out.push(esc(d));
  }
  return out;
}

function section(c: CommandNode, depth: number): string[] {
  const out: string[] = [];
  if (depth > 0) {
    out.push(`.SS "kvcpu ${esc(c.path.join(' '))}"`, `.B kvcpu ${esc(c.path.join(' '))}`, esc(c.usage), '.br', esc(c.description));
    out.push(...optionLines(c));
  }
  for (const s of c.commands) out.push(...section(s, depth + 1));
  return out;
}

const FOOTER = (version: string) => [
  '.SH EXIT STATUS',
  '0 ok, 1 findings (a check FAILed, a guest does not fit), 2 bad input or environment error. Errors print',
  '.B error E_CODE: message',
  'and a',
  '.B hint:',
  'line; with \\-\\-json they are {"ok":false,"error":{...}} on stdout.',
  '.SH ENVIRONMENT',
  '.TP',
  '.B NO_COLOR',
  'no colour in tables.',
  '.TP',
  '.B KVCPU_STATE_DIR',
  'where pin saves the affinity unpin restores (default /run/kvcpu as root).',
  '.TP',
  '.B KVCPU_FLEET_DB',
  'the fleet store when \\-\\-db is not given.',
  '.SH SEE ALSO',
  '.BR virsh (1),',
  '.BR lscpu (1),',
  '.BR taskset (1),',
  '.BR qemu\\-system\\-x86_64 (1)',
  `.\\" kvcpu ${version}`,
];

/** The man page of one top-level command (`man kvcpu-pin`), or of kvcpu itself (`man kvcpu`). */
export function renderManPage(root: CommandNode, command: CommandNode | null, version: string, date: string): string {
  const name = command ? `kvcpu-${command.path.join('-')}` : 'kvcpu';
  const lines = [
    `.\\" Generated from kvcpu's command definitions by scripts/gen-man.ts: do not edit.`,
    `.TH ${name.toUpperCase().replace(/-/g, '\\-')} 1 "${date}" "kvcpu ${version}" "kvcpu manual"`,
    '.ad l',
    '.nh',
    '.SH NAME',
  ];
  if (!command) {
    lines.push(
      `kvcpu \\- ${esc(root.description)}`,
      '.SH SYNOPSIS',
      '.B kvcpu',
      '.I command',
      '[options]',
      '.SH DESCRIPTION',
      esc(root.description) + '.',
      'Every command takes \\-\\-json for scripts.',
      '.SH COMMANDS',
    );
    for (const c of root.commands) lines.push('.TP', `.BR kvcpu\\-${esc(c.name)} (1)`, esc(c.description));
    lines.push('.SH OPTIONS', ...optionLines(root));
  } else {
    lines.push(
      `${esc(name)} \\- ${esc(command.description)}`,
      '.SH SYNOPSIS',
      `.B kvcpu ${esc(command.path.join(' '))}`,
      esc(command.usage),
      '.SH DESCRIPTION',
      esc(command.description) + '.',
    );
    if (command.arguments.length) {
      lines.push('.SH ARGUMENTS');
      for (const a of command.arguments)
        lines.push('.TP', `.I ${esc(a.name)}${a.variadic ? '...' : ''}`, esc(a.description || (a.required ? 'required' : 'optional')));
    }
    if (command.options.length) lines.push('.SH OPTIONS', ...optionLines(command));
    if (command.commands.length) lines.push('.SH SUBCOMMANDS', ...section(command, 0));
  }
  lines.push(...FOOTER(version));
  return lines.join('\n') + '\n';
}

/** Every page: kvcpu.1 and kvcpu-<command>.1 for each top-level command. */
export function renderManPages(root: CommandNode, version: string, date: string): Map<string, string> {
  const pages = new Map<string, string>([['kvcpu.1', renderManPage(root, null, version, date)]]);
  for (const c of root.commands) pages.set(`kvcpu-${c.name}.1`, renderManPage(root, c, version, date));
  return pages;
}
