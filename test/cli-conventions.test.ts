/**
 * CLI conventions, checked for every registered command by walking commander's tree from
 * buildProgram (so a command added later is covered without editing this file):
 *   - `--help` exits 0 and prints usage on stdout;
 *   - every command that prints data has `--json` (exceptions listed below with a reason);
 *   - an unknown option exits 2 with `error E_USAGE: ...`;
 *   - one bad input per command exits 2 with an `E_` code on stderr and, under `--json`, prints
 *     a parseable `{"ok":false,"error":{"code":...}}` on stdout.
 * Commands acting on live guests (pin, unpin, hotplug, launch, stop, top) only get inputs that
 * fail validation before anything is touched (a guest that does not exist, a missing plan
 * file); no QEMU is started here. Known violations are `it.fails` with the bug named, so the
 * lead can fix the command and flip the case.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram, main } from '../src/cli/main.ts';
import type { CliContext } from '../src/cli/output.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtureHost = path.join(repoRoot, 'test/fixtures/hosts/this-machine-amd-epyc-2c');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from([]) });
  return { code, out, err };
}

// ---- the command tree -------------------------------------------------------------------------
interface Node {
  path: string[];
  cmd: Command;
  /** Has an action: runs and prints something (as opposed to a pure group like `topology`). */
  runnable: boolean;
}
const silentCtx: CliContext = { io: { out: () => {}, err: () => {}, color: false, stdin: Readable.from([]) }, exitCode: 0 };
const nodes: Node[] = [];
(function walk(c: Command, at: string[]) {
  for (const sub of c.commands) {
    const p = [...at, sub.name()];
    if ((sub as unknown as { _hidden?: boolean })._hidden) continue; // `kvcpu __complete`: the completion scripts' helper, not a command
    nodes.push({ path: p, cmd: sub, runnable: typeof (sub as unknown as { _actionHandler?: unknown })._actionHandler === 'function' });
    walk(sub, p);
  }
})(await buildProgram(silentCtx), []);
const key = (p: string[]) => p.join(' ');
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;
const runnable = nodes.filter((n) => n.runnable);
const has = (p: string) => nodes.some((n) => key(n.path) === p);

// ---- scratch inputs ---------------------------------------------------------------------------
const scratch = mkdtempSync(path.join(tmpdir(), 'kvcpu-cli-conventions-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const badJson = path.join(scratch, 'bad.json');
writeFileSync(badJson, '{not json');
const emptyObject = path.join(scratch, 'empty.json');
writeFileSync(emptyObject, '{}');
const nonEmptyDir = path.join(scratch, 'non-empty');
mkdirSync(nonEmptyDir);
writeFileSync(path.join(nonEmptyDir, 'keep'), 'x');
const missing = path.join(scratch, 'does-not-exist');
// No QEMU process is ever named like this (names are -name guest=... or pids).
const noGuest = 'kvcpu-conventions-no-such-guest';
const fleetDb = path.join(scratch, 'fleet.db');

// ---- exceptions, each with its reason ---------------------------------------------------------
/** Runnable commands without `--json`. */
const NO_JSON_OPTION: Record<string, string> = {
  'plan nova': 'its answer is always JSON (one object per case; --batch: one per line), so there is no text mode to switch off',
  completion: 'prints a shell script for the shell to source',
};

/** Commands whose output is never JSON (so a bad input is only checked in text). */
const TEXT_ONLY: Record<string, string> = {
  completion: 'its output is a shell script',
};

/** Commands that accept unknown options on purpose (so an unknown option is not E_USAGE). */
const ACCEPTS_UNKNOWN_OPTIONS: Record<string, string> = {
  'cpu explain':
    'allowUnknownOption(): words after the model are -cpu tokens (`-hle`, `-cpu` prefix); a stray option is judged as a CPU property/model (E_CPU_*)',
};

/**
 * Arguments that make a live-acting command fail validation before it touches anything. They are
 * appended in the unknown-option test too, so even if commander let the option through, nothing
 * would be pinned, hot-plugged, launched or stopped.
 */
const SAFE_ARGS: Record<string, string[]> = {
  pin: [noGuest, '--vcpu', '0=0', '--dry-run'],
  unpin: [noGuest],
  hotplug: [noGuest, '--to', '1'],
  stop: [noGuest],
  launch: ['--name', noGuest, '--smp', '1', '--pin', missing],
  top: ['--iterations', '1', '--interval', '0.05'],
  // A missing token file fails before the agent samples or listens.
  serve: ['--token-file', missing, '--listen', '127.0.0.1:0'],
  capture: [nonEmptyDir],
  // The fleet commands get a store in the scratch folder (never ./kvcpu-fleet.db in the checkout).
  'fleet import': ['--db', fleetDb, missing],
  'fleet hosts': ['--db', fleetDb],
  'fleet pools': ['--db', fleetDb],
  'fleet baseline': ['--db', fleetDb],
  'fleet health': ['--db', fleetDb],
  'fleet show': ['nope', '--db', fleetDb],
  'fleet placement': ['--db', fleetDb, '--vcpus', '1'],
  'fleet serve': ['--db', fleetDb, '--token-file', missing, '--listen', '127.0.0.1:0'],
  'fleet kubevirt': ['--db', fleetDb],
  // A missing capture root fails before any virsh or QEMU.
  labels: ['--root', missing],
  // cpu explain accepts unknown options (see above): keep it off live QEMU where /dev/kvm works.
  'cpu explain': ['qemu64', '--accel', 'tcg'],
};

interface BadInput {
  args: string[];
  code: string;
  /**
   * The error comes from commander's option parsing: under --json main() prints the envelope on
   * stdout AND commander's text line on stderr.
   */
  commanderLevel?: boolean;
  /** Known bug: the case is `it.fails` until fixed. */
  bug?: string;
}

/** One bad input per runnable command (keyed by command path). */
const BAD_INPUT: Record<string, BadInput> = {
  report: { args: ['--only', 'no-such-section'], code: 'E_USAGE' },
  host: { args: ['--root', missing], code: 'E_SYSFS_MISSING' },
  capture: { args: [nonEmptyDir], code: 'E_BAD_INPUT' },
  check: { args: ['--root', missing, '--no-probe'], code: 'E_SYSFS_MISSING' },
  smp: { args: ['4,sockets=3'], code: 'E_SMP_PRODUCT_MISMATCH' },
  'topology suggest': { args: ['--vcpus', '3', '--cpus', '0-1', '--root', fixtureHost], code: 'E_CPUS_COUNT_MISMATCH' },
  'topology nova': { args: ['--vcpus', '4', '--flavor', 'not-a-pair'], code: 'E_BAD_INPUT' },
  models: { args: ['--accel', 'kvm', '--root', missing], code: 'E_SYSFS_MISSING' },
  // --accel tcg everywhere below: with a usable /dev/kvm the default accel (kvm) asks a live QEMU.
  'cpu explain': { args: ['No-Such-Model', '--accel', 'tcg'], code: 'E_CPU_MODEL_UNKNOWN' },
  'cpu levels': { args: ['No-Such-Model', '--accel', 'tcg'], code: 'E_CPU_MODEL_UNKNOWN' },
  'cpu features': { args: ['--model', 'No-Such-Model', '--accel', 'tcg'], code: 'E_CPU_MODEL_UNKNOWN' },
  'cpu baseline': { args: [badJson], code: 'E_BAD_JSON' },
  'cpu compare': { args: [badJson, '--host', badJson], code: 'E_BAD_JSON' },
  'cpu pools': { args: [badJson], code: 'E_BAD_JSON' },
  ps: { args: ['--root', missing], code: 'E_SYSFS_MISSING' },
  overcommit: { args: ['--root', missing], code: 'E_SYSFS_MISSING' },
  // Fixed by the lead (was: parseInterval threw a plain Error, main() rethrew it uncaught).
  top: { args: ['--interval', 'abc', '--iterations', '1'], code: 'E_USAGE', commanderLevel: true },
  // A reversed range fails while parsing, before kvcpu scans /proc or asks any QMP monitor.
  pin: { args: [noGuest, '--vcpu', '0=3-1'], code: 'E_BAD_CPULIST' },
  unpin: { args: [noGuest], code: 'E_GUEST_NOT_FOUND' },
  hotplug: { args: [noGuest, '--to', '2'], code: 'E_GUEST_NOT_FOUND' },
  stop: { args: [noGuest], code: 'E_GUEST_NOT_FOUND' },
  launch: { args: ['--name', noGuest, '--smp', '2', '--pin', emptyObject], code: 'E_BAD_INPUT' },
  plan: { args: ['--root', fixtureHost, '--guest', 'name=g1,vcpus=0'], code: 'E_BAD_INPUT' },
  'plan nova': { args: [badJson], code: 'E_BAD_JSON' },
  serve: { args: ['--token-file', missing, '--listen', '127.0.0.1:0'], code: 'E_TOKEN_FILE' },
  'fleet import': { args: ['--db', '', missing], code: 'E_USAGE' },
  'fleet hosts': { args: ['--db', fleetDb, '--where', 'colour=red'], code: 'E_FLEET_BAD_WHERE' },
  'fleet pools': { args: ['--db', fleetDb], code: 'E_FLEET_NO_HOSTS' },
  'fleet baseline': { args: ['--db', fleetDb, '--hosts', 'nope'], code: 'E_FLEET_UNKNOWN_HOST' },
  'fleet health': { args: ['--db', fleetDb, '--where', 'stale=1'], code: 'E_FLEET_BAD_WHERE' },
  'fleet show': { args: ['nope', '--db', fleetDb], code: 'E_FLEET_UNKNOWN_HOST' },
  'fleet placement': { args: ['--db', fleetDb, '--vcpus', '2', '--cpu', 'No-Such-Model'], code: 'E_CPU_UNKNOWN_MODEL' },
  'fleet serve': { args: ['--db', fleetDb, '--token-file', missing, '--listen', '127.0.0.1:0'], code: 'E_TOKEN_FILE' },
  traits: { args: ['--cpu', missing], code: 'E_NOT_FOUND' },
  labels: { args: ['--domcapabilities', missing], code: 'E_NOT_FOUND' },
  'fleet kubevirt': { args: ['--db', fleetDb, '--where', 'colour=red'], code: 'E_FLEET_BAD_WHERE' },
  completion: { args: ['tcsh'], code: 'E_USAGE', commanderLevel: true },
};

/**
 * A run that succeeds offline (captured fixture host, no guests touched, no QEMU started) per
 * command whose --json output is checked to be one parseable JSON document. Commands acting on
 * live guests have no entry: their success paths need a guest (test/e2e covers them).
 */
const fixtureCpuinfo = path.join(fixtureHost, 'proc/cpuinfo');
const GOOD_JSON_RUN: Record<string, string[]> = {
  host: ['--root', fixtureHost],
  check: ['--root', fixtureHost, '--no-probe'],
  report: ['--root', fixtureHost],
  capture: [path.join(scratch, 'capture'), '--root', fixtureHost],
  smp: ['4,threads=2'],
  'topology suggest': ['--vcpus', '2', '--root', fixtureHost],
  'topology nova': ['--vcpus', '4', '--flavor', 'hw:cpu_max_sockets=2'],
  // --accel tcg: no live QEMU even where /dev/kvm works.
  models: ['--accel', 'tcg'],
  'cpu explain': ['qemu64,+aes', '--accel', 'tcg'],
  'cpu levels': ['qemu64', '--accel', 'tcg'],
  'cpu features': ['--accel', 'tcg'],
  'cpu baseline': [fixtureCpuinfo, fixtureCpuinfo],
  'cpu compare': ['qemu64', '--host', fixtureCpuinfo],
  'cpu pools': [fixtureCpuinfo, fixtureCpuinfo],
  ps: ['--root', fixtureHost],
  overcommit: ['--root', fixtureHost],
  plan: ['--root', fixtureHost, '--guest', 'name=g1,vcpus=1'],
  labels: ['--root', fixtureHost],
};

// ---- tests ------------------------------------------------------------------------------------
describe('CLI conventions', () => {
  it('walks a real command tree', () => {
    // Guards the walker itself: these are registered by src/cli/commands/index.ts.
    for (const p of ['host', 'smp', 'topology suggest', 'plan nova', 'pin', 'launch']) expect(has(p), p).toBe(true);
    expect(runnable.length).toBeGreaterThanOrEqual(20);
  });

  it('an unknown command exits 2 with E_USAGE', async () => {
    const r = await run(['kvcpu-no-such-command']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error E_USAGE: unknown command 'kvcpu-no-such-command'/m);
  });

  describe('--help exits 0 and prints usage', () => {
    it('kvcpu --help', async () => {
      const r = await run(['--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: kvcpu /);
      for (const n of nodes.filter((x) => x.path.length === 1)) expect(r.out).toContain(n.path[0]);
    });
    for (const n of nodes) {
      it(`kvcpu ${key(n.path)} --help`, async () => {
        const r = await run([...n.path, '--help']);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(new RegExp(`^Usage: kvcpu ${key(n.path)}\\b`));
        expect(r.out).not.toMatch(ANSI);
        expect(r.err).toBe('');
      });
    }
  });

  describe('every command that prints data has --json', () => {
    for (const n of runnable) {
      const reason = NO_JSON_OPTION[key(n.path)];
      it(`kvcpu ${key(n.path)}${reason ? ' (exception: ' + reason + ')' : ''}`, () => {
        const hasJson = n.cmd.options.some((o) => o.long === '--json');
        // An exception that gained --json must leave the list, so the list stays true.
        expect(hasJson).toBe(reason === undefined);
      });
    }
    it('the exception list names only existing commands', () => {
      for (const p of Object.keys(NO_JSON_OPTION)) expect(has(p), p).toBe(true);
    });
  });

  describe('--json prints exactly one parseable JSON document (offline runs on the fixture host)', () => {
    for (const [p, args] of Object.entries(GOOD_JSON_RUN)) {
      it.skipIf(!has(p))(
        `kvcpu ${p} ${args
          .join(' ')
          .replaceAll(scratch, '$TMP')
          .replaceAll(repoRoot + '/', '')} --json`,
        async () => {
          const r = await run([...p.split(' '), ...args, '--json']);
          // 0 ok, 1 findings (check/report/compare verdicts) are both data, not errors.
          expect([0, 1]).toContain(r.code);
          const doc = JSON.parse(r.out) as Record<string, unknown>;
          expect(typeof doc).toBe('object');
          expect(doc.ok).not.toBe(false);
        },
      );
    }
  });

  describe('an unknown option exits 2 with E_USAGE', () => {
    for (const n of nodes) {
      const p = key(n.path);
      const exception = ACCEPTS_UNKNOWN_OPTIONS[p];
      it(`kvcpu ${p} --kvcpu-no-such-option${exception ? ' (exception: ' + exception + ')' : ''}`, async () => {
        const r = await run([...n.path, ...(SAFE_ARGS[p] ?? []), '--kvcpu-no-such-option']);
        expect(r.code).toBe(2);
        if (exception) expect(r.err).toMatch(/^error E_[A-Z0-9_]+: /m);
        else expect(r.err).toMatch(/^error E_USAGE: (unknown option '--kvcpu-no-such-option'|required option)/m);
        if (exception || !n.cmd.options.some((o) => o.long === '--json')) return;
        // Under --json the same usage error is also a JSON envelope on stdout.
        const j = await run([...n.path, ...(SAFE_ARGS[p] ?? []), '--kvcpu-no-such-option', '--json']);
        expect(j.code).toBe(2);
        expect(JSON.parse(j.out)).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
      });
    }
  });

  describe('a bad input exits 2 with an E_ code (text on stderr, JSON envelope under --json)', () => {
    it('every runnable command has a bad-input case', () => {
      const uncovered = runnable.map((n) => key(n.path)).filter((p) => !(p in BAD_INPUT));
      expect(uncovered).toEqual([]);
    });

    for (const [p, bad] of Object.entries(BAD_INPUT)) {
      const argv = [...p.split(' '), ...bad.args];
      const jsonMode = !(p in NO_JSON_OPTION);
      // Commands registered later (e.g. `cpu baseline` once wired) skip until they exist.
      const t = !has(p) ? it.skip : bad.bug ? it.fails : it;
      const title = `kvcpu ${argv
        .join(' ')
        .replaceAll(scratch, '$TMP')
        .replaceAll(repoRoot + '/', '')} -> ${bad.code}${bad.bug ? ` (BUG: ${bad.bug})` : ''}`;
      t(title, async () => {
        if (jsonMode) {
          const r = await run(argv);
          expect(r.code).toBe(2);
          expect(r.err).toMatch(new RegExp(`^error ${bad.code}: `, 'm'));
          expect(r.out + r.err).not.toMatch(ANSI); // colour is off for a non-TTY io
        }
        if (p in TEXT_ONLY) {
          const r = await run(argv);
          expect(r.code).toBe(2);
          expect(r.err).toMatch(new RegExp(`^error ${bad.code}: `, 'm'));
          return;
        }
        // Under --json (or for commands whose output is always JSON) the error is data on stdout.
        const r = await run(jsonMode ? [...argv, '--json'] : argv);
        expect(r.code).toBe(2);
        const doc = JSON.parse(r.out) as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
        expect(doc.ok).toBe(false);
        expect(doc.error?.code).toBe(bad.code);
        expect(typeof doc.error?.message).toBe('string');
        // The envelope is the whole report: nothing else on stderr for scripts to miss (commander's
        // usage errors also keep their text line there).
        if (!bad.commanderLevel) expect(r.err).toBe('');
      });
    }

    // Bad inputs that were once accepted with exit 0 (regressions guarded here).
    const ONCE_ACCEPTED_BAD_INPUT: { argv: string[]; code: string }[] = [
      // a --root that does not exist used to give exit 0 with every section "skipped"
      { argv: ['report', '--root', missing], code: 'E_SYSFS_MISSING' },
      // an unknown machine type used to be treated as the newest one
      { argv: ['models', '--accel', 'tcg', '--machine', 'no-such-machine'], code: 'E_SMP_MACHINE_UNKNOWN' },
      { argv: ['cpu', 'explain', 'qemu64', '--accel', 'tcg', '--machine', 'no-such-machine'], code: 'E_SMP_MACHINE_UNKNOWN' },
    ];
    for (const c of ONCE_ACCEPTED_BAD_INPUT) {
      const p = c.argv.slice(0, c.argv[0] === 'cpu' ? 2 : 1).join(' ');
      (has(p) ? it : it.skip)(`kvcpu ${c.argv.join(' ').replaceAll(scratch, '$TMP')} --json exits 2 with ${c.code}`, async () => {
        const r = await run([...c.argv, '--json']);
        expect(r.code).toBe(2);
        expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: c.code } });
      });
    }

    // Commander's own usage errors (bad option values parsed by commander, unknown options) honour
    // --json too: main() prints the envelope on stdout (fixed by the lead; was text only).
    it('kvcpu overcommit --ratio abc --json prints {"ok":false,"error":{"code":"E_USAGE"}}', async () => {
      const r = await run(['overcommit', '--ratio', 'abc', '--json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    });
  });
});
