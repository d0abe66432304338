import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { main } from '../cli/main.ts';
import { gatherCheckFacts } from './gather-check-facts.ts';
import { probeKvm, probeKvmWithQemu } from './probe-kvm.ts';
import { runChecks } from './run-checks.ts';
import type { Check, CheckFacts } from './types.ts';

// Live test on this machine: kvm.usable must agree with an independent probe that does not use
// kvcpu's code: a bare QEMU started with -accel kvm (it exits at once when kvm_init fails and
// keeps running, paused by -S, when it works).
const QEMU = 'qemu-system-x86_64';
const haveQemu = spawnSync('which', [QEMU]).status === 0;
const spawned: number[] = [];

function independentKvmProbe(): Promise<{ works: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(QEMU, ['-accel', 'kvm', '-machine', 'none', '-nodefaults', '-display', 'none', '-S', '-monitor', 'none', '-serial', 'none'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (child.pid) spawned.push(child.pid);
    let stderr = '';
    let settled = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Still alive after 3 s = kvm_init succeeded (failure exits within ~0.3 s here).
    const timer = setTimeout(() => {
      settled = true;
      child.kill('SIGKILL');
    }, 3000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ works: settled && code === null, stderr });
    });
  });
}

function qemuPids(): number[] {
  const r = spawnSync('pgrep', ['-f', '^qemu-system-x86_64 -accel (kvm|tcg) -machine none'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

function gone(pid: number): boolean {
  return !existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z/.test(spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout);
}

describe.skipIf(process.platform !== 'linux')('kvcpu check on the live host', () => {
  let facts: CheckFacts;
  let checks: Check[];
  const get = (id: string) => checks.find((c) => c.id === id)!;

  beforeAll(async () => {
    facts = await gatherCheckFacts({ root: '/', live: true });
    checks = runChecks(facts);
  });

  afterAll(async () => {
    // Every QEMU this file (or the QEMU probe) started must be gone.
    for (let i = 0; i < 50 && !spawned.every(gone); i++) await new Promise((r) => setTimeout(r, 100));
    for (const pid of spawned) expect(gone(pid), `qemu ${pid} left behind`).toBe(true);
  });

  it('gathers live-only facts', () => {
    expect(facts.live).toBe(true);
    expect(facts.kvmDevice).not.toBeNull();
    expect(facts.kvmDevice!.exists).toBe(existsSync('/dev/kvm'));
    expect(facts.probe).not.toBeNull();
    expect(facts.irqbalancePids).not.toBeNull();
    expect(facts.cmdline).not.toBeNull();
  });

  it.skipIf(!haveQemu)('kvm.usable agrees with an independent QEMU -accel kvm start', async () => {
    const ind = await independentKvmProbe();
    const usable = get('kvm.usable');
    expect(usable.status, `independent probe: ${ind.works ? 'KVM works' : `KVM fails: ${ind.stderr.trim()}`}; kvcpu: ${usable.summary}`).toBe(
      ind.works ? 'PASS' : 'FAIL',
    );
    // A KVM that does not work is a FAIL, so the CLI exits 1.
    if (!ind.works) expect(checks.some((c) => c.status === 'FAIL')).toBe(true);
  });

  it('the CLI exit status follows the verdicts (1 iff a FAIL)', async () => {
    let out = '';
    const code = await main(['check', '--json'], { out: (s) => void (out += s), err: () => {}, color: false, stdin: Readable.from([]) });
    const j = JSON.parse(out) as { checks: { id: string; status: string }[] };
    expect(code).toBe(j.checks.some((c) => c.status === 'FAIL') ? 1 : 0);
    expect(j.checks.find((c) => c.id === 'kvm.usable')?.status).toBe(get('kvm.usable').status);
  });

  it.skipIf(!haveQemu)('the QEMU fallback probe reaches the same answer as the native probe', async () => {
    const viaQemu = await probeKvmWithQemu({ timeoutMs: 15_000 });
    const viaDefault = await probeKvm();
    expect(viaQemu.method).toBe('qemu');
    expect(viaQemu.usable).toBe(viaDefault.usable);
    if (viaQemu.usable === false) expect(viaQemu.qemuOutput).toMatch(/kvm/i);
  });

  it.skipIf(!haveQemu)('the QEMU probe reads query-kvm over QMP and stops QEMU (TCG start: QEMU runs, KVM not enabled)', async () => {
    const before = new Set(qemuPids());
    const p = await probeKvmWithQemu({ accel: 'tcg', timeoutMs: 15_000 });
    expect(p.method).toBe('qemu');
    expect(p.usable).toBe(false);
    expect(p.qemuOutput).toMatch(/^query-kvm: enabled=false present=(true|false)/);
    // QEMU was stopped and reaped: no new qemu process of ours remains.
    const leftover = qemuPids().filter((pid) => !before.has(pid) && !gone(pid));
    expect(leftover).toEqual([]);
  });

  it('--no-probe leaves kvm.usable unjudged', async () => {
    let out = '';
    await main(['check', '--no-probe', '--json'], { out: (s) => void (out += s), err: () => {}, color: false, stdin: Readable.from([]) });
    const j = JSON.parse(out) as { checks: { id: string; status: string }[] };
    expect(j.checks.find((c) => c.id === 'kvm.usable')?.status).toBe('SKIP');
  });

  it('without the addon and without /dev/kvm, the verdict needs no QEMU at all', async () => {
    const p = await probeKvm({ native: null });
    if (!existsSync('/dev/kvm')) {
      expect(p).toMatchObject({ method: 'none', usable: false, openErrno: 2 });
    } else {
      expect(['qemu', 'none']).toContain(p.method);
    }
  });

  it('when /dev/kvm is absent: kvm.device FAILs with the module facts and an honest fix', () => {
    if (existsSync('/dev/kvm')) {
      expect(get('kvm.device').status).toBe('PASS');
      return;
    }
    const d = get('kvm.device');
    expect(d.status).toBe('FAIL');
    expect(d.evidence).toContain('/dev/kvm: No such file or directory');
    if (existsSync('/sys/module/kvm_pvm')) {
      expect(d.evidence.join('\n')).toMatch(/kvm_pvm/);
      expect(d.fix).not.toMatch(/^mknod/); // a node without a registered driver would not help
    }
    expect(get('kvm.usable').evidence.join('\n')).toMatch(/ENOENT/);
    expect(get('kvm.permissions').status).toBe('SKIP');
    expect(get('kvm.vcpu_limits').status).toBe('SKIP');
  });

  it('when KVM works: vCPU limits come from the probe', (ctx) => {
    if (facts.probe?.usable !== true) ctx.skip('/dev/kvm cannot create a VM here: no probe limits to compare');
    expect(get('kvm.vcpu_limits').status).toBe(facts.probe?.method === 'native' ? 'PASS' : 'SKIP');
  });

  it('cpu.hwvirt never contradicts kvm.usable', () => {
    if (get('kvm.usable').status === 'PASS') expect(get('cpu.hwvirt').status).not.toBe('FAIL');
  });

  it('smp.kernel and cpus.online match uname and sysfs', () => {
    const uname = spawnSync('uname', ['-v'], { encoding: 'utf8' }).stdout.trim();
    expect(get('smp.kernel').evidence[0]).toBe(`uname -v: ${uname}`);
    if (/\bSMP\b/.test(uname)) expect(get('smp.kernel').status).toBe('PASS');
    else expect(['FAIL', 'WARN']).toContain(get('smp.kernel').status);
    const irq = spawnSync('pgrep', ['-x', 'irqbalance'], { encoding: 'utf8' });
    if (irq.error === undefined) expect(get('irqbalance').status === 'PASS').toBe(irq.status === 0);
  });
});
