/**
 * Issue 15: control characters in input-derived strings are quoted in table output, as error
 * messages quote them. Real QEMU guests (TCG, qboot) named with a newline that would forge a
 * table row, an ESC sequence that clears the screen and retitles the terminal, \r and \t, and a
 * `$(touch ...)` go through ps, top, pin, unpin and overcommit: the tables show the quoted
 * text, no raw control byte reaches the output, nothing runs; --json keeps the exact names.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { buildLaunchArgs } from '../../src/guests/launch-guest.ts';
import { stopGuest } from '../../src/guests/stop-guest.ts';
import { readHost } from '../../src/host/read-host.ts';
import { qemuPresent } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

const online = parseCpulist(readHost().cpus.online);
const work = mkdtempSync(path.join(tmpdir(), 'kvt-harden2-ctl-'));
process.env.KVCPU_STATE_DIR = path.join(work, 'state');
const marker = `/tmp/kvt-harden2-pwned-${process.pid}`;
const tag = `kvt-harden2-${process.pid}`;
/** Each hostile name, and how its table cell must read (quoteInline's escapes). */
const NAMES: [string, string][] = [
  [`${tag}-nl\nFAKE 1 2 vcpu`, `${tag}-nl\\x0aFAKE 1 2 vcpu`],
  [`${tag}-esc\u001b[2J\u001b]0;pwned\u0007`, `${tag}-esc\\x1b[2J\\x1b]0;pwned\\x07`],
  [`${tag}-cr\rX\tY`, `${tag}-cr\\x0dX\\x09Y`],
  [`${tag}-$(touch ${marker})`, `${tag}-$(touch ${marker})`],
];
// Any control byte except the newline that ends an output line.
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

interface Started {
  name: string;
  shown: string;
  pid: number;
  startTime: number;
  qmp: string;
}
const started: Started[] = [];

describe.skipIf(!qemuPresent || online.length < 2)('control characters in guest names: quoted in tables (real QEMU)', () => {
  beforeAll(() => {
    NAMES.forEach(([name, shown], i) => {
      // kvcpu launch refuses such names: start QEMU directly (execFile, no shell).
      const dir = path.join(work, `g${i}`);
      execFileSync('mkdir', ['-p', dir]);
      execFileSync('qemu-system-x86_64', buildLaunchArgs({ name, smp: '2', cpu: 'qemu64', accel: 'tcg', kernel: null } as never, dir), { timeout: 30_000 });
      const pid = Number(readFileSync(path.join(dir, 'qemu.pid'), 'utf8'));
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      started.push({ name, shown, pid, startTime: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]), qmp: path.join(dir, 'qmp.sock') });
    });
  });
  afterAll(async () => {
    for (const g of started) await stopGuest(g.pid, { qmpSocket: g.qmp, startTime: g.startTime, graceMs: 1000 });
    rmSync(work, { recursive: true, force: true });
    rmSync(marker, { force: true });
  });

  /** Lines of a table output that belong to one of this file's guests (by pid column). */
  const rowsOf = (out: string, g: Started) => out.split('\n').filter((l) => new RegExp(`\\s${g.pid}\\s`).test(l));

  it('ps: every guest row shows the quoted name, no raw control byte, no forged row; --json has the exact names', async () => {
    const r = await runCli(['ps', '--no-qmp']);
    expect(r.code, r.err).toBe(0);
    expect(RAW.test(r.out)).toBe(false);
    for (const g of started) {
      const rows = rowsOf(r.out, g);
      expect(rows.length).toBeGreaterThanOrEqual(3); // 2 vCPUs + main thread at least
      for (const row of rows) expect(row.startsWith(g.shown + ' ')).toBe(true);
      expect(r.out).toContain(`${g.shown} (pid ${g.pid}):`); // the summary line quotes too
    }
    expect(r.out.split('\n').some((l) => l.startsWith('FAKE'))).toBe(false);
    const json = await runCli(['ps', '--no-qmp', '--json']);
    const names = new Map((JSON.parse(json.out) as { guests: { pid: number; name: string }[] }).guests.map((g) => [g.pid, g.name]));
    for (const g of started) expect(names.get(g.pid)).toBe(g.name);
    expect(existsSync(marker)).toBe(false);
  });

  it('top: the vCPU rows quote the names', async () => {
    const r = await runCli(['top', '--iterations', '1', '--interval', '0.2']);
    expect(r.code, r.err).toBe(0);
    expect(RAW.test(r.out)).toBe(false);
    for (const g of started) {
      const rows = rowsOf(r.out, g);
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row.startsWith(g.shown + ' ')).toBe(true);
    }
    expect(r.out.split('\n').some((l) => l.startsWith('FAKE'))).toBe(false);
  });

  it('pin and unpin tables quote the name; overcommit too; nothing runs', async () => {
    for (const g of started.slice(0, 2)) {
      const pin = await runCli(['pin', String(g.pid), '--vcpu', `0=${online[1]}`]);
      expect(pin.code, pin.err).toBe(0);
      expect(RAW.test(pin.out)).toBe(false);
      expect(rowsOf(pin.out, g)[0]!.startsWith(g.shown + ' ')).toBe(true);
      const un = await runCli(['unpin', String(g.pid)]);
      expect(un.code, un.err).toBe(0);
      expect(RAW.test(un.out)).toBe(false);
      expect(un.out).toContain(`of ${g.shown} (pid ${g.pid})`);
    }
    const oc = await runCli(['overcommit']);
    expect([0, 1]).toContain(oc.code);
    expect(RAW.test(oc.out)).toBe(false);
    for (const g of started) expect(rowsOf(oc.out, g)[0]!.startsWith(g.shown + ' ')).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });
});
