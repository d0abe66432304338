/**
 * Issue 15 part 2, the libvirt fault: libvirtd stopped while `kvcpu pin --via-libvirt --config`
 * runs on a libvirt domain. The libvirtd killed here is a private one (test/support/private-libvirtd.ts:
 * own mount namespace, own /run/libvirt, /var/lib/libvirt, /etc/libvirt), never the shared one.
 *
 * Deterministic: a `virsh` test double first on kvcpu's PATH counts kvcpu's mutating calls
 * (`vcpupin DOM N CPUS --live --config`) and SIGKILLs libvirtd right before the Nth one reaches
 * the real /usr/bin/virsh, so libvirtd dies between two of kvcpu's calls at a known point. The
 * judges are /proc (the vCPU threads' Cpus_allowed_list), libvirt's own views once it is back
 * (`virsh vcpupin --live`, `dumpxml --inactive`) and the saved pin state file.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainXml } from '../support/libvirt.ts';
import { PrivateLibvirtd, privateLibvirtdPossible } from '../support/private-libvirtd.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kvcpu.js');
const possible = privateLibvirtdPossible();
const qemu = existsSync('/usr/bin/qemu-system-x86_64') && existsSync('/usr/share/qemu/qboot.rom');
const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
const twoCpus = online === '0-1' || /^0-\d+$/.test(online);
if (!possible.ok) console.warn(`libvirtd fault test skipped: ${possible.why}`);

function allowed(pid: number, tid: number): string {
  return /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!.trim();
}
/** vCPU n's thread, by the `CPU n/TCG` name libvirt's debug-threads=on gives it. */
function vcpuTid(pid: number, n: number): number {
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    if (readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === `CPU ${n}/TCG`) return Number(t);
  }
  throw new Error(`no CPU ${n}/TCG thread in ${pid}`);
}

/** The virsh double: logs every call, kills libvirtd before mutating call number $KVT_KILL_AT. */
const VIRSH_DOUBLE = `#!/bin/sh
echo "$*" >> "$KVT_DIR/virsh.log"
case "$1" in
  vcpupin|emulatorpin|iothreadpin)
    if [ "$#" -ge 4 ] && [ "\${4#--}" = "$4" ]; then
      n=$(( $(cat "$KVT_DIR/mutations" 2>/dev/null || echo 0) + 1 ))
      echo "$n" > "$KVT_DIR/mutations"
      if [ "$n" = "$KVT_KILL_AT" ]; then
        pid=$(cat "$KVT_DIR/libvirtd.pid")
        kill -9 "$pid"
        i=0
        while [ "$i" -lt 200 ] && [ -e "/proc/$pid" ] && ! grep -q ') Z ' "/proc/$pid/stat" 2>/dev/null; do sleep 0.05; i=$((i+1)); done
        echo killed >> "$KVT_DIR/virsh.log"
      fi
    fi;;
esac
exec /usr/bin/virsh "$@"
`;

describe.skipIf(!possible.ok || !qemu || !twoCpus)('libvirtd stopped during a --via-libvirt pin (private libvirtd)', () => {
  const lv = new PrivateLibvirtd('harden2');
  const name = `kvt-harden2-lost-${process.pid}`;
  // Paths in the scratch directory, made when the suite runs (not when it is skipped).
  let binDir = '';
  let stateDir = '';
  let pid = 0;
  let original: { live: Record<number, string>; xml: string };

  /** kvcpu inside the namespace, with the virsh double when killAt is set. */
  function kvcpu(args: string[], killAt = 0): Promise<{ code: number | null; out: string; err: string; ms: number }> {
    rmSync(path.join(lv.dir, 'mutations'), { force: true });
    const t0 = Date.now();
    return new Promise((resolve) => {
      const env = {
        ...process.env,
        KVCPU_STATE_DIR: stateDir,
        KVT_DIR: lv.dir,
        KVT_KILL_AT: String(killAt),
        NO_COLOR: '1',
        PATH: `${binDir}:${process.env.PATH}`,
      };
      const p = spawn('nsenter', ['-t', String(lv.holderPid), '-m', '--', process.execPath, BIN, ...args], { env });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      // Bounded: a hang is a failure, not a stuck test run.
      const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err, ms: Date.now() - t0 });
      });
    });
  }
  async function libvirtLive(): Promise<Record<number, string>> {
    const out: Record<number, string> = {};
    for (const line of (await lv.virsh('vcpupin', name, '--live')).split('\n')) {
      const m = /^\s*(\d+)\s+([\d,-]+)\s*$/.exec(line);
      if (m) out[Number(m[1])] = m[2]!;
    }
    return out;
  }
  const inactiveXml = () => lv.virsh('dumpxml', '--inactive', name);
  const threads = () => ({ 0: allowed(pid, vcpuTid(pid, 0)), 1: allowed(pid, vcpuTid(pid, 1)) });
  const stateFiles = () => (existsSync(stateDir) ? readdirSync(stateDir).filter((f) => f.startsWith(`pin-${pid}-`) && f.endsWith('.json')) : []);
  const pinArgs = ['pin', name, '--via-libvirt', '--config', '--vcpu', '0=0', '--vcpu', '1=1', '--json'];

  beforeAll(async () => {
    binDir = path.join(lv.dir, 'bin');
    stateDir = path.join(lv.dir, 'state');
    mkdirSync(binDir, { recursive: true });
    writeFileSync(path.join(binDir, 'virsh'), VIRSH_DOUBLE);
    chmodSync(path.join(binDir, 'virsh'), 0o755);
    await lv.start();
    const file = path.join(lv.dir, `${name}.xml`);
    writeFileSync(file, domainXml({ name, vcpus: 2 }));
    await lv.virsh('define', file);
    await lv.virsh('start', name);
    pid = await lv.domainPid(name);
    // The shared libvirtd does not know this domain: the instances are apart.
    original = { live: await libvirtLive(), xml: await inactiveXml() };
    expect(original.live).toEqual({ 0: online, 1: online });
    expect(threads()).toEqual({ 0: online, 1: online });
    expect(original.xml).not.toMatch(/<cputune/);
  }, 180_000);

  afterAll(async () => {
    const problems = await lv.stop([name]);
    expect(problems).toEqual([]);
  }, 180_000);

  it("killed before kvcpu's first change: E_LIBVIRT_UNREACHABLE in bounded time, nothing changed, nothing saved; a retry after restart works", async () => {
    const r = await kvcpu(pinArgs, 1);
    expect(readFileSync(path.join(lv.dir, 'virsh.log'), 'utf8')).toMatch(/killed/);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(30_000);
    const error = JSON.parse(r.out).error as { code: string; message: string };
    expect(error.code).toBe('E_LIBVIRT_UNREACHABLE');
    expect(error.message).toMatch(/libvirtd stopped answering; nothing was changed/);
    expect(threads()).toEqual({ 0: online, 1: online });
    expect(stateFiles()).toEqual([]);

    await lv.startLibvirtd();
    expect(await libvirtLive()).toEqual(original.live);
    expect(await inactiveXml()).toBe(original.xml);
    const again = await kvcpu(pinArgs);
    expect(again.code, again.out + again.err).toBe(0);
    expect(threads()).toEqual({ 0: '0', 1: '1' });
    const un = await kvcpu(['unpin', name, '--json']);
    expect(un.code, un.out + un.err).toBe(0);
    expect(threads()).toEqual({ 0: online, 1: online });
    expect(await libvirtLive()).toEqual(original.live);
    expect(await inactiveXml()).toBe(original.xml);
    expect(stateFiles()).toEqual([]);
  }, 180_000);

  it('killed between two changes: E_LIBVIRT_LOST names the one change it could not undo and saves it whole; after restart unpin puts live and XML back', async () => {
    const r = await kvcpu(pinArgs, 2);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(30_000);
    const error = JSON.parse(r.out).error as {
      code: string;
      message: string;
      details: {
        notRolledBack: { what: string; id: string; before: string; after: string; beforeConfig: string | null; configHad?: boolean }[];
        statePaths: string[];
      };
    };
    expect(error.code).toBe('E_LIBVIRT_LOST');
    expect(error.message).toMatch(/1 of 1 virsh change\(s\) could not be rolled back \(kvt-harden2-lost-\d+ vcpu 0\)/);
    expect(error.details.notRolledBack).toEqual([
      expect.objectContaining({ what: 'vcpu', id: '0', before: online, after: '0', beforeConfig: online, configHad: false }),
    ]);
    // Each target is whole: vCPU 0 as virsh set it (libvirt changed it, live and config, in one
    // call), vCPU 1 untouched; no half-written state file, and it records exactly vCPU 0.
    expect(threads()).toEqual({ 0: '0', 1: online });
    const files = stateFiles();
    expect(files).toHaveLength(1);
    expect(error.details.statePaths).toEqual([path.join(stateDir, files[0]!)]);
    const state = JSON.parse(readFileSync(path.join(stateDir, files[0]!), 'utf8')) as {
      guest: string;
      libvirt: { id: string; before: string }[];
      threads: { label: string; before: string; after: string }[];
    };
    expect(state.guest).toBe(name);
    expect(state.libvirt.map((p) => [p.id, p.before])).toEqual([['0', online]]);
    expect(state.threads.map((t) => [t.label, t.before, t.after])).toEqual([['vcpu 0', online, '0']]);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // unpin while libvirtd is still down: refused with a code, state kept for later.
    const early = await kvcpu(['unpin', name, '--json']);
    expect(early.code).toBe(2);
    expect(JSON.parse(early.out).error.code).toBe('E_UNPIN_FAILED');
    expect(stateFiles()).toEqual(files);

    await lv.startLibvirtd();
    // libvirt's own view agrees with the threads (kvcpu did nothing behind its back).
    expect(await libvirtLive()).toEqual({ 0: '0', 1: online });
    expect(await inactiveXml()).toMatch(/<vcpupin vcpu='0' cpuset='0'\/>/);
    const un = await kvcpu(['unpin', name, '--json']);
    expect(un.code, un.out + un.err).toBe(0);
    expect(threads()).toEqual({ 0: online, 1: online });
    expect(await libvirtLive()).toEqual(original.live);
    expect(await inactiveXml()).toBe(original.xml);
    expect(stateFiles()).toEqual([]);
  }, 180_000);

  it('killed between two changes, then the same pin again after restart: pinned, and unpin returns to the XML before the first attempt', async () => {
    const r = await kvcpu(pinArgs, 2);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe('E_LIBVIRT_LOST');
    await lv.startLibvirtd();
    const again = await kvcpu(pinArgs);
    expect(again.code, again.out + again.err).toBe(0);
    expect(threads()).toEqual({ 0: '0', 1: '1' });
    expect(await libvirtLive()).toEqual({ 0: '0', 1: '1' });
    const un = await kvcpu(['unpin', name, '--json']);
    expect(un.code, un.out + un.err).toBe(0);
    expect(threads()).toEqual({ 0: online, 1: online });
    expect(await libvirtLive()).toEqual(original.live);
    // The saved "XML had no <vcpupin> for vCPU 0" of the first attempt survives the retry's merge.
    expect(await inactiveXml()).toBe(original.xml);
    expect(stateFiles()).toEqual([]);
  }, 180_000);
});
