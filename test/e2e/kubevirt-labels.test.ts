// kvcpu labels --format kubevirt against this machine's libvirtd: the test runs node-labeller.sh's
// three virsh calls itself (KubeVirt v1.9.0 cmd/virt-launcher/node-labeller/node-labeller.sh) and
// derives the labels straight from libvirt's XML with KubeVirt's rules; kvcpu must give the same
// labels both when it asks libvirt itself and when it is given the files (then the cpu-feature
// labels come from kvcpu's own expansion of the host-model, which must equal libvirt's
// `hypervisor-cpu-baseline --features`).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hypervCapabilities, readKvmHyperv, type KvmHypervAnswers } from '../../src/kubevirt/hyperv-labels.ts';
import { KUBEVIRT_OBSOLETE_MODELS } from '../support/kubevirt-obsolete.ts';
import { runCli } from '../support/run-cli.ts';

const URI = 'qemu:///system';
const virsh = (args: string[]) => spawnSync('virsh', ['-c', URI, ...args], { encoding: 'utf8', timeout: 60_000 });
const base = ['--machine', 'q35', '--arch', 'x86_64', '--virttype', existsSync('/dev/kvm') ? 'kvm' : 'qemu'];
const work = mkdtempSync(path.join(tmpdir(), 'kvcpu-kv-labels-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const OBSOLETE = KUBEVIRT_OBSOLETE_MODELS;

/** The labels of KubeVirt's rules, read off libvirt's XML with regular expressions (no kvcpu code). */
function expectedLabels(domcaps: string, supported: string, caps: string): Record<string, string> {
  const l: Record<string, string> = {};
  const hm = /<mode name='host-model' supported='yes'>([\s\S]*?)<\/mode>/.exec(domcaps)![1]!;
  const model = /<model[^>]*>([^<]+)<\/model>/.exec(hm)![1]!;
  l[`host-model-cpu.node.kubevirt.io/${model}`] = 'true';
  l[`cpu-vendor.node.kubevirt.io/${/<vendor>([^<]*)<\/vendor>/.exec(hm)?.[1] ?? ''}`] = 'true';
  if (OBSOLETE.has(model)) l['node-labeller.kubevirt.io/obsolete-host-model'] = 'true';
  for (const m of hm.matchAll(/<feature policy='require' name='([^']+)'\/>/g)) l[`host-model-required-features.node.kubevirt.io/${m[1]}`] = 'true';
  for (const m of domcaps.matchAll(/<model usable='(\w+)'[^>]*>([^<]+)<\/model>/g)) {
    if (OBSOLETE.has(m[2]!)) continue;
    l[`cpu-model-migration.node.kubevirt.io/${m[2]}`] = 'true';
    if (m[1] !== 'no') l[`cpu-model.node.kubevirt.io/${m[2]}`] = 'true';
  }
  for (const m of supported.matchAll(/<feature policy='require' name='([^']+)'\/>/g)) l[`cpu-feature.node.kubevirt.io/${m[1]}`] = 'true';
  const counter = /<counter name='tsc' frequency='(\d+)' scaling='(\w+)'\/>/.exec(caps);
  if (counter) {
    l['cpu-timer.node.kubevirt.io/tsc-frequency'] = counter[1]!;
    l['cpu-timer.node.kubevirt.io/tsc-scalable'] = String(counter[2] === 'yes');
    l[`scheduling.node.kubevirt.io/tsc-frequency-${counter[1]}`] = 'true';
  }
  for (const m of caps.matchAll(/<machine[^>]*>([^<]+)<\/machine>/g)) l[`machine-type.node.kubevirt.io/${m[1]}`] = 'true';
  if (/<sev supported='yes'>/.test(domcaps)) l['kubevirt.io/sev'] = 'true';
  return l;
}

describe("kvcpu labels vs this host's libvirt", () => {
  it('gives the labels KubeVirt derives from virsh domcapabilities / hypervisor-cpu-baseline / capabilities', async (ctx) => {
    const dc = virsh(['domcapabilities', ...base]);
    if (dc.status !== 0) ctx.skip(`libvirtd does not answer ${URI}: ${dc.stderr.trim()}`);
    const dcFile = path.join(work, 'virsh_domcapabilities.xml');
    writeFileSync(dcFile, dc.stdout);
    const supported = execFileSync('virsh', ['-c', URI, 'hypervisor-cpu-baseline', '--features', dcFile, ...base], { encoding: 'utf8' });
    const caps = execFileSync('virsh', ['-c', URI, 'capabilities'], { encoding: 'utf8' });
    const capsFile = path.join(work, 'capabilities.xml');
    writeFileSync(capsFile, caps);
    const expected = expectedLabels(dc.stdout, supported, caps);
    const realtime = execFileSync('sysctl', ['-n', 'kernel.sched_rt_runtime_us'], { encoding: 'utf8' }).trim() === '-1';
    if (realtime) expected['kubevirt.io/realtime'] = 'true';

    // Live: kvcpu runs the same virsh calls.
    const live = await runCli(['labels', '--format', 'kubevirt', '--json']);
    expect(live.code, live.err).toBe(0);
    const lj = JSON.parse(live.out) as { labels: Record<string, string>; source: string; kubevirt: string };
    expect(lj.source).toBe('libvirt');
    expect(lj.kubevirt).toBe('v1.9.0');
    // hyperv.node.kubevirt.io/* come from /dev/kvm, not libvirt: checked in the next test.
    const withoutHyperv = (l: Record<string, string>) => Object.fromEntries(Object.entries(l).filter(([k]) => !k.startsWith('hyperv.node.kubevirt.io/')));
    expect(withoutHyperv(lj.labels)).toEqual(expected);

    // Files: the cpu-feature labels are kvcpu's expansion of the host-model (no supported_features.xml).
    const files = await runCli(['labels', '--domcapabilities', dcFile, '--capabilities', capsFile, '--json']);
    expect(files.code, files.err).toBe(0);
    const fj = JSON.parse(files.out) as { labels: Record<string, string>; source: string };
    expect(fj.source).toBe('files');
    const { 'kubevirt.io/realtime': _rt, ...noRealtime } = expected;
    expect(fj.labels).toEqual(noRealtime);
    const featureLabels = Object.keys(expected).filter((k) => k.startsWith('cpu-feature.'));
    expect(featureLabels.length).toBeGreaterThan(20);
  });

  it("asks /dev/kvm what virt-handler asks (Python's ioctl as the oracle)", async (ctx) => {
    if (!existsSync('/dev/kvm')) ctx.skip('no /dev/kvm');
    const mine = readKvmHyperv();
    if (!mine) ctx.skip('native addon not built or /dev/kvm does not open');
    // KVM_CHECK_EXTENSION = _IO(0xAE, 3); KVM_GET_MSR_INDEX_LIST = _IOWR(0xAE, 2, __u32 nmsrs).
    const py = `
import fcntl, os, json, struct, errno
fd = os.open('/dev/kvm', os.O_RDWR)
caps = {'hyperv': 44, 'hypervTime': 96, 'hypervSynic': 123, 'hypervSynic2': 148, 'hypervVpIndex': 149, 'hypervTlbflush': 155, 'hypervSendIpi': 161}
ext = {k: fcntl.ioctl(fd, 0xAE03, v) for k, v in caps.items()}
buf = bytearray(struct.pack('I', 0))
try:
    fcntl.ioctl(fd, 0xC004AE02, buf)
except OSError as e:
    assert e.errno == errno.E2BIG
n = struct.unpack('I', buf[:4])[0]
buf = bytearray(struct.pack('I', n) + bytes(4 * n))
fcntl.ioctl(fd, 0xC004AE02, buf)
print(json.dumps({'extensions': ext, 'msrs': list(struct.unpack('%dI' % n, buf[4:4 + 4 * n]))}))
`;
    const oracle = JSON.parse(execFileSync('python3', ['-c', py], { encoding: 'utf8' })) as { extensions: Record<string, number>; msrs: number[] };
    expect(mine!.extensions).toEqual(oracle.extensions);
    expect(mine!.msrs).toEqual(oracle.msrs);
    expect(mine!.msrs.length).toBeGreaterThan(0);
    const live = await runCli(['labels', '--json']);
    const hv = Object.keys((JSON.parse(live.out) as { labels: Record<string, string> }).labels)
      .filter((k) => k.startsWith('hyperv.node.kubevirt.io/'))
      .map((k) => k.slice(24));
    expect(hv).toEqual(
      hypervCapabilities(oracle as KvmHypervAnswers)
        .slice()
        .sort(),
    );
  });
});
