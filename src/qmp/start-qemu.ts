import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvcpuError } from '../core/errors.ts';
import { qemuAvailable } from './qemu-env.ts';
import { QmpClient } from './qmp-client.ts';

export interface QemuProcess {
  pid: number;
  socketPath: string;
  dir: string;
  qmp: QmpClient;
  /** What QEMU printed on stderr so far. */
  stderr(): string;
  /** QMP quit, then SIGKILL after 2 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

export interface StartQemuOptions {
  args: string[];
  binary?: string;
  timeoutMs?: number;
  /** Folder for the QMP socket (a new temp folder when omitted; removed on stop). */
  dir?: string;
}

// Every QEMU we started and have not yet seen exit: killed if node exits first, so a
// crashed test run never leaves guests behind.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

// qemuAvailable moved to qemu-env.ts with the other environment probes (re-exported here for callers).
export { qemuAvailable } from './qemu-env.ts';

/** Start QEMU with a QMP socket and connect to it. The caller must `stop()` it. */
export async function startQemu(opts: StartQemuOptions): Promise<QemuProcess> {
  const binary = opts.binary ?? 'qemu-system-x86_64';
  const timeoutMs = opts.timeoutMs ?? 15_000;
  if (!qemuAvailable(binary)) {
    throw new KvcpuError('E_QEMU_MISSING', `${binary} not found`, { hint: 'apt-get install --no-install-recommends qemu-system-x86' });
  }
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kvcpu-qemu-'));
  const socketPath = join(dir, 'qmp.sock');
  rmSync(socketPath, { force: true });
  installExitHook();
  const child = spawn(binary, [...opts.args, '-qmp', `unix:${socketPath},server=on,wait=off`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    // 'close' (not 'exit'): it fires after stderr is drained, so an early failure keeps QEMU's message.
    child.once('close', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      live.delete(child);
      resolve();
    });
    child.once('error', () => {
      exitCode = -1;
      live.delete(child);
      resolve();
    });
  });

  const cleanupDir = () => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const kill = async () => {
    if (exitCode === undefined) child.kill('SIGKILL');
    await exited;
  };

  const deadline = Date.now() + timeoutMs;
  let qmp: QmpClient | undefined;
  while (!qmp) {
    if (exitCode !== undefined) {
      cleanupDir();
      throw new KvcpuError('E_QEMU_FAILED', `QEMU exited (status ${exitCode}) before QMP was ready: ${stderr.trim() || '(no output)'}`, {
        details: { stderr, status: exitCode },
      });
    }
    if (Date.now() > deadline) {
      await kill();
      cleanupDir();
      throw new KvcpuError('E_TIMEOUT', `QEMU's QMP socket did not come up within ${timeoutMs} ms`, { details: { stderr } });
    }
    if (existsSync(socketPath)) {
      try {
        qmp = await QmpClient.connect(socketPath, { timeoutMs: Math.max(1000, deadline - Date.now()) });
        break;
      } catch {
        // socket file exists before listen(); retry
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const client = qmp;
  return {
    pid: child.pid ?? -1,
    socketPath,
    dir,
    qmp: client,
    stderr: () => stderr,
    async stop() {
      if (exitCode === undefined && !client.closed) {
        await client.execute('quit', undefined, { timeoutMs: 2000 }).catch(() => undefined);
      }
      client.close();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
      cleanupDir();
    },
  };
}
