// Shell completion in a real bash (complete -p, the generated function run as bash runs it on
// TAB), with running QEMU guests' names; man pages up to date and rendered by man -l without a
// single troff warning.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.ts';
import { allCommands, commandTree, type CommandNode } from '../src/cli/command-tree.ts';
import { manPages } from '../scripts/gen-man.ts';
import { qemuPresent, startTestGuest, stopAllTestGuests, type TestGuest } from './support/guests.ts';
import { runCli } from './support/run-cli.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const hasBash = spawnSync('bash', ['--version']).status === 0;
const hasMan = spawnSync('man', ['--version']).status === 0;
let work: string;
let tree: CommandNode;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'kvcpu-comp-'));
  // `kvcpu` on PATH for the completion's `kvcpu __complete guests` calls.
  writeFileSync(path.join(work, 'kvcpu'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(repo, 'bin/kvcpu.js'))} "$@"\n`);
  chmodSync(path.join(work, 'kvcpu'), 0o755);
  tree = commandTree(await buildProgram({ io: { out: () => undefined, err: () => undefined, color: false, stdin: process.stdin }, exitCode: 0 }));
});
afterAll(async () => {
  await stopAllTestGuests();
  rmSync(work, { recursive: true, force: true });
});

/** Ask bash what TAB would offer after `words` (the last word is the one being completed). */
function complete(shellScript: string, words: string[]): string[] {
  const script = `source ${JSON.stringify(shellScript)}
COMP_WORDS=(${words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=()
_kvcpu
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${work}:${process.env.PATH}` } });
  return out.split('\n').filter(Boolean);
}

describe.skipIf(!hasBash)('bash completion', () => {
  let file: string;
  beforeAll(async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code).toBe(0);
    file = path.join(work, 'kvcpu.bash');
    writeFileSync(file, r.out);
  });

  it('registers with complete -p and offers every top-level command (not the hidden helper)', () => {
    expect(execFileSync('bash', ['--norc', '-c', `source ${file}; complete -p kvcpu`], { encoding: 'utf8' }).trim()).toBe('complete -F _kvcpu kvcpu');
    const top = complete(file, ['kvcpu', '']);
    const expected = tree.commands.map((c) => c.name).filter((n) => !n.startsWith('__'));
    expect(top.filter((w) => !w.startsWith('-')).sort()).toEqual(expected.sort());
    expect(top).not.toContain('__complete');
  });

  it('offers subcommands, options, and an option’s choices', () => {
    expect(complete(file, ['kvcpu', 'cpu', 'ba'])).toEqual(['baseline']);
    expect(complete(file, ['kvcpu', 'cpu', 'baseline', '--format', ''])).toEqual(['libvirt', 'qemu', 'kubevirt', 'nova', 'json']);
    expect(complete(file, ['kvcpu', 'host', '--r'])).toEqual(['--root']);
    // Every option of every command is offered after that command's words.
    let checked = 0;
    for (const c of allCommands(tree).filter((c) => c.path.length && !c.path[0]!.startsWith('__') && c.commands.length === 0)) {
      const offered = new Set(complete(file, ['kvcpu', ...c.path, '-']));
      for (const o of c.options) {
        expect(offered.has(o.long ?? o.short!), `${c.path.join(' ')} ${o.flags}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it.skipIf(!qemuPresent)('completes running guests’ names for pin, unpin, hotplug and stop', async () => {
    const g: TestGuest = await startTestGuest({ prefix: 'kvt-eco', smp: '1' });
    try {
      for (const cmd of [['pin'], ['unpin'], ['hotplug'], ['stop']]) {
        expect(complete(file, ['kvcpu', ...cmd, 'kvt-eco']), cmd.join(' ')).toContain(g.name);
      }
      expect(complete(file, ['kvcpu', 'host', 'kvt-eco'])).not.toContain(g.name);
    } finally {
      await g.stop();
    }
  });

  it('zsh and fish scripts are generated from the same definitions', async () => {
    const z = await runCli(['completion', 'zsh']);
    expect(z.out.startsWith('#compdef kvcpu')).toBe(true);
    expect(z.out).toContain("'cpu baseline'");
    const f = await runCli(['completion', 'fish']);
    expect(f.out).toContain("complete -c kvcpu -n '__fish_seen_subcommand_from baseline' -l format -x -a 'libvirt qemu kubevirt nova json'");
    if (spawnSync('fish', ['--version']).status === 0) {
      writeFileSync(path.join(work, 'kvcpu.fish'), f.out);
      expect(spawnSync('fish', ['--no-config', '-n', path.join(work, 'kvcpu.fish')]).status).toBe(0);
    }
    expect((await runCli(['completion', 'tcsh'])).code).toBe(2);
  });
});

describe('man pages', () => {
  it('man/ holds exactly what scripts/gen-man.ts generates (npm run gen:man), and package.json lists them', async () => {
    const pages = await manPages();
    for (const [name, text] of pages) expect(readFileSync(path.join(repo, 'man', name), 'utf8'), `man/${name} is stale: npm run gen:man`).toBe(text);
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { man: string[]; files: string[] };
    expect(pkg.man.sort()).toEqual([...pages.keys()].map((n) => `./man/${n}`).sort());
    expect(pkg.files).toContain('man/');
    // One page per top-level command, each naming all of its options.
    for (const c of tree.commands.filter((c) => !c.name.startsWith('__'))) {
      const page = pages.get(`kvcpu-${c.name}.1`);
      expect(page, c.name).toBeDefined();
      for (const o of c.options) expect(page!, `${c.name} ${o.flags}`).toContain(`.B ${o.flags.replace(/-/g, '\\-')}`);
    }
  });

  it.skipIf(!hasMan)('every page renders with man -l and no troff warning', () => {
    let n = 0;
    for (const f of [...(existsSync(path.join(repo, 'man')) ? execFileSync('ls', [path.join(repo, 'man')], { encoding: 'utf8' }).split('\n') : [])].filter(
      (x) => x.endsWith('.1'),
    )) {
      const r = spawnSync('man', ['--warnings', '-l', path.join(repo, 'man', f)], {
        encoding: 'utf8',
        env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' },
      });
      expect(r.status, f).toBe(0);
      expect(r.stderr, f).toBe('');
      expect(r.stdout).toMatch(/NAME/);
      n++;
    }
    expect(n).toBeGreaterThan(15);
  });
});
