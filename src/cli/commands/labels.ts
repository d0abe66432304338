import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { loadCpuMap } from '../../cpu-baseline/read-cpu-map.ts';
import { indexCpuMap } from '../../cpu-baseline/x86-map.ts';
import { KUBEVIRT_RELEASE } from '../../kubevirt/kubevirt-release.ts';
import { kubevirtNodeLabels } from '../../kubevirt/node-labels.ts';
import { readLabelInputs, type LabelInputs } from '../../kubevirt/read-label-inputs.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { writeJson, type CliContext } from '../output.ts';

interface LabelOpts {
  format: 'kubevirt';
  domcapabilities?: string;
  capabilities?: string;
  supportedFeatures?: string;
  root: string;
  obsoleteCpuModels?: string;
  libvirt: boolean;
  json?: boolean;
  yaml?: boolean;
}

function addInputOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--format <format>', 'label vocabulary').choices(['kubevirt']).default('kubevirt'))
    .option('--domcapabilities <file>', '`virsh domcapabilities` XML (host-model CPU, custom models with usable=)')
    .option('--capabilities <file>', '`virsh capabilities` XML (TSC counter, machine types)')
    .option('--supported-features <file>', '`virsh hypervisor-cpu-baseline --features` of the domcapabilities (default: kvcpu computes it)')
    .option('--root <dir>', 'the host at DIR (a `kvcpu capture` tree) instead of this one; implies no libvirt', '/')
    .option('--no-libvirt', 'do not ask libvirtd; compute from /proc with kvcpu\'s QEMU catalog')
    .option('--obsolete-cpu-models <models>', "the KubeVirt CR's obsoleteCPUModels, comma-separated (default: KubeVirt's list)");
}

export async function computeLabels(opts: LabelOpts): Promise<{ inputs: LabelInputs; labels: Record<string, string>; notes: string[]; hostModel: string | null }> {
  const x = indexCpuMap(loadCpuMap({ source: 'auto' }));
  const inputs = await readLabelInputs(x, {
    ...(opts.domcapabilities ? { domcapabilities: opts.domcapabilities } : {}),
    ...(opts.capabilities ? { capabilities: opts.capabilities } : {}),
    ...(opts.supportedFeatures ? { supportedFeatures: opts.supportedFeatures } : {}),
    root: opts.root,
    libvirt: opts.libvirt,
  });
  const obsolete = opts.obsoleteCpuModels?.split(',').map((s) => s.trim()).filter(Boolean);
  const r = kubevirtNodeLabels({ ...inputs, ...(obsolete ? { obsoleteModels: obsolete } : {}) });
  return { inputs, ...r };
}

/** `kvcpu labels --format kubevirt`: the node labels KubeVirt's virt-handler would set here. */
export const registerLabels: RegisterCommand = (program, ctx: CliContext) => {
  const labels = addInputOptions(
    program
      .command('labels')
      .description(`the node labels KubeVirt's virt-handler node-labeller (${KUBEVIRT_RELEASE}) would set on this host, from the inputs it reads`),
  )
    .option('--json', 'JSON: {"labels":{key:value}, "source", "kubevirt", "inputs", "notes"}')
    .option('--yaml', 'YAML: metadata.labels of the node')
    .action(
      act(ctx, async (opts: LabelOpts) => {
        const r = await computeLabels(opts);
        if (opts.json) writeJson(ctx.io, { labels: r.labels, source: r.inputs.source, kubevirt: KUBEVIRT_RELEASE, inputs: r.inputs.provenance, notes: r.notes });
        else if (opts.yaml) ctx.io.out(stringify({ metadata: { labels: r.labels } }));
        else ctx.io.out(Object.entries(r.labels).map(([k, v]) => `${k}=${v}\n`).join(''));
        if (!opts.json) {
          ctx.io.err(`# KubeVirt ${KUBEVIRT_RELEASE} node-labeller, source: ${r.inputs.source}; ${Object.keys(r.labels).length} label(s)\n`);
          for (const p of r.inputs.provenance) ctx.io.err(`# input: ${p}\n`);
          for (const n of r.notes) ctx.io.err(`# note: ${n}\n`);
        }
        return 0;
      }),
    );
  void labels;
};
