import { KvcpuError } from '../core/errors.ts';
import { QmpClient } from '../qmp/qmp-client.ts';
import { explainMonitorFailure } from './explain-monitor-failure.ts';
import { errText, virsh } from './libvirt-pins.ts';
import { readProcThreads } from './scan-proc.ts';
import type { GuestProcess } from './types.ts';

interface HotpluggableCpu {
  type: string;
  'vcpus-count': number;
  props: Record<string, number>;
  'qom-path'?: string;
}

interface CpuFast {
  'cpu-index': number;
  'thread-id': number;
  'qom-path': string;
  props?: Record<string, number>;
}

export interface HotplugOutcome {
  guest: string;
  pid: number;
  from: number;
  to: number;
  maxCpus: number;
  action: 'plug' | 'unplug' | 'none';
  added: { cpuIndex: number; tid: number; thread: string | null; id: string; props: Record<string, number> }[];
  /** What the guest OS must do for the new vCPUs to run. */
  guestSteps: string[];
}

const PROP_ORDER = ['node-id', 'drawer-id', 'book-id', 'socket-id', 'die-id', 'cluster-id', 'core-id', 'thread-id'];

function slotKey(p: Record<string, number>): number[] {
  return PROP_ORDER.map((k) => p[k] ?? -1);
}

function cmpSlots(a: HotpluggableCpu, b: HotpluggableCpu): number {
  const ka = slotKey(a.props);
  const kb = slotKey(b.props);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
  return 0;
}

function deviceId(props: Record<string, number>): string {
  return (
    'kvcpu-cpu' +
    PROP_ORDER.filter((k) => props[k] !== undefined)
      .map((k) => `-${k[0]}${props[k]}`)
      .join('')
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What the guest OS must do to run newly plugged vCPUs. */
function onlineSteps(cpuIndexes: number[]): string[] {
  return [
    ...cpuIndexes.map(
      (i) => `echo 1 > /sys/devices/system/cpu/cpu${i}/online   # inside the guest (cpu number as the guest enumerates it; usually the cpu-index)`,
    ),
    'or once, a udev rule: SUBSYSTEM=="cpu", ACTION=="add", TEST=="online", ATTR{online}=="0", ATTR{online}="1"',
    'some distributions ship such a rule already; check with `grep -r cpu /lib/udev/rules.d` in the guest',
  ];
}

/** The guest's vCPU threads by cpu-index, from their `CPU n/KVM|TCG` names. */
function vcpuThreads(root: string, pid: number): Map<number, { tid: number; comm: string }> {
  const out = new Map<number, { tid: number; comm: string }>();
  for (const t of readProcThreads(root, pid, false) ?? []) {
    const m = /^CPU (\d+)\//.exec(t.stat.comm);
    if (m) out.set(Number(m[1]), { tid: t.tid, comm: t.stat.comm });
  }
  return out;
}

/**
 * libvirt domains: `virsh setvcpus DOM N --live` (libvirt picks the slots and runs device_add /
 * device_del on its own monitor), then the same checks as the QMP path: a `CPU n/...` thread per
 * new vCPU, or a clear refusal when the guest cannot eject vCPUs.
 */
async function hotplugViaLibvirt(guest: GuestProcess, to: number, root: string): Promise<HotplugOutcome> {
  const counts = await virsh(['vcpucount', guest.name], 60_000).catch((e: unknown) => {
    throw new KvcpuError('E_HOTPLUG_NO_QMP', `virsh cannot reach libvirt domain ${guest.name}: ${errText(e)}`, {
      hint: 'check `virsh list` (kvcpu talks to libvirt through virsh)',
    });
  });
  const num = (label: string) => Number(new RegExp(`^${label}\\s+live\\s+(\\d+)`, 'm').exec(counts)?.[1] ?? NaN);
  const maxCpus = num('maximum');
  const from = num('current');
  const base = { guest: guest.name, pid: guest.pid, from, to, maxCpus };
  if (to < 1) throw new KvcpuError('E_BAD_INPUT', '--to must be at least 1');
  if (to > maxCpus) {
    throw new KvcpuError('E_HOTPLUG_MAX', `guest ${guest.name} can have at most ${maxCpus} vCPUs (libvirt <vcpu> maximum), asked for ${to}`, {
      hint: 'the maximum is fixed while the domain runs: raise <vcpu> in the domain XML (virsh setvcpus --maximum --config) and restart',
    });
  }
  if (to === from) return { ...base, action: 'none', added: [], guestSteps: [] };
  const known = new Set(vcpuThreads(root, guest.pid).keys());
  try {
    await virsh(['setvcpus', guest.name, String(to), '--live'], 60_000);
  } catch (e) {
    const why = errText(e);
    if (to > from)
      throw new KvcpuError('E_HOTPLUG_VERIFY', `virsh setvcpus ${guest.name} ${to} --live failed: ${why}`, { hint: 'check the domain with `virsh vcpucount`' });
    const pending = /timed out|timeout/i.test(why);
    throw new KvcpuError(pending ? 'E_HOTPLUG_UNPLUG_PENDING' : 'E_HOTPLUG_UNPLUG_UNSUPPORTED', `libvirt could not unplug vCPUs of ${guest.name}: ${why}`, {
      hint: 'vCPU unplug needs a guest OS that handles ACPI CPU eject; with no OS, or firmware only, it cannot work — restart the guest with fewer vCPUs instead',
      details: { libvirt: why },
    });
  }
  if (to < from) return { ...base, action: 'unplug', added: [], guestSteps: [] };
  let fresh: [number, { tid: number; comm: string }][] = [];
  for (let i = 0; i < 100; i++) {
    fresh = [...vcpuThreads(root, guest.pid)].filter(([n]) => !known.has(n));
    if (fresh.length >= to - from) break;
    await sleep(20);
  }
  if (fresh.length < to - from) {
    throw new KvcpuError('E_HOTPLUG_VERIFY', `libvirt reports ${to} vCPUs but only ${fresh.length} of ${to - from} new vCPU thread(s) appeared`, {
      hint: 'check `kvcpu ps`',
    });
  }
  const added = fresh.sort((a, b) => a[0] - b[0]).map(([n, t]) => ({ cpuIndex: n, tid: t.tid, thread: t.comm, id: `vcpu${n}`, props: {} }));
  return { ...base, action: 'plug', added, guestSteps: onlineSteps(added.map((a) => a.cpuIndex)) };
}

/**
 * Change a running guest's vCPU count through QMP. Plug: take free slots from
 * `query-hotpluggable-cpus` (entries without qom-path) in topology order and `device_add`
 * driver=<type> with exactly those props (QEMU 7.2 fills `-smp 1,maxcpus=4` as 1 socket x 4
 * cores, so guessing socket-id fails), then check that a `CPU n/...` thread appeared per new
 * cpu-index. Unplug: `device_del` of kvcpu/user-added CPUs; needs the guest to eject them via
 * ACPI, so without a cooperating guest OS QEMU refuses and kvcpu reports
 * E_HOTPLUG_UNPLUG_UNSUPPORTED.
 */
export async function hotplugVcpus(guest: GuestProcess, to: number, opts: { root?: string; timeoutMs?: number } = {}): Promise<HotplugOutcome> {
  const root = opts.root ?? '/';
  const sock = guest.config.qmpSockets[0];
  // libvirt owns its domains' monitor: go through libvirt (virsh setvcpus) instead of QMP.
  if (!sock && guest.libvirt) return hotplugViaLibvirt(guest, to, root);
  if (!sock) {
    throw new KvcpuError('E_HOTPLUG_NO_QMP', `guest ${guest.name} (pid ${guest.pid}) has no QMP unix socket on its command line`, {
      hint: guest.libvirt ? `use \`virsh setvcpus ${guest.name} ${to} --live\`` : 'start QEMU with -qmp unix:PATH,server=on,wait=off (kvcpu launch does)',
    });
  }
  let qmp: QmpClient;
  try {
    qmp = await QmpClient.connect(sock, { timeoutMs: opts.timeoutMs ?? 3000 });
  } catch (e) {
    // A stopped QEMU and a monitor held by another client look alike from the socket: tell them apart.
    throw explainMonitorFailure(guest, sock, e, 'E_HOTPLUG_NO_QMP', root);
  }
  try {
    const slots = await qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus');
    const cpus = await qmp.execute<CpuFast[]>('query-cpus-fast');
    const from = cpus.length;
    const maxCpus = slots.reduce((s, x) => s + x['vcpus-count'], 0);
    const base = { guest: guest.name, pid: guest.pid, from, to, maxCpus };
    if (to < 1) throw new KvcpuError('E_BAD_INPUT', '--to must be at least 1');
    if (to > maxCpus) {
      throw new KvcpuError('E_HOTPLUG_MAX', `guest ${guest.name} can have at most ${maxCpus} vCPUs (maxcpus), asked for ${to}`, {
        hint: 'maxcpus is fixed at start: relaunch with -smp N,maxcpus=M',
      });
    }
    if (to === from) return { ...base, action: 'none', added: [], guestSteps: [] };
    if (to > from) {
      const free = slots.filter((s) => !s['qom-path']).sort(cmpSlots);
      const want = to - from;
      const added: HotplugOutcome['added'] = [];
      const known = new Set(cpus.map((c) => c['cpu-index']));
      let plugged = 0;
      for (const slot of free) {
        if (plugged >= want) break;
        const id = deviceId(slot.props);
        await qmp.execute('device_add', { driver: slot.type, id, ...slot.props });
        plugged += slot['vcpus-count'];
        added.push({ cpuIndex: -1, tid: 0, thread: null, id, props: slot.props });
      }
      // Verify: every new cpu-index has a thread in /proc named after it.
      const after = await qmp.execute<CpuFast[]>('query-cpus-fast');
      const fresh = after.filter((c) => !known.has(c['cpu-index']));
      const out: HotplugOutcome['added'] = [];
      for (const c of fresh) {
        const devId = /\/machine\/peripheral\/(.+)$/.exec(c['qom-path'])?.[1] ?? '';
        let thread: string | null = null;
        for (let i = 0; i < 50 && thread === null; i++) {
          const t = readProcThreads(root, guest.pid, false)?.find((x) => x.tid === c['thread-id']);
          if (t) thread = t.stat.comm;
          else await sleep(20);
        }
        out.push({ cpuIndex: c['cpu-index'], tid: c['thread-id'], thread, id: devId, props: added.find((a) => a.id === devId)?.props ?? c.props ?? {} });
      }
      const missing = out.filter((o) => o.thread === null);
      if (missing.length) {
        throw new KvcpuError('E_HOTPLUG_VERIFY', `device_add succeeded but no thread appeared for cpu-index ${missing.map((m) => m.cpuIndex).join(',')}`, {
          hint: 'check `kvcpu ps`',
        });
      }
      return { ...base, action: 'plug', added: out.sort((a, b) => a.cpuIndex - b.cpuIndex), guestSteps: onlineSteps(out.map((o) => o.cpuIndex)) };
    }
    // Unplug: only CPUs added with device_add (under /machine/peripheral) can be removed.
    const removable = cpus.filter((c) => c['qom-path'].startsWith('/machine/peripheral/')).sort((a, b) => b['cpu-index'] - a['cpu-index']);
    const need = from - to;
    if (removable.length < need) {
      throw new KvcpuError(
        'E_HOTPLUG_UNPLUG_UNSUPPORTED',
        `guest ${guest.name}: only ${removable.length} of its ${from} vCPUs were hot-plugged; vCPUs present at boot cannot be removed`,
        {
          hint: `lowest reachable count is ${from - removable.length}; restart with a smaller -smp to go lower`,
        },
      );
    }
    for (const c of removable.slice(0, need)) {
      const id = /\/machine\/peripheral\/(.+)$/.exec(c['qom-path'])![1]!;
      try {
        await qmp.execute('device_del', { id });
      } catch (e) {
        const desc = String((e as { details?: { desc?: string } }).details?.desc ?? (e as Error).message);
        throw new KvcpuError('E_HOTPLUG_UNPLUG_UNSUPPORTED', `QEMU refused to unplug vCPU ${c['cpu-index']} of ${guest.name}: ${desc}`, {
          hint: 'vCPU unplug needs a guest OS that handles ACPI CPU eject (modern CPU hotplug interface); with no OS, or firmware only, it cannot work — restart the guest with fewer vCPUs instead',
          details: { qemu: desc },
        });
      }
      try {
        await qmp.waitForEvent('DEVICE_DELETED', 3000);
      } catch {
        throw new KvcpuError('E_HOTPLUG_UNPLUG_PENDING', `unplug of vCPU ${c['cpu-index']} was requested but the guest did not eject it within 3 s`, {
          hint: 'the guest OS must offline and eject the CPU; check inside the guest',
        });
      }
    }
    return { ...base, action: 'unplug', added: [], guestSteps: [] };
  } finally {
    qmp.close();
  }
}
