// `kvcpu report --format/--output` in-process on a captured tree (--root: no live guests, live-only
// checks skipped).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/run-cli.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const capture = path.resolve(repoRoot, '../shared/reference/hosts/cases/hw-16em64t-4s2c2t-offlines/root');
const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(capture))('kvcpu report --format / --output on a captured tree', () => {
  it('--format html --output FILE writes the page and prints nothing', async () => {
    const file = path.join(dir, 'page.html');
    const r = await runCli(['report', '--root', capture, '--format', 'html', '--output', file]);
    expect(r.err).toBe('');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    // 16 cpuN directories, 4 of them offline: 16 tiles, 4 offline.
    expect(html.match(/ data-cpu="/g)?.length).toBe(16);
    expect(html.match(/ data-state="offline"/g)?.length).toBe(4);
    expect(html.match(/No QEMU guests are running\./g)?.length).toBe(1);
    expect(readdirSync(dir)).toEqual(['page.html']);
  });

  it('--format markdown prints the host table, the checks and the guests', async () => {
    const r = await runCli(['report', '--root', capture, '--format', 'markdown']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`# kvcpu report — ${capture}`);
    expect(r.out).toContain('| **CPUs** | 16 (online 0-1,3-4,6-12,15; offline 2,5,13-14) |');
    expect(r.out).toContain('- **WARN** cpus.online: 4 of 16 present CPUs offline (2,5,13-14)');
    expect(r.out).toContain('## Guests and vCPU placement\n\nNo QEMU guests are running.');
  });

  it('--format json is --json', async () => {
    const a = JSON.parse((await runCli(['report', '--root', capture, '--only', 'host', '--json'])).out);
    const b = JSON.parse((await runCli(['report', '--root', capture, '--only', 'host', '--format', 'json'])).out);
    expect({ ...b, generatedAt: '' }).toEqual({ ...a, generatedAt: '' });
    expect(a.schema).toBe('kvcpu/report/1');
  });

  it('--output into a missing folder: E_OUTPUT_WRITE, exit 2, nothing written', async () => {
    const target = path.join(dir, 'nope', 'page.html');
    const r = await runCli(['report', '--root', capture, '--format', 'html', '--output', target]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('E_OUTPUT_WRITE');
    expect(existsSync(path.dirname(target))).toBe(false);
  });

  it('--output onto a folder: E_OUTPUT_WRITE, the folder and no temporary file left', async () => {
    const folder = path.join(dir, 'afolder');
    mkdirSync(folder);
    const r = await runCli(['report', '--root', capture, '--format', 'markdown', '--output', folder]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('E_OUTPUT_WRITE');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses an unknown --format', async () => {
    const r = await runCli(['report', '--root', capture, '--format', 'pdf']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/html|markdown/);
  });
});
