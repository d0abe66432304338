// deploy/kvcpu-kubevirt-daemonset.yaml: parsed as the API server would receive it (no cluster
// here), its RBAC checked against what `labels apply` sends (GET + PATCH of nodes, nothing more),
// and every container's kvcpu arguments checked against the CLI's own option definitions.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from './support/run-cli.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const docs = parseAllDocuments(readFileSync(path.join(repo, 'deploy/kvcpu-kubevirt-daemonset.yaml'), 'utf8'));
const objs = docs.map((d) => d.toJS() as any).filter(Boolean);
const byKind = (k: string) => objs.filter((o) => o.kind === k);

describe('KubeVirt DaemonSet manifest', () => {
  it('parses without YAML errors into Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, DaemonSet', () => {
    expect(docs.flatMap((d) => d.errors)).toEqual([]);
    expect(objs.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'DaemonSet']);
    for (const o of objs) {
      expect(typeof o.apiVersion).toBe('string');
      expect(o.metadata?.name).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('RBAC: the service account may get and patch nodes, nothing else', () => {
    const [role] = byKind('ClusterRole');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] }]);
    const [binding] = byKind('ClusterRoleBinding');
    const [sa] = byKind('ServiceAccount');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  it('DaemonSet: selector matches the pod labels, the service account, amd64 nodes, host PIDs, NODE_NAME from the node', () => {
    const [ds] = byKind('DaemonSet');
    const [sa] = byKind('ServiceAccount');
    expect(ds.apiVersion).toBe('apps/v1');
    expect(ds.metadata.namespace).toBe(sa.metadata.namespace);
    const pod = ds.spec.template;
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) expect(pod.metadata.labels[k]).toBe(v);
    expect(pod.spec.serviceAccountName).toBe(sa.metadata.name);
    expect(pod.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64' });
    expect(pod.spec.hostPID).toBe(true);
    const names = pod.spec.containers.map((c: { name: string }) => c.name);
    expect(names).toEqual(['agent', 'labeller']);
    const labeller = pod.spec.containers[1];
    expect(labeller.args.slice(0, 2)).toEqual(['labels', 'apply']);
    expect(labeller.env).toEqual([{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    expect(labeller.args[labeller.args.indexOf('--node') + 1]).toBe('$(NODE_NAME)');
    const agent = pod.spec.containers[0];
    expect(agent.args[0]).toBe('serve');
    expect(agent.args[agent.args.indexOf('--listen') + 1]).toMatch(/^127\.0\.0\.1:/);
    // Every volume a container mounts is declared.
    const vols = new Set(pod.spec.volumes.map((v: { name: string }) => v.name));
    for (const c of pod.spec.containers) for (const m of c.volumeMounts ?? []) expect(vols.has(m.name)).toBe(true);
  });

  it("every container's flags exist in kvcpu's CLI (checked against --help of that command)", async () => {
    const [ds] = byKind('DaemonSet');
    let checked = 0;
    for (const c of ds.spec.template.spec.containers as { args: string[] }[]) {
      const help = await runCli([c.args[0]!, '--help']);
      expect(help.code).toBe(0);
      for (const a of c.args.filter((s) => s.startsWith('--'))) {
        expect(help.out, `${c.args[0]} ${a}`).toContain(`${a} `);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });
});
