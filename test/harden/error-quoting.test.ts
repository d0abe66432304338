/**
 * Issue 15: error messages printed control characters from the input raw (a NUL in a feature
 * name reached the terminal). reportError quotes them centrally; JSON stays JSON (parseable,
 * same value) with DEL/C1/bidi controls escaped too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeJsonControls, quoteControls } from '../../src/core/errors.ts';
import { runCli } from '../support/run-cli.ts';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const BIN = path.resolve(import.meta.dirname, '../../bin/kvcpu.js');

describe('control characters in error messages are quoted', () => {
  it('quoteControls escapes C0, DEL, C1 and bidi controls, keeps tab/newline and text', () => {
    expect(quoteControls('a\u0000b\u001b[31mc\u007f\u009b\u202eé\t\n')).toBe('a\\x00b\\x1b[31mc\\x7f\\x9b\\u202eé\t\n');
  });
  it('escapeJsonControls keeps the parsed value', () => {
    const v = { m: 'x\u009b\u202e\u2028y\u0000' };
    const text = escapeJsonControls(JSON.stringify(v));
    expect(RAW_CONTROL.test(text)).toBe(false);
    expect(JSON.parse(text)).toEqual(v);
  });
  it('a NUL and an escape sequence in a -cpu feature name: text error is quoted, JSON parses to the input', async () => {
    const feature = 'fo\u0000o\u001b[2J\u009b';
    const text = await runCli(['cpu', 'explain', `qemu64,+${feature}`]);
    expect(text.code).toBe(2);
    expect(text.err).toMatch(/^error E_[A-Z_]+: /);
    expect(text.err).toContain('fo\\x00o\\x1b[2J\\x9b');
    expect(RAW_CONTROL.test(text.err)).toBe(false);
    const json = await runCli(['cpu', 'explain', `qemu64,+${feature}`, '--json']);
    expect(json.code).toBe(2);
    expect(RAW_CONTROL.test(json.out)).toBe(false);
    const parsed = JSON.parse(json.out) as { ok: boolean; error: { code: string; message: string } };
    expect(parsed.ok).toBe(false);
    expect(parsed.error.message).toContain(feature);
  });
  it('an unknown option with controls (commander path) is quoted too', async () => {
    const r = await runCli(['host', '--bogus\u001b]0;pwned\u0007']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('E_USAGE');
    expect(RAW_CONTROL.test(r.err)).toBe(false);
  });
  it('the real binary: a NUL inside a pin plan file name never reaches stderr raw', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-quote-'));
    try {
      const plan = path.join(dir, 'plan.json');
      writeFileSync(
        plan,
        JSON.stringify({ kind: 'kvcpu-pin-plan', version: 1, guests: [{ name: 'g\u0000\u001b[31m', vcpus: { '0': '0-99999999999999999999999' } }] }),
      );
      const r = spawnSync(process.execPath, [BIN, 'pin', '--plan', plan], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('E_CPULIST_RANGE');
      expect(RAW_CONTROL.test(r.stderr)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
