/* eslint-disable no-control-regex -- terminal escape sequences are what these tests read */
import { describe, expect, it } from 'vitest';
import { progressLine } from './progress.ts';

/** A stand-in terminal: records writes, replays \r and erase-line to the visible line. */
function fakeTty(columns = 80, isTTY = true) {
  const writes: string[] = [];
  return {
    isTTY,
    columns,
    writes,
    write: (s: string) => void writes.push(s),
    /** What the screen's last line shows after all writes. */
    screen: () => {
      let line = '';
      for (const w of writes.join('').split(/(\r\x1b\[2K|\r)/)) {
        if (w === '\r\x1b[2K' || w === '\r') line = '';
        else line += w;
      }
      return line;
    },
  };
}

describe('progressLine (terminal-only progress on stderr)', () => {
  it('is off unless the stream is a TTY, and off under --json, CI or TERM=dumb', () => {
    expect(progressLine({ stream: fakeTty(80, false), env: {} })).toBeNull();
    expect(progressLine({ stream: { write: () => undefined }, env: {} })).toBeNull();
    expect(progressLine({ stream: fakeTty(), env: {}, json: true })).toBeNull();
    expect(progressLine({ stream: fakeTty(), env: { CI: 'true' } })).toBeNull();
    expect(progressLine({ stream: fakeTty(), env: { TERM: 'dumb' } })).toBeNull();
    expect(progressLine({ stream: fakeTty(), env: { TERM: 'xterm' } })).not.toBeNull();
  });

  it('draws label, bar, count, elapsed time and note; throttles middle updates, never the first or the last', () => {
    let t = 0;
    const s = fakeTty();
    const p = progressLine({ stream: s, env: {}, label: 'import', now: () => t })!;
    p.update(0, 4, 'a.json');
    expect(s.screen()).toBe('import [........................] 0/4 · a.json');
    t = 50;
    p.update(1, 4, 'b.json');
    expect(s.writes.length).toBe(1);
    t = 1200;
    p.update(2, 4, 'c.json');
    expect(s.screen()).toBe('import [############............] 2/4 · 1 s · c.json');
    t = 1210;
    p.update(4, 4);
    expect(s.screen()).toBe('import [########################] 4/4 · 1 s');
    expect(s.writes.length).toBe(3);
    p.end();
    expect(s.screen()).toBe('');
    p.update(1, 1, 'after end');
    expect(s.screen()).toBe('');
  });

  it('cuts the line to the terminal width and strips control characters from the note', () => {
    const s = fakeTty(30);
    const p = progressLine({ stream: s, env: {}, now: () => 0 })!;
    p.update(1, 2, 'x\ny\x1b[31mz');
    expect([...s.screen()].length).toBe(29);
    expect(s.screen()).toBe('[############............] 1…');
    const wide = fakeTty(200);
    progressLine({ stream: wide, env: {}, now: () => 0 })!.update(1, 2, 'x\ny\x1b[31mz');
    expect(wide.screen()).toBe('[############............] 1/2 · x y [31mz');
  });

  it('a pty with no size (0 columns) gets 80', () => {
    const s = fakeTty(0);
    progressLine({ stream: s, env: {}, now: () => 0 })!.update(0, 1, 'n'.repeat(100));
    expect([...s.screen()].length).toBe(79);
  });

  it('above() writes other output on its own lines and redraws the bar under it', () => {
    const s = fakeTty();
    const p = progressLine({ stream: s, env: {}, label: 'bench', now: () => 0 })!;
    const out: string[] = [];
    p.above(() => out.push('before any bar\n'));
    expect(s.writes).toEqual([]);
    p.update(0, 2, 'host');
    p.above(() => s.write('result line\n'));
    expect(s.writes.join('')).toBe(
      '\r\x1b[2Kbench [........................] 0/2 · host\r\x1b[2Kresult line\n\r\x1b[2Kbench [........................] 0/2 · host',
    );
    p.end();
    expect(s.screen()).toBe('');
    expect(out).toEqual(['before any bar\n']);
  });

  it('tickMs keeps the elapsed time moving without updates', async () => {
    let t = 0;
    const s = fakeTty();
    const p = progressLine({ stream: s, env: {}, tickMs: 10, now: () => t })!;
    p.update(0, 1, 'slow');
    t = 3000;
    await new Promise((r) => setTimeout(r, 40));
    expect(s.screen()).toBe('[........................] 0/1 · 3 s · slow');
    p.end();
    const n = s.writes.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(s.writes.length).toBe(n);
  });
});
