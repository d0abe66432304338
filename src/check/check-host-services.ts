/**
 * Host services a KVM guest needs besides /dev/kvm, the way `virt-host-validate qemu` checks
 * them (libvirt tools/virt-host-validate-qemu.c): /dev/vhost-net (WARN when missing: virtio-net
 * falls back to QEMU's userspace backend), /dev/net/tun (FAIL: no tap networking), the cgroup
 * controllers kvcpu and libvirt pin with (cpu for shares/quota, cpuset for pinning), for the
 * manager in use, and whether libvirtd answers. Pure verdicts over CheckFacts.
 */
import type { CheckId } from './check-ids.ts';
import type { Check, CheckFacts, DeviceNodeFacts } from './types.ts';

/** Misc device minors (Documentation/admin-guide/devices.txt, 10 char): tun 200, vhost-net 238. */
const MISC_MAJOR = 10;
const TUN_MINOR = 200;
const VHOST_NET_MINOR = 238;

function describe(d: DeviceNodeFacts): string {
  return d.exists
    ? `${d.path}: ${d.kind} ${d.major ?? '?'}:${d.minor ?? '?'} mode ${d.mode === null ? '?' : d.mode.toString(8).padStart(4, '0')}`
    : `${d.path}: No such file or directory`;
}

function deviceCheck(
  f: CheckFacts,
  o: {
    id: CheckId;
    node: DeviceNodeFacts | null | undefined;
    misc: string;
    minor: number;
    missing: 'WARN' | 'FAIL';
    why: string;
    module: string;
    mknod: string;
  },
): Check {
  const registered = f.miscDevices?.[o.misc];
  const miscEv = f.miscDevices ? [`/proc/misc: ${registered === undefined ? `no ${o.misc}` : `${registered} ${o.misc}`}`] : [];
  if (!f.live || !o.node) {
    // Under --root there is no /dev to stat; /proc/misc still says whether the driver registered the device.
    if (registered === undefined && f.miscDevices) {
      return {
        id: o.id,
        status: o.missing,
        summary: `the ${o.misc} device is not registered (module ${o.module} not loaded)`,
        evidence: miscEv,
        fix: `modprobe ${o.module} (${o.why})`,
      };
    }
    if (registered !== undefined)
      return {
        id: o.id,
        status: 'PASS',
        summary: `the ${o.misc} device is registered (misc minor ${registered}); /dev is not checked under --root`,
        evidence: miscEv,
        fix: null,
      };
    return { id: o.id, status: 'SKIP', summary: 'device nodes are only checked on the live host, and /proc/misc was not captured', evidence: [], fix: null };
  }
  const d = o.node;
  if (d.exists && d.kind === 'char' && d.major === MISC_MAJOR && d.minor === o.minor) {
    return { id: o.id, status: 'PASS', summary: `${d.path} exists (${MISC_MAJOR}:${o.minor})`, evidence: [describe(d), ...miscEv], fix: null };
  }
  if (d.exists) {
    return {
      id: o.id,
      status: 'FAIL',
      summary: `${d.path} is not the ${o.misc} character device ${MISC_MAJOR}:${o.minor}`,
      evidence: [describe(d), ...miscEv],
      fix: `rm ${d.path} && ${o.mknod}`,
    };
  }
  const fix = registered === undefined ? `modprobe ${o.module} (${o.why})` : `${o.mknod} (the driver is loaded but no device node was made)`;
  return { id: o.id, status: o.missing, summary: `${d.path} is missing`, evidence: [describe(d), ...miscEv], fix };
}

/** net.vhost: /dev/vhost-net (virt-host-validate: WARN "Load the 'vhost_net' module"). */
export function checkVhostNet(f: CheckFacts): Check {
  return deviceCheck(f, {
    id: 'net.vhost',
    node: f.vhostNetDevice,
    misc: 'vhost-net',
    minor: VHOST_NET_MINOR,
    missing: 'WARN',
    why: 'in-kernel virtio-net backend; without it QEMU moves every packet in userspace',
    module: 'vhost_net',
    mknod: `mknod /dev/vhost-net c ${MISC_MAJOR} ${VHOST_NET_MINOR} && chmod 0660 /dev/vhost-net`,
  });
}

/** net.tun: /dev/net/tun (virt-host-validate: FAIL when missing; tap networking needs it). */
export function checkTun(f: CheckFacts): Check {
  return deviceCheck(f, {
    id: 'net.tun',
    node: f.tunDevice,
    misc: 'tun',
    minor: TUN_MINOR,
    missing: 'FAIL',
    why: 'tap devices for guest NICs (-netdev tap, libvirt <interface type="network|bridge">)',
    module: 'tun',
    mknod: `mkdir -p /dev/net && mknod /dev/net/tun c ${MISC_MAJOR} ${TUN_MINOR} && chmod 0666 /dev/net/tun`,
  });
}

/** cgroup.cpu / cgroup.cpuset: the controller is mounted (v1) or enabled (v2) where the manager puts guests. */
export function checkCgroupController(f: CheckFacts, controller: 'cpu' | 'cpuset'): Check {
  const id: CheckId = `cgroup.${controller}`;
  const c = f.cgroups;
  if (!c) return { id, status: 'SKIP', summary: 'no proc/self/mountinfo under this root: cgroups not captured', evidence: [], fix: null };
  const use = controller === 'cpu' ? 'CPU shares and quota (vcpu_quota, <cputune><shares>)' : 'pinning (vcpupin/emulatorpin, kvcpu pin --cgroup)';
  const manager = c.manager === 'none' ? 'no VM manager' : c.manager;
  const ev: string[] = [];
  const v1 = c.v1[controller];
  if (v1) ev.push(`cgroup v1 ${controller} mounted at ${v1}`);
  if (c.v2Mount) ev.push(`cgroup2 at ${c.v2Mount}: controllers ${c.v2Controllers?.join(' ') || '(none)'}`);
  const part = c.partitions[controller];
  if (part)
    ev.push(
      `${manager} partition ${part.path}: ${part.exists ? 'present' : 'not created yet (made at the first guest start)'}${part.v2Controllers ? `, controllers ${part.v2Controllers.join(' ') || '(none)'}` : ''}`,
    );
  if (v1) {
    return { id, status: 'PASS', summary: `cgroup '${controller}' controller available (v1, ${manager})`, evidence: ev, fix: null };
  }
  if (c.v2Mount && c.v2Controllers?.includes(controller)) {
    if (part?.exists && part.v2Controllers && !part.v2Controllers.includes(controller)) {
      return {
        id,
        status: 'WARN',
        summary: `cgroup '${controller}' is available in cgroup2 but not enabled for ${manager}'s ${part.path}`,
        evidence: ev,
        fix: `echo +${controller} > ${part.parentSubtreeControl} (enable it for the guests' subtree; needed for ${use})`,
      };
    }
    return { id, status: 'PASS', summary: `cgroup '${controller}' controller available (cgroup2, ${manager})`, evidence: ev, fix: null };
  }
  return {
    id,
    status: 'FAIL',
    summary: `cgroup '${controller}' controller is not available`,
    evidence: ev.length ? ev : ['no cgroup v1 mount and no cgroup2 controller for it in proc/self/mountinfo'],
    fix: c.v2Mount
      ? `echo +${controller} > ${c.v2Mount}/cgroup.subtree_control (needed for ${use}; a kernel without CONFIG_CGROUP_${controller === 'cpu' ? 'SCHED' : 'CPUSETS'} needs rebuilding)`
      : `mkdir -p /sys/fs/cgroup/${controller} && mount -t cgroup -o ${controller} cgroup /sys/fs/cgroup/${controller} (needed for ${use})`,
  };
}

/** libvirt.reachable: libvirtd (or virtqemud) answers on its socket. */
export function checkLibvirtd(f: CheckFacts): Check {
  const id = 'libvirt.reachable';
  const l = f.libvirt;
  if (!f.live || !l) return { id, status: 'SKIP', summary: 'libvirtd is only checked on the live host', evidence: [], fix: null };
  const ev = l.sockets.map((s) => `${s.path}: ${!s.exists ? 'absent' : s.connects ? 'accepts connections' : `refuses (${s.error ?? 'no answer'})`}`);
  const up = l.sockets.find((s) => s.connects);
  if (up) return { id, status: 'PASS', summary: `libvirt answers on ${up.path} (qemu:///system)`, evidence: ev, fix: null };
  const stale = l.sockets.find((s) => s.exists);
  return {
    id,
    status: 'WARN',
    summary: stale
      ? `${stale.path} exists but nothing answers: libvirtd is not running`
      : 'libvirtd is not running (no socket): libvirt-managed guests cannot be started or pinned through libvirt',
    evidence: ev,
    fix: 'systemctl enable --now libvirtd (or virtqemud.socket); without systemd: virtlogd -d && libvirtd -d',
  };
}

export function checkHostServices(f: CheckFacts): Check[] {
  return [checkVhostNet(f), checkTun(f), checkCgroupController(f, 'cpu'), checkCgroupController(f, 'cpuset'), checkLibvirtd(f)];
}
