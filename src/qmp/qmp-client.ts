import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { KvcpuError, type ErrorCode } from '../core/errors.ts';

/** An asynchronous QMP event (docs/interop/qmp-spec: events carry no "id"). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    capabilities: string[];
  };
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  command: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * QEMU's error classes (qapi/error.json ErrorClass) mapped to kvcpu codes, so callers
 * branch on a stable code rather than QEMU's prose.
 */
export function mapQmpErrorClass(cls: string): ErrorCode {
  switch (cls) {
    case 'CommandNotFound':
      return 'E_QMP_COMMAND_NOT_FOUND';
    case 'DeviceNotFound':
      return 'E_QMP_DEVICE_NOT_FOUND';
    case 'DeviceNotActive':
      return 'E_QMP_DEVICE_NOT_ACTIVE';
    case 'KVMMissingCap':
      return 'E_QMP_KVM_MISSING';
    default:
      return 'E_QMP_ERROR';
  }
}

/**
 * A small typed QMP client over a unix socket: reads the greeting, negotiates
 * capabilities, correlates replies by id, emits events, and fails pending calls with
 * E_QMP_CLOSED when QEMU goes away mid-call.
 */
export class QmpClient extends EventEmitter {
  readonly greeting: QmpGreeting;
  private readonly socket: Socket;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private buffer = '';
  private isClosed = false;

  private constructor(socket: Socket, greeting: QmpGreeting, rest: string) {
    super();
    this.socket = socket;
    this.greeting = greeting;
    this.buffer = rest;
    socket.on('data', (chunk: Buffer) => this.onData(chunk.toString('utf8')));
    // After `quit` QEMU resets the connection; that is a close, not a crash.
    socket.on('error', () => this.onClose());
    socket.on('close', () => this.onClose());
    if (rest) this.onData('');
  }

  /** Connect to a QMP unix socket, read the greeting and leave negotiation mode. */
  static async connect(socketPath: string, opts: { timeoutMs?: number } = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { socket, greeting, rest } = await new Promise<{ socket: Socket; greeting: QmpGreeting; rest: string }>((resolve, reject) => {
      const socket = createConnection(socketPath);
      let buf = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new KvcpuError('E_QMP_TIMEOUT', `no QMP greeting from ${socketPath} within ${timeoutMs} ms`, {
            hint: 'is another client holding the monitor? QMP serves one client per socket',
          }),
        );
      }, timeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        reject(
          new KvcpuError('E_QMP_CONNECT', `cannot connect to QMP socket ${socketPath}: ${e.message}`, {
            hint: 'check the path and that QEMU runs with -qmp unix:PATH,server=on,wait=off',
            cause: e,
          }),
        );
      };
      socket.once('error', fail);
      const onData = (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        try {
          const greeting = JSON.parse(buf.slice(0, nl)) as QmpGreeting;
          if (!greeting.QMP) throw new Error('first message is not a QMP greeting');
          resolve({ socket, greeting, rest: buf.slice(nl + 1) });
        } catch (e) {
          socket.destroy();
          reject(new KvcpuError('E_QMP_CONNECT', `bad QMP greeting on ${socketPath}: ${(e as Error).message}`));
        }
      };
      socket.on('data', onData);
    });
    const client = new QmpClient(socket, greeting, rest);
    await client.execute('qmp_capabilities', undefined, { timeoutMs });
    return client;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Run a QMP command and resolve with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.isClosed) {
      return Promise.reject(new KvcpuError('E_QMP_CLOSED', `QMP connection is closed (command ${command})`, { hint: 'QEMU has exited or closed the monitor' }));
    }
    const id = `kvcpu-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new KvcpuError('E_QMP_TIMEOUT', `QMP command ${command} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, command });
      const msg = JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id });
      this.socket.write(msg + '\n');
    });
  }

  /** Resolve with the next event of that name. */
  waitForEvent(name: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('event', listener);
        reject(new KvcpuError('E_QMP_TIMEOUT', `no QMP event ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (e: QmpEvent) => {
        if (e.event !== name) return;
        clearTimeout(timer);
        this.off('event', listener);
        resolve(e);
      };
      this.on('event', listener);
    });
  }

  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  private onData(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // QMP speaks JSON lines; ignore anything else
      }
      // Every QMP message is a JSON object (qmp-spec 2.x); `null` or `[1]` used to throw a
      // TypeError out of the socket's data handler (fuzz, issue 15).
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) continue;
      const msg = parsed as Record<string, unknown>;
      if (typeof msg.event === 'string') {
        this.emit('event', msg as unknown as QmpEvent);
        continue;
      }
      const id = typeof msg.id === 'string' ? msg.id : undefined;
      const p = id === undefined ? undefined : this.pending.get(id);
      if (!p || id === undefined) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      if ('error' in msg) {
        const err = (msg.error !== null && typeof msg.error === 'object' ? msg.error : {}) as { class?: unknown; desc?: unknown };
        const cls = typeof err.class === 'string' ? err.class : 'GenericError';
        const desc = typeof err.desc === 'string' ? err.desc : '';
        p.reject(new KvcpuError(mapQmpErrorClass(cls), `QMP ${p.command}: ${desc || cls}`, { details: { class: cls, desc } }));
      } else {
        p.resolve(msg.return);
      }
    }
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new KvcpuError('E_QMP_CLOSED', `QEMU closed the QMP connection during ${p.command}`, { hint: 'QEMU exited or crashed; see its log' }));
      this.pending.delete(id);
    }
    this.emit('close');
  }
}
