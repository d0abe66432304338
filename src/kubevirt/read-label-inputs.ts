import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KvcpuError } from '../core/errors.ts';
import { baselineCpus } from '../cpu-baseline/baseline-cpus.ts';
import { emptyCpuDef } from '../cpu-baseline/cpu-def.ts';
import { readTextFile } from '../cpu-baseline/read-cpu-inputs.ts';
import { readHypervisorContext, readHypervisorHostCpu } from '../cpu-baseline/read-hypervisor-context.ts';
import type { X86Map } from '../cpu-baseline/x86-map.ts';
import { readHost } from '../host/read-host.ts';
import { hypervCapabilities, readKvmHyperv } from './hyperv-labels.ts';
import type { DomCapabilities, NodeLabelInput } from './node-labels.ts';
import { parseCapabilities, parseDomCapabilities, parseSupportedFeatures, type HostCapabilities } from './parse-libvirt-caps.ts';

const execFileP = promisify(execFile);

/** Where the labeller's inputs came from. */
export type LabelSource = 'files' | 'libvirt' | 'proc';

export interface LabelInputs extends NodeLabelInput {
  source: LabelSource;
  /** One line per input: what was read or computed. */
  provenance: string[];
}

export interface ReadLabelInputsOptions {
  domcapabilities?: string;
  capabilities?: string;
  /** supported_features.xml (`virsh hypervisor-cpu-baseline --features` of the domcapabilities). */
  supportedFeatures?: string;
  root?: string;
  /** Ask libvirtd when no domcapabilities file is given (default true for root '/'). */
  libvirt?: boolean;
  virshUri?: string;
}

/**
 * The host-model CPU expanded as `virsh hypervisor-cpu-baseline --features` prints it (what
 * node-labeller.sh stores as supported_features.xml): the model's features plus the required
 * ones, the disabled ones listed as disable. kvcpu's baseline of that single CPU with
 * expandFeatures is the same computation (libvirt virCPUx86Baseline + virCPUx86ExpandFeatures);
 * the e2e test compares the two on this machine's libvirt.
 */
export function expandHostModel(x: X86Map, dc: DomCapabilities): { name: string; policy: string }[] | null {
  const hm = dc.hostModel;
  const model = hm?.models[0]?.name;
  if (!hm || !model) return null;
  if (!x.modelByName.has(model)) return null;
  const def = emptyCpuDef('host-model', 'libvirt-xml', 'guest');
  def.mode = 'custom';
  def.match = 'exact';
  def.model = model;
  def.vendor = hm.vendor;
  def.features = hm.features
    .filter((f) => x.featureIndex.has(f.name) && (f.policy === 'require' || f.policy === 'disable'))
    .map((f) => ({ name: f.name, policy: f.policy as 'require' | 'disable' }));
  const r = baselineCpus(x, [def], { expandFeatures: true }).cpu;
  return [...r.require.map((name) => ({ name, policy: 'require' })), ...r.disable.map((name) => ({ name, policy: 'disable' }))].sort((a, b) =>
    a.name < b.name ? -1 : 1,
  );
}

const hypervOf = (a: ReturnType<typeof readKvmHyperv>) => (a ? hypervCapabilities(a) : null);

/** `kernel.sched_rt_runtime_us` (what KubeVirt's isNodeRealtimeCapable asks sysctl). */
export function readRealtime(root: string): boolean | null {
  const p = join(root, 'proc/sys/kernel/sched_rt_runtime_us');
  if (!existsSync(p)) return null;
  return readFileSync(p, 'utf8').trim() === '-1';
}

async function virsh(args: string[], uri?: string): Promise<string> {
  return (await execFileP('virsh', [...(uri ? ['-c', uri] : []), ...args], { timeout: 60_000, maxBuffer: 16 << 20 })).stdout;
}

/**
 * node-labeller.sh's three virsh calls (cmd/virt-launcher/node-labeller/node-labeller.sh, v1.9.0):
 * domcapabilities for q35/x86_64 with virttype kvm when /dev/kvm exists (else qemu), the
 * hypervisor-cpu-baseline --features of that, and capabilities. null when libvirtd does not answer.
 */
export async function readLibvirtLabelXml(uri?: string): Promise<{ domcaps: string; supported: string; caps: string; virttype: string } | null> {
  const virttype = existsSync('/dev/kvm') ? 'kvm' : 'qemu';
  const base = ['--machine', 'q35', '--arch', 'x86_64', '--virttype', virttype];
  let domcaps: string;
  try {
    domcaps = await virsh(['domcapabilities', ...base], uri);
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-labels-'));
  try {
    const f = join(dir, 'domcapabilities.xml');
    writeFileSync(f, domcaps);
    const supported = await virsh(['hypervisor-cpu-baseline', '--features', f, ...base], uri);
    const caps = await virsh(['capabilities'], uri);
    return { domcaps, supported, caps, virttype };
  } catch (e) {
    throw new KvcpuError(
      'E_KUBEVIRT_LIBVIRT',
      `virsh answered domcapabilities but not hypervisor-cpu-baseline/capabilities: ${(e as Error).message.split('\n')[0]}`,
      {
        hint: 'check libvirtd (`virsh capabilities`), or give --domcapabilities/--capabilities files',
        cause: e,
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The domcapabilities libvirt would report, built from kvcpu's own QEMU catalog when libvirt is
 * not there: the host-model is `hypervisor-cpu-baseline` of the CPU KVM gives (QEMU's `host`
 * expansion, estimated from cpuinfo for a capture tree), the custom models are libvirt's cpu_map
 * models QEMU knows, usable when QEMU reports no unavailable feature for them under KVM.
 */
export async function synthesizeDomCapabilities(x: X86Map, root: string): Promise<{ dc: DomCapabilities; notes: string[] }> {
  const ctx = await readHypervisorContext('kvm', root);
  const hostCpu = await readHypervisorHostCpu(x, 'kvm', root);
  const hm = baselineCpus(x, [hostCpu], { hypervisor: ctx }).cpu;
  const models = x.models
    .map((m) => m.def.name)
    .filter((n) => ctx.models.has(n))
    .map((name) => ({ name, usable: ctx.models.get(name)!.length === 0 ? 'yes' : 'no', fallback: null }));
  const dc: DomCapabilities = {
    arch: 'x86_64',
    hostModel: {
      models: [{ name: hm.model, usable: '', fallback: 'forbid' }],
      vendor: hm.vendor,
      features: [...hm.require.map((name) => ({ name, policy: 'require' })), ...hm.disable.map((name) => ({ name, policy: 'disable' }))],
    },
    models,
    sev: null,
    launchSecurityTypes: [],
    tdx: false,
    s390pv: false,
  };
  return { dc, notes: [`domcapabilities computed by kvcpu from ${ctx.source}`, ...ctx.notes] };
}

/**
 * The labeller's inputs: files when given; else this host's libvirt (the same virsh calls as
 * node-labeller.sh) when libvirtd answers; else /proc with kvcpu's catalog. Only x86_64 hosts:
 * KubeVirt's arm64/s390x labellers follow other rules (no named models / other policies).
 */
export async function readLabelInputs(x: X86Map, opts: ReadLabelInputsOptions): Promise<LabelInputs> {
  const root = opts.root ?? '/';
  const provenance: string[] = [];
  let dc: DomCapabilities;
  let supported: { name: string; policy: string }[] | null = null;
  let caps: HostCapabilities | null = null;
  let source: LabelSource;
  if (opts.capabilities) caps = parseCapabilities(readTextFile(opts.capabilities), opts.capabilities);
  if (opts.domcapabilities) {
    source = 'files';
    dc = parseDomCapabilities(readTextFile(opts.domcapabilities), opts.domcapabilities);
    provenance.push(`domcapabilities: ${opts.domcapabilities}`);
  } else {
    const live = root === '/' && opts.libvirt !== false ? await readLibvirtLabelXml(opts.virshUri) : null;
    if (live) {
      source = 'libvirt';
      dc = parseDomCapabilities(live.domcaps, 'virsh domcapabilities');
      if (!opts.supportedFeatures) {
        supported = parseSupportedFeatures(live.supported, 'virsh hypervisor-cpu-baseline --features');
        provenance.push('supported features: virsh hypervisor-cpu-baseline --features (libvirt)');
      }
      if (!caps) {
        caps = parseCapabilities(live.caps, 'virsh capabilities');
        provenance.push('capabilities: virsh capabilities (libvirt)');
      }
      provenance.unshift(`domcapabilities: virsh domcapabilities --machine q35 --arch x86_64 --virttype ${live.virttype} (libvirt)`);
    } else {
      source = 'proc';
      const arch = readHost(root === '/' ? {} : { root }).arch;
      if (arch !== 'x86_64')
        throw new KvcpuError('E_KUBEVIRT_ARCH', `the host at ${root} is ${arch}: kvcpu computes KubeVirt's amd64 labeller only`, {
          hint: 'give --domcapabilities of an x86_64 host',
        });
      const s = await synthesizeDomCapabilities(x, root);
      dc = s.dc;
      provenance.push(`domcapabilities: computed from ${join(root, 'proc')} (${s.notes.join('; ')})`);
    }
  }
  if (dc.arch && dc.arch !== 'x86_64')
    throw new KvcpuError('E_KUBEVIRT_ARCH', `domcapabilities are for ${dc.arch}: kvcpu computes KubeVirt's amd64 labeller only`, {
      hint: 'give `virsh domcapabilities --arch x86_64`',
    });
  if (opts.supportedFeatures) {
    supported = parseSupportedFeatures(readTextFile(opts.supportedFeatures), opts.supportedFeatures);
    provenance.push(`supported features: ${opts.supportedFeatures}`);
  } else if (!supported) {
    supported = expandHostModel(x, dc);
    provenance.push(
      supported
        ? "supported features: kvcpu's expansion of the host-model CPU (= virsh hypervisor-cpu-baseline --features)"
        : 'supported features: none (host-model model unknown to libvirt 9.0 cpu_map)',
    );
  }
  if (opts.capabilities) provenance.push(`capabilities: ${opts.capabilities}`);
  return {
    source,
    provenance,
    domCapabilities: dc,
    supportedFeatures: supported,
    counter: caps?.counter ?? null,
    machines: caps?.machines ?? [],
    // The live host's /dev/kvm (virt-handler's getCapLabels); not for files or capture trees.
    hyperv: source !== 'files' && root === '/' ? hypervOf(readKvmHyperv()) : null,
    realtime: source === 'files' ? null : readRealtime(root),
  };
}
