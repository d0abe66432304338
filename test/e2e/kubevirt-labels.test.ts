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
import { runCli } from '../support/run-cli.ts';

const URI = 'qemu:///system';
const virsh = (args: string[]) => spawnSync('virsh', ['-c', URI, ...args], { encoding: 'utf8', timeout: 60_000 });
const base = ['--machine', 'q35', '--arch', 'x86_64', '--virttype', existsSync('/dev/kvm') ? 'kvm' : 'qemu'];
const work = mkdtempSync(path.join(tmpdir(), 'kvcpu-kv-labels-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const OBSOLETE = new Set(['486', 'pentium', 'pentium2', 'pentium3', 'pentiumpro', 'coreduo', 'n270', 'core2duo', 'Conroe', 'athlon', 'phenom', 'qemu64', 'qemu32', 'kvm64', 'kvm32', 'Opteron_G1', 'Opteron_G2'].flatMap((m) => [m, `${m}-v1`]));

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
    expect(lj.labels).toEqual(expected);

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
});
