import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../../../test/support/run-cli.ts';

const work = mkdtempSync(path.join(tmpdir(), 'kvcpu-labels-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dc = path.join(work, 'dc.xml');
writeFileSync(
  dc,
  `<domainCapabilities><arch>x86_64</arch><cpu><mode name='host-model' supported='yes'><model fallback='forbid'>Penryn</model><vendor>Intel</vendor><feature policy='require' name='vmx'/></mode>
<mode name='custom' supported='yes'><model usable='yes'>Penryn</model><model usable='yes'>core2duo</model><model usable='no'>Nehalem</model></mode></cpu></domainCapabilities>`,
);
const sf = path.join(work, 'sf.xml');
writeFileSync(
  sf,
  "<cpu mode='custom' match='exact'><model>Penryn</model><feature policy='require' name='sse4.1'/><feature policy='disable' name='pni'/></cpu>",
);

describe('kvcpu labels (CLI forms)', () => {
  it('text: key=value lines; source and notes on stderr', async () => {
    const r = await runCli(['labels', '--domcapabilities', dc]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')).toContain('cpu-model.node.kubevirt.io/Penryn=true');
    expect(r.out).not.toContain('core2duo');
    expect(r.err).toMatch(/KubeVirt v1\.9\.0 node-labeller, source: files/);
    expect(r.err).toMatch(/no TSC counter/);
  });
  it("--yaml: metadata.labels; --supported-features replaces kvcpu's expansion", async () => {
    const r = await runCli(['labels', '--domcapabilities', dc, '--supported-features', sf, '--yaml']);
    expect(r.code, r.err).toBe(0);
    const doc = parseYaml(r.out) as { metadata: { labels: Record<string, string> } };
    expect(Object.keys(doc.metadata.labels).filter((k) => k.startsWith('cpu-feature.'))).toEqual(['cpu-feature.node.kubevirt.io/sse4.1']);
    expect(doc.metadata.labels['host-model-required-features.node.kubevirt.io/vmx']).toBe('true');
  });
  it('--obsolete-cpu-models replaces the default list', async () => {
    const r = await runCli(['labels', '--domcapabilities', dc, '--obsolete-cpu-models', 'Penryn', '--json']);
    const l = (JSON.parse(r.out) as { labels: Record<string, string> }).labels;
    expect(l['cpu-model.node.kubevirt.io/core2duo']).toBe('true');
    expect(l['cpu-model.node.kubevirt.io/Penryn']).toBeUndefined();
    expect(l['node-labeller.kubevirt.io/obsolete-host-model']).toBe('true');
  });
  it('apply-only options without `apply` are a usage error; a non-x86 domcapabilities is refused', async () => {
    const u = await runCli(['labels', '--domcapabilities', dc, '--kubeconfig', 'k', '--json']);
    expect(u.code).toBe(2);
    expect(JSON.parse(u.out)).toMatchObject({ error: { code: 'E_USAGE' } });
    const arm = path.join(work, 'arm.xml');
    writeFileSync(arm, '<domainCapabilities><arch>aarch64</arch><cpu/></domainCapabilities>');
    const a = await runCli(['labels', '--domcapabilities', arm, '--json']);
    expect(a.code).toBe(2);
    expect(JSON.parse(a.out)).toMatchObject({ error: { code: 'E_KUBEVIRT_ARCH' } });
  });
});
