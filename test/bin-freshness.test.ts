// bin/kvcpu.js runs dist/ unless it is a clone with tsx whose src/ changed after the build.
// A fake package in a temporary folder: dist/cli/main.js and src/cli/main.ts each print where
// they came from, so the test sees which one ran after each kind of edit.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');
let dir: string;

function write(rel: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), text);
}

/** Every file of the fake tree dated `secondsAgo` (the build stamp gets a later date). */
function age(rel: string, secondsAgo: number): void {
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path.join(dir, rel), t, t);
}

function run(): string {
  const r = spawnSync(process.execPath, [path.join(dir, 'bin/kvcpu.js')], { encoding: 'utf8', env: { ...process.env, KVCPU_FROM_SOURCE: '' } });
  expect(r.stderr).toBe('');
  return r.stdout;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kvt-startup-bin-'));
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(path.join(repo, 'bin/kvcpu.js'), path.join(dir, 'bin/kvcpu.js'));
  write('package.json', '{"name":"kvcpu","type":"module"}\n');
  write('dist/cli/main.js', "export async function main() { process.stdout.write('dist'); return 0; }\n");
  write('src/cli/main.ts', "export async function main(): Promise<number> { process.stdout.write('src'); return 0; }\n");
  write('src/host/read-host.ts', 'export const x: number = 1;\n');
  write('dist/.build-stamp', 'now\n');
  for (const f of ['src/cli/main.ts', 'src/host/read-host.ts', 'src/cli', 'src/host', 'src']) age(f, 100);
  age('dist/.build-stamp', 10);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/kvcpu.js freshness check', () => {
  it('an installed package (no tsx) runs dist/ even when src/ is newer', () => {
    age('src/host/read-host.ts', 0);
    expect(run()).toBe('dist');
  });

  describe('in a clone with tsx', () => {
    beforeEach(() => {
      mkdirSync(path.join(dir, 'node_modules'));
      symlinkSync(path.join(repo, 'node_modules/tsx'), path.join(dir, 'node_modules/tsx'));
    });

    it('runs dist/ when nothing changed after the build', () => {
      expect(run()).toBe('dist');
    });

    it('runs src/ after an in-place edit of a nested file (no directory changes)', () => {
      age('src/host/read-host.ts', 0);
      expect(run()).toBe('src');
    });

    it('runs src/ after a file is added (only its folder and the file are newer)', () => {
      write('src/host/new-module.ts', 'export {};\n');
      expect(run()).toBe('src');
    });

    it('runs src/ after a file is removed (only its folder is newer)', () => {
      renameSync(path.join(dir, 'src/host/read-host.ts'), path.join(dir, 'read-host.ts.bak'));
      expect(run()).toBe('src');
    });

    it('a newer non-TypeScript file does not count', () => {
      write('src/host/notes.txt', 'x\n');
      age('src/host/notes.txt', 0);
      age('src/host', 100);
      expect(run()).toBe('dist');
    });

    it('a newer test file does not count (tests are not built)', () => {
      write('src/host/read-host.test.ts', 'x\n');
      age('src/host', 100);
      expect(run()).toBe('dist');
    });

    it('runs src/ when there is no build', () => {
      rmSync(path.join(dir, 'dist/.build-stamp'));
      expect(run()).toBe('src');
    });
  });
});
