import { describe, expect, it } from 'vitest';
import { isQemuBinary, parseMemoryMiB, parseQemuCmdline, parseQemuOpts, parseSmpCounts } from './parse-qemu-cmdline.ts';

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

describe('parseQemuCmdline', () => {
  it('parses the kvcpu launch command line', () => {
    const c = parseQemuCmdline([
      '/usr/bin/qemu-system-x86_64', '-name', 'guest=vm1,debug-threads=on', '-accel', 'tcg,thread=single', '-cpu', 'EPYC,+topoext',
      '-smp', '3', '-m', '1G', '-append', '-name guest=evil', '-qmp', 'unix:/tmp/q.sock,server=on,wait=off',
      '-chardev', 'socket,id=mon1,path=/tmp/m.sock,server=on,wait=off', '-mon', 'chardev=mon1,mode=control',
      '-object', 'iothread,id=iot0', '-daemonize', '-pidfile', '/tmp/p',
    ]);
    expect(c).toMatchObject({
      name: 'vm1', debugThreads: true, accel: 'tcg', tcgThread: 'single', cpuModel: 'EPYC', smpCpus: 3, maxCpus: 3,
      memoryMiB: 1024, qmpSockets: ['/tmp/q.sock', '/tmp/m.sock'], iothreads: ['iot0'], daemonize: true, pidfile: '/tmp/p',
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
    expect(parseQemuCmdline(['qemu-system-x86_64', '-name', 'guest=vm,debug-threads=on', '-name', 'debug-threads=off'])).toMatchObject({ name: 'vm', debugThreads: false });
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
