import { basename } from 'node:path';
import { parseSmp } from '../smp/parse-smp.ts';
import { DEFAULT_QEMU_VERSION, MODELLED_QEMU_VERSIONS, cmpVersion, parseQemuVersion } from '../smp/qemu-machines.ts';
import type { QemuConfig } from './types.ts';

/**
 * Split a QemuOpts string (`guest=vm1,debug-threads=on`) into key/value pairs. A first
 * element without `=` is the implied key's value (QEMU util/qemu-option.c: `-name vm1`
 * means guest=vm1); `,,` is an escaped comma.
 */
export function parseQemuOpts(text: string, impliedKey?: string): Map<string, string> {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === ',' && text[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (ch === ',') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const out = new Map<string, string>();
  parts.forEach((p, i) => {
    if (p === '') return;
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (i === 0 && impliedKey) out.set(impliedKey, p);
      else out.set(p, 'on'); // bare flag (`server`, `nowait` in old syntax)
    } else out.set(p.slice(0, eq), p.slice(eq + 1));
  });
  return out;
}

/** True when argv[0] (or the exe link) names a QEMU system emulator. */
export function isQemuBinary(path: string): boolean {
  const b = basename(path);
  return /^qemu-system-/.test(b) || b === 'qemu-kvm';
}

function onOff(v: string | undefined): boolean {
  return v === 'on' || v === 'yes' || v === 'true' || v === 'y';
}

/** -m: `16`, `16M`, `1G`, `size=1G,slots=2,maxmem=4G`; a bare number is MiB (qemu-options.hx). */
export function parseMemoryMiB(text: string): number | null {
  const size = parseQemuOpts(text, 'size').get('size');
  if (!size) return null;
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)[bB]?$/.exec(size);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const f = unit === 'K' ? 1 / 1024 : unit === 'G' ? 1024 : unit === 'T' ? 1024 * 1024 : 1;
  return Math.round(n * f);
}

/**
 * vCPU counts from -smp, following QEMU 7.2 hw/core/machine-smp.c: when cpus is omitted the
 * missing topology parts default to 1 and cpus = maxcpus = their product; maxcpus defaults
 * to the product of the given parts when all of them are known, else to cpus.
 */
export function parseSmpCounts(text: string | null): { cpus: number; maxCpus: number } {
  if (!text) return { cpus: 1, maxCpus: 1 };
  const o = parseQemuOpts(text, 'cpus');
  const num = (k: string): number | null => {
    const v = o.get(k);
    return v !== undefined && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : null;
  };
  const cpus = num('cpus');
  const maxcpus = num('maxcpus');
  const parts = ['sockets', 'dies', 'clusters', 'cores', 'threads'].map(num);
  const product = parts.reduce<number>((a, b) => a * (b ?? 1), 1);
  const anyTopo = parts.some((p) => p !== null);
  if (cpus === null) {
    const max = maxcpus ?? (anyTopo ? product : 1);
    return { cpus: max, maxCpus: max };
  }
  const allTopo = num('sockets') !== null && num('cores') !== null && num('threads') !== null;
  return { cpus, maxCpus: maxcpus ?? (allTopo ? product : cpus) };
}

/**
 * vCPU counts of a running guest's `-smp` options, by kvcpu's own model of QEMU's rules
 * (src/smp: keyval merge of repeated -smp options, machine_parse_smp_config for the guest's
 * machine type; QEMU's default machine is `pc`). The machine type's version is a lower bound of
 * the binary's version, so a `pc-q35-9.0` guest is modelled as QEMU 9.0. A spec the model
 * refuses (the process is running, so QEMU took it: a version kvcpu does not model) falls back
 * to the machine-independent reading of parseSmpCounts.
 */
export function smpCountsFor(specs: string[], machine: string | null): { cpus: number; maxCpus: number } {
  if (specs.length === 0) return { cpus: 1, maxCpus: 1 };
  const mv = machine ? /-(\d+\.\d+)(?:\.\d+)?$/.exec(machine)?.[1] : undefined;
  const lowest = parseQemuVersion(DEFAULT_QEMU_VERSION)!;
  const highest = parseQemuVersion(MODELLED_QEMU_VERSIONS.max)!;
  const fromMachine = mv ? parseQemuVersion(mv) : null;
  const version =
    fromMachine && cmpVersion(fromMachine, lowest) > 0 ? (cmpVersion(fromMachine, highest) > 0 ? MODELLED_QEMU_VERSIONS.max : mv!) : DEFAULT_QEMU_VERSION;
  const r = parseSmp(specs, { machine: machine ?? 'pc', qemuVersion: version });
  if (r.ok) return { cpus: r.topology.cpus, maxCpus: r.topology.maxcpus };
  return parseSmpCounts(specs[specs.length - 1]!);
}

// QEMU options that take an argument and are not interesting here: skipping their value keeps
// the parser from reading e.g. `-append "-name x"` as an option.
const TAKES_VALUE = new Set([
  'append',
  'initrd',
  'kernel',
  'bios',
  'drive',
  'device',
  'netdev',
  'serial',
  'monitor',
  'mon',
  'vnc',
  'display',
  'boot',
  'global',
  'uuid',
  'msg',
  'rtc',
  'sandbox',
  'numa',
  'L',
  'fw_cfg',
  'blockdev',
  'audiodev',
  'vga',
  'nic',
  'net',
  'parallel',
  'incoming',
  'loadvm',
  'D',
  'd',
  'trace',
  'runas',
  'chroot',
  'overcommit',
  'icount',
  'fsdev',
  'virtfs',
  'spice',
  'usbdevice',
  'k',
  'hda',
  'hdb',
  'hdc',
  'hdd',
  'cdrom',
  'pflash',
  'mem-path',
  'add-fd',
  'action',
  'compat',
  'accel',
  'machine',
  'M',
  'cpu',
  'smp',
  'name',
  'm',
  'qmp',
  'qmp-pretty',
  'chardev',
  'object',
  'pidfile',
  'dtb',
  'option-rom',
  'semihosting-config',
  'watchdog-action',
  'tpmdev',
]);

/** Parse a QEMU command line (argv including argv[0]) into what kvcpu needs. */
export function parseQemuCmdline(argv: string[]): QemuConfig {
  const cfg: QemuConfig = {
    name: null,
    debugThreads: false,
    smpCpus: 1,
    maxCpus: 1,
    smp: null,
    machine: null,
    cpuModel: null,
    accel: '',
    tcgThread: null,
    memoryMiB: null,
    qmpSockets: [],
    iothreads: [],
    pidfile: null,
    daemonize: false,
  };
  const chardevSockets = new Map<string, string>();
  const controlMonitors: string[] = [];
  let accels: string[] = [];
  const smpSpecs: string[] = [];
  let enableKvm = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) continue;
    const opt = a.replace(/^--?/, '');
    if (opt === 'enable-kvm') {
      enableKvm = true;
      continue;
    }
    if (opt === 'daemonize') {
      cfg.daemonize = true;
      continue;
    }
    if (!TAKES_VALUE.has(opt)) continue;
    const v = argv[i + 1];
    i++;
    if (v === undefined) break;
    switch (opt) {
      case 'name': {
        // QEMU merges repeated -name options (qemu_name_opts has merge_lists): later keys win,
        // earlier ones stay.
        const o = parseQemuOpts(v, 'guest');
        if (o.has('guest')) cfg.name = o.get('guest')!;
        if (o.has('debug-threads')) cfg.debugThreads = onOff(o.get('debug-threads'));
        break;
      }
      case 'smp':
        smpSpecs.push(v);
        break;
      case 'cpu':
        cfg.cpuModel = v.split(',')[0] ?? null;
        break;
      case 'm':
        cfg.memoryMiB = parseMemoryMiB(v);
        break;
      case 'accel': {
        const o = parseQemuOpts(v, 'accel');
        const acc = o.get('accel');
        if (acc) accels.push(acc);
        if (acc === 'tcg' && o.get('thread')) cfg.tcgThread = o.get('thread')!;
        break;
      }
      case 'machine':
      case 'M': {
        // Legacy `-machine accel=kvm:tcg` (first that works wins).
        const mo = parseQemuOpts(v, 'type');
        const acc = mo.get('accel');
        if (acc) accels = [...accels, ...acc.split(':')];
        if (mo.get('type')) cfg.machine = mo.get('type')!;
        break;
      }
      case 'qmp':
      case 'qmp-pretty': {
        const m = /^unix:([^,]+)/.exec(v);
        if (m) cfg.qmpSockets.push(m[1]!);
        break;
      }
      case 'chardev': {
        const o = parseQemuOpts(v, 'backend');
        const id = o.get('id');
        const path = o.get('path');
        if (o.get('backend') === 'socket' && id && path) chardevSockets.set(id, path);
        break;
      }
      case 'mon': {
        const o = parseQemuOpts(v, 'chardev');
        if (o.get('mode') === 'control' && o.get('chardev')) controlMonitors.push(o.get('chardev')!);
        break;
      }
      case 'object': {
        const o = parseQemuOpts(v, 'qom-type');
        if (o.get('qom-type') === 'iothread' && o.get('id')) cfg.iothreads.push(o.get('id')!);
        break;
      }
      case 'pidfile':
        cfg.pidfile = v;
        break;
    }
  }
  for (const id of controlMonitors) {
    const p = chardevSockets.get(id);
    if (p) cfg.qmpSockets.push(p);
  }
  // Repeated -smp options merge key by key (later wins), shown as given.
  cfg.smp = smpSpecs.length ? smpSpecs.join(' -smp ') : null;
  const counts = smpCountsFor(smpSpecs, cfg.machine);
  cfg.smpCpus = counts.cpus;
  cfg.maxCpus = counts.maxCpus;
  if (enableKvm) cfg.accel = 'kvm';
  else if (accels.length > 0) cfg.accel = accels[0]!;
  else {
    // QEMU 7.2 softmmu/vl.c configure_accelerators(): with no accelerator given, a binary whose
    // name ends in "kvm" tries kvm first, every other binary uses tcg.
    cfg.accel = argv[0] && /kvm$/.test(basename(argv[0])) ? 'kvm' : 'tcg';
  }
  return cfg;
}
