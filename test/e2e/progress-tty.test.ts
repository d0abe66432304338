/* eslint-disable no-control-regex -- terminal escape sequences are what these tests read */
// Progress lines on a real terminal: util-linux script(1) gives kvcpu a pseudo-TTY, so stderr
// isatty() is true as for an admin at a shell. The bar must show there, and never with --json
// or when stderr is a pipe (scripts, CI logs).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/core/package-root.ts';
import { qemuPresent } from '../support/guests.ts';

const execFileP = promisify(execFile);
const SCRIPT = '/usr/bin/script';
const BIN = packagePath('bin/kvcpu.js');
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-progress-tty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// A terminal session as an admin has one: not CI (the helper turns itself off there).
const env = Object.fromEntries(Object.entries({ ...process.env, TERM: 'xterm', NO_COLOR: '1' }).filter(([k]) => k !== 'CI'));
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run a kvcpu command line on a pseudo-terminal; returns everything the terminal received. */
async function onTty(args: string[], stdin?: string): Promise<string> {
  const cmd = `${sh(process.execPath)} ${sh(BIN)} ${args.map(sh).join(' ')}${stdin ? ` < ${sh(stdin)}` : ''}`;
  // -e: script exits with the command's status; -f: flush as it goes.
  const r = await execFileP(SCRIPT, ['-qfec', cmd, '/dev/null'], { env, timeout: 120_000 }).catch((e: { stdout?: string; code?: number }) => {
    if (typeof e.code !== 'number') throw e;
    return { stdout: e.stdout ?? '' };
  });
  return r.stdout;
}

/** The same command with stderr a pipe. */
async function onPipe(args: string[]): Promise<{ out: string; err: string }> {
  const r = await execFileP(process.execPath, [BIN, ...args], { env, timeout: 120_000 }).catch((e: { stdout?: string; stderr?: string; code?: number }) => {
    if (typeof e.code !== 'number') throw e;
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  });
  return { out: r.stdout, err: r.stderr };
}

describe.skipIf(!existsSync(SCRIPT))('progress lines on a pseudo-terminal (script -qc)', () => {
  const inputs = ['h1', 'h2', 'h3'].map((n) => {
    const f = join(dir, `${n}.cpuinfo`);
    copyFileSync(packagePath('test/fixtures/hosts/this-machine-amd-epyc-2c/proc/cpuinfo'), f);
    return f;
  });

  it('fleet import: a bar on the terminal, erased before the summary', async () => {
    const t = await onTty(['fleet', 'import', '--db', join(dir, 'a.db'), ...inputs]);
    expect(t).toMatch(/\r\x1b\[2Kimport \[#+\.*\] \d\/3/);
    expect(t).toContain('import [########################] 3/3');
    expect(t).toMatch(/\r\x1b\[2K3 input\(s\): 3 report\(s\) stored/);
  });

  it('fleet import --json on a terminal, and without a terminal: no bar', async () => {
    const j = await onTty(['fleet', 'import', '--json', '--db', join(dir, 'b.db'), ...inputs]);
    expect(j).not.toContain('import [');
    expect(j).not.toContain('\x1b[2K');
    expect(JSON.parse(j.replace(/\r\n/g, '\n')).stored).toBe(3);
    const p = await onPipe(['fleet', 'import', '--db', join(dir, 'c.db'), ...inputs]);
    expect(p.err).toBe('');
    expect(p.out).toContain('3 report(s) stored');
  });

  it.skipIf(!qemuPresent)('smp --batch --verify: the bar counts the lines, results stay whole lines on stdout', async () => {
    const input = join(dir, 'specs.jsonl');
    writeFileSync(input, ['{"smp":"4"}', '{"smp":"8,threads=2"}', '{"smp":"4,maxcpus=2"}'].join('\n') + '\n');
    const t = await onTty(['smp', '--batch', '--verify'], input);
    expect(t).toMatch(/verify \[\.+\] 0\/3 · \{"smp":"4"\}/);
    expect(t).toMatch(/verify \[#+\.+\] 2\/3/);
    const lines = t
      .split(/\r\x1b\[2K|\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.startsWith('{"ok"'));
    expect(lines.length).toBe(3);
    expect(lines.map((l) => JSON.parse(l).verify.agrees)).toEqual([true, true, true]);
    const p = await onPipe(['smp', '--verify', '4']);
    expect(p.err).toBe('');
  });
});
