import { KvcpuError } from '../core/errors.ts';
import { kubeRequest, statusMessage, type KubeTarget } from './kube-client.ts';
import { KUBEVIRT_LABEL, STALE_PREFIXES } from './node-labels.ts';

/** KubeVirt's opt-out (node_labeller.go skipNodeLabelling: LabellerSkipNodeAnnotation). */
export const SKIP_NODE_ANNOTATION = 'node-labeller.kubevirt.io/skip-node';

export interface ApplyResult {
  node: string;
  /** The merge patch (sent unless dryRun, skipped, or nothing changes). */
  patch: { metadata: { labels: Record<string, string | null> } };
  set: string[];
  removed: string[];
  unchanged: number;
  sent: boolean;
  skipped: string | null;
}

/**
 * The merge patch that makes the node's kubevirt labels exactly `labels`: every computed label
 * whose value differs is set; every label the node has under the labeller's prefixes
 * (STALE_PREFIXES) that kvcpu did not compute is removed (null). virt-controller's
 * scheduling.node.kubevirt.io/tsc-frequency-* keys are not removed: it adds the frequencies of
 * running VMIs there, which kvcpu cannot know.
 */
export function labelPatch(current: Record<string, string>, labels: Record<string, string>): Pick<ApplyResult, 'patch' | 'set' | 'removed' | 'unchanged'> {
  const out: Record<string, string | null> = {};
  const set: string[] = [];
  const removed: string[] = [];
  let unchanged = 0;
  for (const [k, v] of Object.entries(labels)) {
    if (current[k] === v) unchanged++;
    else {
      out[k] = v;
      set.push(k);
    }
  }
  for (const k of Object.keys(current).sort()) {
    if (k in labels || k.startsWith(KUBEVIRT_LABEL.tscScheduling)) continue;
    if (STALE_PREFIXES.some((p) => k.startsWith(p))) {
      out[k] = null;
      removed.push(k);
    }
  }
  return { patch: { metadata: { labels: out } }, set, removed, unchanged };
}

function apiError(what: string, r: { status: number; body: string }): KvcpuError {
  const why =
    r.status === 401
      ? 'the credentials were refused'
      : r.status === 403
        ? 'the account may not do this (RBAC)'
        : r.status === 404
          ? 'no such node'
          : `HTTP ${r.status}`;
  return new KvcpuError('E_KUBE_API', `${what}: ${why} (${r.status}: ${statusMessage(r)})`, {
    hint:
      r.status === 403
        ? 'grant get and patch on nodes (deploy/kvcpu-kubevirt-daemonset.yaml has the ClusterRole)'
        : r.status === 404
          ? 'check --node (kubectl get nodes)'
          : 'check the API server and the credentials',
  });
}

/**
 * GET the node, then one PATCH (application/merge-patch+json) of its labels. Nothing is sent
 * when the node carries KubeVirt's skip-node annotation, when nothing changes, or on dryRun.
 */
export async function applyNodeLabels(t: KubeTarget, node: string, labels: Record<string, string>, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
  const path = `/api/v1/nodes/${encodeURIComponent(node)}`;
  const got = await kubeRequest(t, 'GET', path);
  if (got.status !== 200) throw apiError(`GET node ${node}`, got);
  let obj: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  try {
    obj = JSON.parse(got.body) as typeof obj;
  } catch {
    throw new KvcpuError('E_KUBE_API', `GET node ${node}: the answer is not JSON`, { hint: 'is the server a Kubernetes API server?' });
  }
  const current = obj.metadata?.labels ?? {};
  const p = labelPatch(current, labels);
  const base = { node, ...p, sent: false, skipped: null as string | null };
  if (obj.metadata?.annotations && SKIP_NODE_ANNOTATION in obj.metadata.annotations)
    return { ...base, skipped: `the node has the ${SKIP_NODE_ANNOTATION} annotation (KubeVirt's labeller skips it too)` };
  if (opts.dryRun || (!p.set.length && !p.removed.length)) return base;
  const r = await kubeRequest(t, 'PATCH', path, { contentType: 'application/merge-patch+json', data: JSON.stringify(p.patch) });
  if (r.status !== 200) throw apiError(`PATCH node ${node}`, r);
  return { ...base, sent: true };
}
