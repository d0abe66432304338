import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A libvirtd of a test's own, so a fault test may kill it without disturbing the shared one
 * (.ci/start-libvirtd) that other test files and other people's guests use.
 *
 * Two system-mode libvirtds on one host would share /run/libvirt (sockets, domain status XML,
 * pid files), /var/lib/libvirt and /etc/libvirt, and the second would adopt the first's domains.
 * So this one runs in a private mount namespace (`unshare -m --propagation private`, held open by
 * a `sleep` process) with tmpfs over each of those directories and an /etc/libvirt holding only
 * the qemu.conf that .ci/start-libvirtd writes; /run (the pid files /run/libvirtd.pid and
 * /run/virtlogd.pid) is left alone by giving both daemons `--pid-file` in a scratch directory.
 * QEMU capabilities probed by the shared libvirtd are copied in (read only there) so the first
 * domain start does not probe every qemu-system-* again.
 *
 * Everything that must see this libvirtd (virsh, kvcpu, which finds libvirt domains through
 * /run/libvirt/qemu/NAME.pid) runs inside the namespace through `nsenter -t HOLDER -m`; /proc and
 * /sys are the host's, so kvcpu reads the domain's QEMU threads as usual.
 */
const execFileP = promisify(execFile);

/** The mounts over libvirt's system directories (/var/run is a symlink to /run on Debian). */
const PRIVATE_DIRS = ['/run/libvirt', '/var/lib/libvirt', '/var/cache/libvirt', '/var/log/libvirt', '/etc/libvirt'];

const QEMU_CONF = 'user = "root"\\ngroup = "root"\\ndynamic_ownership = 0\\nsecurity_driver = "none"\\nnamespaces = [ ]\\n';

/** unshare/nsenter present and allowed (root with CAP_SYS_ADMIN), libvirtd and virtlogd installed. */
export function privateLibvirtdPossible(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root' };
  for (const bin of ['unshare', 'nsenter', 'libvirtd', 'virtlogd', 'virsh']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return { ok: false, why: `${bin} is not installed` };
  }
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs kvt-probe /mnt'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return { ok: false, why: `unshare -m cannot mount a tmpfs here: ${r.stderr.trim()}` };
  return { ok: true };
}

function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (gone(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return gone(pid);
}

export class PrivateLibvirtd {
  private scratch: string | null = null;
  private holder: ChildProcess | null = null;
  private daemons: { libvirtd: ChildProcess | null; virtlogd: ChildProcess | null } = { libvirtd: null, virtlogd: null };

  constructor(readonly tag: string) {}

  /** Scratch directory (on the host's /tmp, visible inside and outside): pid files, logs, XML. Made on first use. */
  get dir(): string {
    this.scratch ??= mkdtempSync(join(tmpdir(), `kvt-${this.tag}-libvirtd-`));
    return this.scratch;
  }

  get holderPid(): number {
    return this.holder!.pid!;
  }

  get libvirtdPid(): number | null {
    const p = this.daemons.libvirtd;
    return p && p.pid && !gone(p.pid) ? p.pid : null;
  }

  /** Create the namespace, then start virtlogd and libvirtd in it and wait until virsh answers. */
  async start(): Promise<void> {
    const caps = join(this.dir, 'caps');
    const script = [
      'set -e',
      `if [ -d /var/cache/libvirt/qemu/capabilities ]; then cp -a /var/cache/libvirt/qemu/capabilities ${caps}; fi`,
      ...PRIVATE_DIRS.map((d) => `mount -t tmpfs -o mode=0755 kvt-${this.tag} ${d}`),
      `printf '${QEMU_CONF}' > /etc/libvirt/qemu.conf`,
      'mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu',
      `if [ -d ${caps} ]; then cp -a ${caps} /var/cache/libvirt/qemu/capabilities; fi`,
      'echo ready',
      'exec sleep 100000',
    ].join('\n');
    const holder = spawn('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.holder = holder;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`private namespace did not come up: ${err}`)), 20_000);
      holder.stderr!.on('data', (d) => (err += d));
      holder.stdout!.on('data', (d) => {
        if (String(d).includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      });
      holder.on('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`private namespace holder exited (${code}): ${err}`));
      });
    });
    this.daemons.virtlogd = this.spawnIn(['virtlogd', '-p', join(this.dir, 'virtlogd.pid')], 'virtlogd.log');
    await this.startLibvirtd();
  }

  private spawnIn(argv: string[], log: string): ChildProcess {
    const p = spawn('nsenter', ['-t', String(this.holderPid), '-m', '--', ...argv], {
      stdio: 'ignore',
      env: { ...process.env, LIBVIRT_LOG_OUTPUTS: `3:file:${join(this.dir, log)}` },
    });
    p.on('error', () => undefined);
    return p;
  }

  /** (Re)start libvirtd in the namespace; resolves once `virsh version` answers there. */
  async startLibvirtd(): Promise<void> {
    if (this.libvirtdPid) return;
    this.daemons.libvirtd = this.spawnIn(['libvirtd', '-p', join(this.dir, 'libvirtd.pid')], 'libvirtd.log');
    const end = Date.now() + 60_000;
    for (;;) {
      const r = await this.run(['virsh', '-c', 'qemu:///system', 'version'], 10_000).catch((e: unknown) => ({ stdout: '', stderr: String(e) }));
      if (/Running hypervisor: QEMU/.test(r.stdout)) return;
      if (Date.now() > end) throw new Error(`private libvirtd did not answer: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 300));
    }
  }

  /** SIGKILL libvirtd (its domains keep running, as when libvirtd crashes) and wait until it is gone. */
  async killLibvirtd(): Promise<void> {
    const pid = this.libvirtdPid;
    if (!pid) return;
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 10_000);
  }

  /** Run a command inside the namespace (argv, no shell). */
  run(argv: string[], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
    return execFileP('nsenter', ['-t', String(this.holderPid), '-m', '--', ...argv], { timeout: timeoutMs, env: { ...process.env, ...env } });
  }

  async virsh(...args: string[]): Promise<string> {
    return (await this.run(['virsh', '-c', 'qemu:///system', ...args])).stdout;
  }

  /** The QEMU pid libvirt recorded for a running domain (its pid file in the private /run). */
  async domainPid(name: string): Promise<number> {
    return Number((await this.run(['cat', `/run/libvirt/qemu/${name}.pid`])).stdout.trim());
  }

  /**
   * Tear everything down, also after a failure: domains destroyed and undefined through libvirt
   * (restarted when the test left it dead), QEMU killed by pid if libvirt cannot, then libvirtd,
   * virtlogd and the holder, so the namespace and its tmpfs mounts go with the last process.
   */
  async stop(domains: string[]): Promise<string[]> {
    const problems: string[] = [];
    if (!this.holder?.pid || gone(this.holder.pid)) {
      if (this.scratch) rmSync(this.scratch, { recursive: true, force: true });
      return problems;
    }
    const pids = new Map<string, number>();
    for (const d of domains) {
      const pid = await this.domainPid(d).catch(() => 0);
      if (pid) pids.set(d, pid);
    }
    await this.startLibvirtd().catch((e: unknown) => problems.push(`restart for teardown: ${String(e)}`));
    for (const d of domains) {
      await this.virsh('destroy', d).catch(() => undefined);
      await this.virsh('undefine', d).catch(() => undefined);
    }
    for (const [d, pid] of pids) {
      if (!gone(pid)) {
        problems.push(`${d}: QEMU ${pid} still ran after virsh destroy: killed`);
        process.kill(pid, 'SIGKILL');
        await waitGone(pid, 10_000);
      }
    }
    for (const p of [this.daemons.libvirtd, this.daemons.virtlogd, this.holder]) {
      if (p?.pid && !gone(p.pid)) {
        p.kill('SIGTERM');
        if (!(await waitGone(p.pid, 10_000))) {
          p.kill('SIGKILL');
          await waitGone(p.pid, 5_000);
        }
      }
    }
    if (this.scratch && existsSync(this.scratch)) rmSync(this.scratch, { recursive: true, force: true });
    return problems;
  }
}
