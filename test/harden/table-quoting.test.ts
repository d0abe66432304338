/**
 * Issue 15: input-derived strings (guest, thread, model and host names, check details) reached
 * table output raw, so a guest named "x\n..." forged rows and "x\e[2J" cleared the terminal.
 * renderTable/renderKeyValues quote every cell with quoteInline (the escapes error messages use,
 * tab and newline included); kvcpu's own colours go in as StyledCell and are the only escape
 * sequences a table can hold. JSON output stays the raw value.
 */
import { describe, expect, it } from 'vitest';
import { quoteInline } from '../../src/core/errors.ts';
import { paint, renderCell, renderKeyValues, renderTable } from '../../src/core/format.ts';
import { renderChecks } from '../../src/check/render-checks.ts';
import { renderPsTable, renderTopTable } from '../../src/guests/render-guests.ts';

// Every control byte but the newline that ends a table line.
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = ['nl\nFAKE  1  2', 'esc\u001b[2J\u001b]0;t\u0007', 'cr\rX\tY', '$(touch /tmp/x)', 'bidi\u202eevil', 'c1\u009b31m'];

describe('table output quotes control characters', () => {
  it('quoteInline: the error escapes plus tab and newline; printable text (also non-ASCII) unchanged', () => {
    expect(quoteInline('a\nb\tc\rd\u001b[2Je\u0000\u007f\u009b\u202eé')).toBe('a\\x0ab\\x09c\\x0dd\\x1b[2Je\\x00\\x7f\\x9b\\u202eé');
    expect(quoteInline('$(touch /tmp/x) ../../x vm-01_ä')).toBe('$(touch /tmp/x) ../../x vm-01_ä');
  });

  it('renderTable: one line per row whatever the cells hold, widths measured on the quoted text', () => {
    const out = renderTable(
      ['NAME', 'N'],
      HOSTILE.map((h, i) => [h, i]),
      { right: [1] },
    );
    const lines = out.split('\n');
    expect(lines).toHaveLength(HOSTILE.length + 2); // header, rows, trailing ''
    expect(RAW.test(out)).toBe(false);
    expect(lines.some((l) => l.startsWith('FAKE'))).toBe(false);
    expect(lines[1]).toBe('nl\\x0aFAKE  1  2        0');
    expect(lines[2]).toBe('esc\\x1b[2J\\x1b]0;t\\x07  1');
    // Right-aligned column lines up: every row has the same length (ASCII only after quoting).
    expect(new Set(lines.slice(0, -1).map((l) => l.length)).size).toBe(1);
  });

  it('renderCell: null/undefined as "-", numbers as they are, StyledCell quoted then coloured', () => {
    const p = paint({ color: true });
    expect(renderCell(null)).toBe('-');
    expect(renderCell(undefined)).toBe('-');
    expect(renderCell(12)).toBe('12');
    const styled = renderCell({ text: 'a\u001b[2J', style: p.red });
    expect(styled).toBe(p.red('a\\x1b[2J'));
    // The only escape sequences left are the SGR colour codes kvcpu added.
    // eslint-disable-next-line no-control-regex
    expect(styled.replace(/\u001b\[\d+m/g, '')).toBe('a\\x1b[2J');
  });

  it('coloured tables keep their colours and stay aligned', () => {
    const p = paint({ color: true });
    const out = renderTable(
      ['A', 'B'],
      [
        [{ text: 'yes', style: p.green }, 'x'],
        ['nope', 'y'],
      ],
    );
    expect(out).toContain(p.green('yes'));
    // eslint-disable-next-line no-control-regex
    expect(out.replace(/\u001b\[\d+m/g, '')).toBe('A     B\nyes   x\nnope  y\n');
  });

  it('renderKeyValues quotes values', () => {
    const out = renderKeyValues([
      ['Model name', 'Evil\u001b[2J\nCPU'],
      ['Count', 4],
      ['None', null],
    ]);
    expect(out).toBe('Model name:  Evil\\x1b[2J\\x0aCPU\nCount:       4\nNone:        -\n');
  });

  it('ps and top tables of hostile guest and thread names: no raw control byte, no forged line', () => {
    const guests = HOSTILE.map((name, i) => ({
      pid: 100 + i,
      name,
      vcpuCount: 1,
      vcpuCountFrom: 'threads',
      vcpuSource: 'thread-names',
      libvirt: false,
      config: { maxCpus: 1, accel: 'tcg', tcgThread: null, cpuModel: `m\u001b[1m${i}`, memoryMiB: 16 },
      threads: [
        {
          tid: 200 + i,
          role: 'vcpu',
          vcpu: 0,
          comm: `CPU 0/TCG\r${i}`,
          detail: null,
          state: 'S',
          psr: 0,
          psrStale: false,
          core: 0,
          node: 0,
          affinity: '0-1',
          cpuTicks: 0,
          migrations: 0,
          waitNs: 0,
        },
      ],
    }));
    const ps = renderPsTable({ guests, ticksPerSecond: 100 } as never);
    expect(RAW.test(ps)).toBe(false);
    expect(ps).toContain('nl\\x0aFAKE  1  2');
    expect(ps).toContain('CPU 0/TCG\\x0d2');
    expect(ps).toContain('cpu m\\x1b[1m1');
    expect(ps.split('\n').some((l) => l.startsWith('FAKE'))).toBe(false);
    const top = renderTopTable(
      HOSTILE.map((guest, i) => ({
        guest,
        pid: 100 + i,
        tid: 200 + i,
        vcpu: 0,
        state: 'R',
        psr: 1,
        affinity: '0-1',
        cpuPct: 1,
        migrationsPerSec: 0,
        waitPct: 0,
      })) as never,
      1,
    );
    expect(RAW.test(top)).toBe(false);
    expect(top).toContain('cr\\x0dX\\x09Y');
    expect(top.split('\n')).toHaveLength(HOSTILE.length + 3);
  });

  it('check table and its detail lines quote summaries, evidence and fixes', () => {
    const out = renderChecks(
      [{ id: 'kvm.device', status: 'FAIL', summary: 'no /dev/kvm\u001b[2J', evidence: ['read x\nFAKE PASS'], fix: 'modprobe\tkvm' }] as never,
      { color: false },
    );
    expect(RAW.test(out)).toBe(false);
    expect(out).toContain('no /dev/kvm\\x1b[2J');
    expect(out).toContain('read x\\x0aFAKE PASS');
    expect(out).toContain('modprobe\\x09kvm');
  });
});
