// The top-level help is built from a static table (src/cli/command-summaries.ts) so that
// `kvcpu --help`, a bare `kvcpu` and "did you mean" load no command module. These tests make
// sure that shortcut says exactly what the whole program says, and that the table is current.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { commandSummaries, renderCommandSummaries } from '../scripts/gen-command-summaries.ts';
import { buildProgram, runWith } from '../src/cli/build-program.ts';
import { main } from '../src/cli/main.ts';
import type { CliContext } from '../src/cli/output.ts';

const repo = path.resolve(import.meta.dirname, '..');

function bufferCtx(): { ctx: CliContext; got: () => { out: string; err: string } } {
  let out = '';
  let err = '';
  const ctx: CliContext = { io: { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from([]) }, exitCode: 0 };
  return { ctx, got: () => ({ out, err }) };
}

describe('static command table', () => {
  it('src/cli/command-summaries.ts is what scripts/gen-command-summaries.ts generates (npm run gen:commands)', async () => {
    const rows = await commandSummaries();
    // Every visible top-level command, completion included; a placeholder list that lost one fails here.
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['report', 'host', 'smp', 'pin', 'unpin', 'stop', 'completion']));
    expect(rows.length).toBeGreaterThanOrEqual(21);
    expect(readFileSync(path.join(repo, 'src/cli/command-summaries.ts'), 'utf8'), 'stale: npm run gen:commands').toBe(renderCommandSummaries(rows));
  });

  // Each case is run by main() (the shortcut) and by the whole program; they must agree byte for byte.
  const cases: string[][] = [
    [],
    ['--help'],
    ['-h'],
    ['help'],
    ['help', 'bogus'],
    ['hots'],
    ['hots', '--json'],
    ['--json'],
    ['--version'],
    ['-V'],
    ['-V', '--help'],
    ['help', 'host'],
    ['help', 'unpin'],
    ['help', 'cpu', 'baseline'],
    ['help', 'completion'],
  ];
  it.each(cases.map((c) => [c.join(' ') || '(no arguments)', c]))('kvcpu %s: same output and status as the whole program', async (_name, argv) => {
    const short = bufferCtx();
    const shortCode = await main(argv as string[], short.ctx.io);
    const whole = bufferCtx();
    const wholeCode = await runWith(await buildProgram(whole.ctx), whole.ctx, argv as string[]);
    expect(short.got()).toEqual(whole.got());
    expect(shortCode).toBe(wholeCode);
    // Not vacuous: every case prints something.
    expect(short.got().out.length + short.got().err.length).toBeGreaterThan(0);
  });

  it('the top-level help lists every command of the table in order', async () => {
    const { ctx, got } = bufferCtx();
    await main(['--help'], ctx.io);
    const listed = [...got().out.matchAll(/^ {2}([a-z_]+)[ [<]/gm)].map((m) => m[1]);
    expect(listed).toEqual([...(await commandSummaries()).map((r) => r.name), 'help']);
  });
});
