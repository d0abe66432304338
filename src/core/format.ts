import pc from 'picocolors';
import { quoteInline } from './errors.ts';

/**
 * Terminal formatting for every human output (CLI commands and the capabilities' render-*.ts):
 * aligned tables, `key: value` lists and colour. Below the capabilities so a renderer never
 * reaches up into the CLI; colour is a plain flag (the CLI decides it from the terminal).
 */

/** Whether to colour: the CLI sets it from isTTY and NO_COLOR (https://no-color.org). */
export interface ColorOption {
  color: boolean;
}

/** Colour helpers that turn into identity functions when colour is off. */
export function paint(io: ColorOption) {
  const c = pc.createColors(io.color);
  return {
    bold: c.bold,
    dim: c.dim,
    red: c.red,
    green: c.green,
    yellow: c.yellow,
    cyan: c.cyan,
    status(s: string): string {
      if (s === 'PASS' || s === 'ok') return c.green(s);
      if (s === 'WARN') return c.yellow(s);
      if (s === 'FAIL') return c.red(s);
      return c.dim(s);
    },
  };
}

// ANSI escape sequences do not take up columns.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
function width(s: string): number {
  return s.replace(ANSI, '').length;
}

/**
 * A cell kvcpu colours: the text is quoted like any other cell, then `style` (a paint() colour)
 * wraps it, so colour codes are the only escape sequences a table can contain.
 */
export interface StyledCell {
  text: string;
  style: (s: string) => string;
}

/** One table cell or key-value value: null/undefined print as "-". */
export type Cell = string | number | null | undefined | StyledCell;

/**
 * The one way a value reaches a table: input-derived text (guest, thread, model and host names,
 * check details) has its control characters escaped as error messages do (quoteControls), tab
 * and newline included, so a name cannot move the cursor, clear the screen or forge a row.
 * Numbers and kvcpu's own words pass unchanged.
 */
export function renderCell(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return v.style(quoteInline(v.text));
  return quoteInline(String(v));
}

export interface TableOptions {
  /** Columns aligned right (numbers), by index. */
  right?: number[];
  /** Column separator; lscpu uses a single space, we use two for readability. */
  gap?: string;
}

/**
 * Render rows as an aligned plain-text table with a header line, in the style of `lscpu -e`
 * (no borders, so the output stays greppable and copy-pastable).
 */
export function renderTable(header: string[], rows: Cell[][], opts: TableOptions = {}): string {
  const gap = opts.gap ?? '  ';
  const right = new Set(opts.right ?? []);
  header = header.map(renderCell);
  const cells = rows.map((r) => r.map(renderCell));
  const widths = header.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((v, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - width(v)));
        return right.has(i) ? pad + v : i === r.length - 1 ? v : v + pad;
      })
      .join(gap)
      .replace(/\s+$/, '');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** Render `key: value` lines like lscpu's summary (keys padded to one column). */
export function renderKeyValues(pairs: [string, Cell][]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${(quoteInline(k) + ':').padEnd(w)}  ${renderCell(v)}`).join('\n') + '\n';
}
