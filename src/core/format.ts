import pc from 'picocolors';

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
export function renderTable(header: string[], rows: (string | number | null | undefined)[][], opts: TableOptions = {}): string {
  const gap = opts.gap ?? '  ';
  const right = new Set(opts.right ?? []);
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined ? '-' : String(v))));
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
export function renderKeyValues(pairs: [string, string | number | null | undefined][]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w)}  ${v === null || v === undefined ? '-' : String(v)}`).join('\n') + '\n';
}
