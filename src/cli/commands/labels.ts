import { existsSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { Argument, Option, type Command } from 'commander';
import { KvcpuError } from '../../core/errors.ts';
import { applyNodeLabels } from '../../kubevirt/apply-node-labels.ts';
import { inClusterTarget, loadKubeconfig, type KubeTarget } from '../../kubevirt/kube-client.ts';
import { stringify } from 'yaml';
import { loadCpuMap } from '../../cpu-baseline/read-cpu-map.ts';
import { indexCpuMap } from '../../cpu-baseline/x86-map.ts';
import { KUBEVIRT_RELEASE } from '../../kubevirt/kubevirt-release.ts';
import { kubevirtNodeLabels } from '../../kubevirt/node-labels.ts';
import { readLabelInputs, type LabelInputs } from '../../kubevirt/read-label-inputs.ts';
import { act, parsePositiveInt, type RegisterCommand } from '../command-kit.ts';
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
    .option('--no-libvirt', "do not ask libvirtd; compute from /proc with kvcpu's QEMU catalog")
    .option('--obsolete-cpu-models <models>', "the KubeVirt CR's obsoleteCPUModels, comma-separated (default: KubeVirt's list)");
}

export async function computeLabels(
  opts: LabelOpts,
): Promise<{ inputs: LabelInputs; labels: Record<string, string>; notes: string[]; hostModel: string | null }> {
  const x = indexCpuMap(loadCpuMap({ source: 'auto' }));
  const inputs = await readLabelInputs(x, {
    ...(opts.domcapabilities ? { domcapabilities: opts.domcapabilities } : {}),
    ...(opts.capabilities ? { capabilities: opts.capabilities } : {}),
    ...(opts.supportedFeatures ? { supportedFeatures: opts.supportedFeatures } : {}),
    root: opts.root,
    libvirt: opts.libvirt,
  });
  const obsolete = opts.obsoleteCpuModels
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const r = kubevirtNodeLabels({ ...inputs, ...(obsolete ? { obsoleteModels: obsolete } : {}) });
  return { inputs, ...r };
}

type ApplyOpts = LabelOpts & { kubeconfig?: string; context?: string; node?: string; dryRun?: boolean; every?: number };

/**
 * `kvcpu labels --format kubevirt`: the node labels KubeVirt's virt-handler would set here;
 * `kvcpu labels apply`: set them on the node. One command with an optional action word (not a
 * subcommand): both take the same input options, and commander gives a parent's options to the
 * parent even after a subcommand's name unless the whole program uses positional options.
 */
export const registerLabels: RegisterCommand = (program, ctx: CliContext) => {
  addInputOptions(
    program
      .command('labels')
      .description(
        `the node labels KubeVirt's virt-handler node-labeller (${KUBEVIRT_RELEASE}) would set on this host, from the inputs it reads; \`labels apply\` sets them on the node (one merge-patch PATCH that also removes stale ones)`,
      )
      .addArgument(new Argument('[action]', "apply: set the labels on this host's Kubernetes node").choices(['apply'])),
  )
    .option('--json', 'JSON: {"labels":{key:value}, "source", "kubevirt", "inputs", "notes"} (apply: {node, set, removed, unchanged, sent, skipped, patch})')
    .option('--yaml', 'YAML: metadata.labels of the node')
    .option('--kubeconfig <file>', 'apply: kubeconfig (default $KUBECONFIG, in-cluster service account, ~/.kube/config)')
    .option('--context <name>', 'apply: kubeconfig context (default its current-context)')
    .option('--node <name>', 'apply: the node to label (default $NODE_NAME, else this host name)')
    .option('--dry-run', 'apply: read the node and print the patch; send no PATCH')
    .option('--every <seconds>', 'apply: keep running, recompute and apply every N seconds (KubeVirt: 180); errors are printed and retried', parsePositiveInt)
    .action(
      act(ctx, async (action: string | undefined, opts: ApplyOpts) => {
        if (action === 'apply') return apply(ctx, opts);
        const applyOnly = (['kubeconfig', 'context', 'node', 'dryRun', 'every'] as const).filter((k) => opts[k] !== undefined);
        if (applyOnly.length)
          throw new KvcpuError('E_USAGE', `--${applyOnly[0]!.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is for \`kvcpu labels apply\``, {
            hint: 'kvcpu labels apply --kubeconfig FILE --node NAME',
          });
        const r = await computeLabels(opts);
        if (opts.json)
          writeJson(ctx.io, { labels: r.labels, source: r.inputs.source, kubevirt: KUBEVIRT_RELEASE, inputs: r.inputs.provenance, notes: r.notes });
        else if (opts.yaml) ctx.io.out(stringify({ metadata: { labels: r.labels } }));
        else
          ctx.io.out(
            Object.entries(r.labels)
              .map(([k, v]) => `${k}=${v}\n`)
              .join(''),
          );
        if (!opts.json) {
          ctx.io.err(`# KubeVirt ${KUBEVIRT_RELEASE} node-labeller, source: ${r.inputs.source}; ${Object.keys(r.labels).length} label(s)\n`);
          for (const p of r.inputs.provenance) ctx.io.err(`# input: ${p}\n`);
          for (const n of r.notes) ctx.io.err(`# note: ${n}\n`);
        }
        return 0;
      }),
    );
};

/** --kubeconfig, else $KUBECONFIG, else in-cluster, else ~/.kube/config (kubectl's and client-go's order, roughly). */
function kubeTarget(opts: { kubeconfig?: string; context?: string }): KubeTarget {
  const file = opts.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0];
  if (file) return loadKubeconfig(file, opts.context);
  const inCluster = inClusterTarget();
  if (inCluster) return inCluster;
  const home = join(homedir(), '.kube/config');
  if (existsSync(home)) return loadKubeconfig(home, opts.context);
  throw new KvcpuError('E_KUBE_CONFIG', 'no kubeconfig and not in a cluster', { hint: 'pass --kubeconfig FILE or set KUBECONFIG' });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function apply(ctx: CliContext, opts: ApplyOpts): Promise<number> {
  const target = kubeTarget(opts);
  const node = opts.node ?? process.env.NODE_NAME ?? hostname();
  const once = async () => {
    const r = await computeLabels(opts);
    const a = await applyNodeLabels(target, node, r.labels, { dryRun: opts.dryRun === true });
    if (opts.json) writeJson(ctx.io, { ...a, source: r.inputs.source, kubevirt: KUBEVIRT_RELEASE, notes: r.notes });
    else {
      if (opts.dryRun) ctx.io.out(JSON.stringify(a.patch, null, 2) + '\n');
      const what = a.skipped
        ? `skipped: ${a.skipped}`
        : `${a.sent ? 'patched' : opts.dryRun ? 'would patch' : 'unchanged'}: ${a.set.length} set, ${a.removed.length} removed, ${a.unchanged} unchanged`;
      ctx.io.err(`node ${node} (${target.server.host}, ${target.from}): ${what}; labels from ${r.inputs.source}\n`);
    }
  };
  if (!opts.every) {
    await once();
    return 0;
  }
  for (;;) {
    try {
      await once();
    } catch (e) {
      ctx.io.err(`${e instanceof KvcpuError ? `${e.code}: ` : ''}${(e as Error).message}\n`);
    }
    // KubeVirt's wait.JitterUntil(interval, 1.2): up to 20 % later than the period.
    await sleep(opts.every * 1000 * (1 + Math.random() * 0.2));
  }
}
