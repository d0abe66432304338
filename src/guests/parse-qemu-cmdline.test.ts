import { describe, expect, it } from 'vitest';
import { isQemuBinary, parseMemoryMiB, parseQemuCmdline, parseQemuOpts, parseSmpCounts, smpCountsFor } from './parse-qemu-cmdline.ts';

describe('parseQemuOpts', () => {
  it('reads the implied key, flags and escaped commas', () => {
    const o = parseQemuOpts('vm,,1,debug-threads=on,server', 'guest');
    expect(o.get('guest')).toBe('vm,1');
    expect(o.get('debug-threads')).toBe('on');
    expect(o.get('server')).toBe('on');
  });
});

describe('parseSmpCounts (QEMU 7.2 machine-smp.c)', () => {
  it.each([
    [null, 1, 1],
    ['4', 4, 4],
    ['1,maxcpus=4', 1, 4],
    ['sockets=2,cores=2', 4, 4],
    ['cores=3', 3, 3],
    ['4,sockets=1,cores=2,threads=2', 4, 4],
    ['2,sockets=4,cores=1,threads=1,maxcpus=4', 2, 4],
    ['cpus=2,sockets=2,cores=2,threads=1', 2, 4],
  ])('%s -> %i cpus, max %i', (text, cpus, max) => {
    expect(parseSmpCounts(text)).toEqual({ cpus, maxCpus: max });
  });
});

describe("smpCountsFor: kvcpu's -smp model for the guest's machine type", () => {
  it.each([
    // Repeated -smp options merge key by key (the last one alone would say 3 of 3).
    [['1', 'maxcpus=3'], null, 1, 3],
    // modules exist from QEMU 9.1 on x86: a pc-q35-9.1 guest is modelled as 9.1.
    [['modules=2,cores=2'], 'pc-q35-9.1', 4, 4],
    // books and drawers on s390x from 8.2.
    [['drawers=2,books=2,sockets=1'], 's390-ccw-virtio-8.2', 4, 4],
    [['2,sockets=1,cores=4,threads=1'], 'pc-i440fx-7.2', 2, 4],
    [[], null, 1, 1],
  ])('%j on %s -> %i of max %i', (specs, machine, cpus, max) => {
    expect(smpCountsFor(specs, machine)).toEqual({ cpus, maxCpus: max });
  });
  it('reads the machine type and every -smp from the command line', () => {
    const c = parseQemuCmdline(['qemu-system-x86_64', '-machine', 'pc-q35-9.1,usb=off', '-smp', '1', '-smp', 'maxcpus=4,modules=2,cores=2']);
    expect(c).toMatchObject({ machine: 'pc-q35-9.1', smp: '1 -smp maxcpus=4,modules=2,cores=2', smpCpus: 1, maxCpus: 4 });
  });
});

describe('parseQemuCmdline', () => {
  it('parses the kvcpu launch command line', () => {
    const c = parseQemuCmdline([
      '/usr/bin/qemu-system-x86_64',
      '-name',
      'guest=vm1,debug-threads=on',
      '-accel',
      'tcg,thread=single',
      '-cpu',
      'EPYC,+topoext',
      '-smp',
      '3',
      '-m',
      '1G',
      '-append',
      '-name guest=evil',
      '-qmp',
      'unix:/tmp/q.sock,server=on,wait=off',
      '-chardev',
      'socket,id=mon1,path=/tmp/m.sock,server=on,wait=off',
      '-mon',
      'chardev=mon1,mode=control',
      '-object',
      'iothread,id=iot0',
      '-daemonize',
      '-pidfile',
      '/tmp/p',
    ]);
    expect(c).toMatchObject({
      name: 'vm1',
      debugThreads: true,
      accel: 'tcg',
      tcgThread: 'single',
      cpuModel: 'EPYC',
      smpCpus: 3,
      maxCpus: 3,
      memoryMiB: 1024,
      qmpSockets: ['/tmp/q.sock', '/tmp/m.sock'],
      iothreads: ['iot0'],
      daemonize: true,
      pidfile: '/tmp/p',
    });
  });
  it('knows -enable-kvm, -machine accel= and the default accelerator', () => {
    expect(parseQemuCmdline(['qemu-system-x86_64', '-enable-kvm']).accel).toBe('kvm');
    expect(parseQemuCmdline(['qemu-system-x86_64', '-machine', 'q35,accel=kvm:tcg']).accel).toBe('kvm');
    expect(parseQemuCmdline(['qemu-system-x86_64', '-name', 'plain']).accel).toBe('tcg');
    expect(parseQemuCmdline(['/usr/libexec/qemu-kvm']).accel).toBe('kvm');
    expect(parseQemuCmdline(['qemu-system-x86_64', '-name', 'plain']).name).toBe('plain');
  });
  it('merges repeated -name options like QEMU', () => {
    expect(parseQemuCmdline(['qemu-system-x86_64', '-name', 'guest=vm,debug-threads=on', '-name', 'debug-threads=off'])).toMatchObject({
      name: 'vm',
      debugThreads: false,
    });
  });
  it('recognises QEMU binaries', () => {
    expect(isQemuBinary('/usr/bin/qemu-system-x86_64')).toBe(true);
    expect(isQemuBinary('qemu-kvm')).toBe(true);
    expect(isQemuBinary('/usr/bin/qemu-img')).toBe(false);
  });
  it('reads -m sizes', () => {
    expect(parseMemoryMiB('16')).toBe(16);
    expect(parseMemoryMiB('size=2G,slots=2,maxmem=8G')).toBe(2048);
    expect(parseMemoryMiB('512M')).toBe(512);
  });
});
