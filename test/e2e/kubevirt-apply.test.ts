// `kvcpu labels apply` as a protocol test: no Kubernetes API server can run here, so a stub
// HTTP(S) server on 127.0.0.1 plays the node endpoint. It checks the method, path, content type,
// authentication (bearer token or client certificate) and body of every request, applies the
// JSON merge patch (RFC 7386) to its node, and the test checks the node's labels afterwards.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inClusterTarget, kubeRequest } from '../../src/kubevirt/kube-client.ts';
import { runCli } from '../support/run-cli.ts';

const work = mkdtempSync(path.join(tmpdir(), 'kvcpu-kv-apply-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function selfSigned(name: string, cn: string): { cert: string; key: string } {
  const cert = path.join(work, `${name}.crt`);
  const key = path.join(work, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

const DOMCAPS = `<domainCapabilities><arch>x86_64</arch><cpu>
<mode name='host-model' supported='yes'><model fallback='forbid'>Skylake-Client-IBRS</model><vendor>Intel</vendor><feature policy='require' name='vmx'/><feature policy='disable' name='hle'/></mode>
<mode name='custom' supported='yes'><model usable='yes'>Haswell-noTSX</model><model usable='no'>Cascadelake-Server</model><model usable='yes'>kvm64</model></mode></cpu></domainCapabilities>`;
const CAPS = `<capabilities><host><cpu><arch>x86_64</arch><counter name='tsc' frequency='2095999000' scaling='yes'/></cpu></host><guest><arch name='x86_64'><machine>q35</machine></arch></guest></capabilities>`;
const dcFile = path.join(work, 'domcaps.xml');
const capsFile = path.join(work, 'caps.xml');
writeFileSync(dcFile, DOMCAPS);
writeFileSync(capsFile, CAPS);
const inputs = ['--domcapabilities', dcFile, '--capabilities', capsFile];

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  clientCert: string | null;
  body: string;
}

/** RFC 7386 merge patch, enough for labels (null deletes). */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v)) target[k] = merge((target[k] as Record<string, unknown>) ?? {}, v as Record<string, unknown>);
    else target[k] = v;
  }
  return target;
}

const INITIAL = {
  'kubernetes.io/hostname': 'n1',
  'cpu-model.node.kubevirt.io/Westmere': 'true', // stale: kvcpu does not compute it
  'cpu-vendor.node.kubevirt.io/AMD': 'true', // stale vendor
  'host-model-cpu.node.kubevirt.io/Skylake-Client-IBRS': 'true', // unchanged
  'cpu-timer.node.kubevirt.io/tsc-frequency': '1', // changed value
  'scheduling.node.kubevirt.io/tsc-frequency-2000000000': 'true', // virt-controller's: kept
  'example.com/cpu-model.node.kubevirt.io': 'x', // not a kubevirt prefix: kept
};

function stub(opts: { tls: boolean; token?: string; clientCert?: string; node?: string }) {
  const seen: Seen[] = [];
  const node = { metadata: { name: opts.node ?? 'n1', labels: { ...INITIAL } as Record<string, string>, annotations: {} as Record<string, string> } };
  const state = { node, seen, status: 200 };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const peer = opts.tls ? (req.socket as TLSSocket).getPeerCertificate() : null;
      const s: Seen = {
        method: req.method!,
        url: req.url!,
        contentType: req.headers['content-type'],
        auth: req.headers.authorization,
        clientCert: peer && peer.raw ? new X509Certificate(peer.raw).fingerprint256 : null,
        body,
      };
      seen.push(s);
      const send = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      const authOk = opts.token ? s.auth === `Bearer ${opts.token}` : s.clientCert === opts.clientCert && s.auth === undefined;
      if (!authOk) return send(401, { kind: 'Status', message: 'Unauthorized', code: 401 });
      if (state.status !== 200) return send(state.status, { kind: 'Status', message: `nodes "${node.metadata.name}" is forbidden`, code: state.status });
      if (s.url !== `/api/v1/nodes/${node.metadata.name}`) return send(404, { kind: 'Status', message: `nodes not found: ${s.url}`, code: 404 });
      if (s.method === 'GET') return send(200, node);
      if (s.method === 'PATCH' && s.contentType === 'application/merge-patch+json') {
        merge(node as unknown as Record<string, unknown>, JSON.parse(body) as Record<string, unknown>);
        return send(200, node);
      }
      send(415, { kind: 'Status', message: `unsupported ${s.method} ${s.contentType}`, code: 415 });
    });
  };
  return Object.assign(state, { handler });
}

async function listen(server: ReturnType<typeof createHttp>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const servers: { close: () => void }[] = [];
afterAll(() => servers.forEach((s) => s.close()));

const serverCert = selfSigned('server', '127.0.0.1');
const clientCert = selfSigned('client', 'system:node:n1');
const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(name: string, server: string, user: string): string {
  const f = path.join(work, `${name}.kubeconfig`);
  writeFileSync(
    f,
    `apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: {cluster: c1, user: u1}
- name: other
  context: {cluster: c1, user: nobody}
clusters:
- name: c1
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(serverCert.cert)}
users:
- name: u1
  user:
${user}
`,
  );
  return f;
}

/** The labels kvcpu computes for DOMCAPS/CAPS (the `labels --json` of the same inputs). */
async function computed(): Promise<Record<string, string>> {
  const r = await runCli(['labels', ...inputs, '--json']);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { labels: Record<string, string> }).labels;
}

describe('labels apply over HTTPS with a bearer token', () => {
  let st: ReturnType<typeof stub>;
  let cfg: string;
  beforeAll(async () => {
    st = stub({ tls: true, token: 's3cret-token' });
    const srv = createHttps({ cert: serverCert.cert, key: serverCert.key }, (q, s) => st.handler(q, s));
    servers.push(srv);
    const port = await listen(srv as unknown as ReturnType<typeof createHttp>);
    cfg = kubeconfig('token', `https://127.0.0.1:${port}`, '    token: s3cret-token');
  });

  it('dry run: reads the node, prints the patch, sends no PATCH', async () => {
    const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n1', '--dry-run', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(st.seen.map((s) => s.method)).toEqual(['GET']);
    const a = JSON.parse(r.out) as { sent: boolean; removed: string[] };
    expect(a.sent).toBe(false);
    expect(a.removed).toEqual(['cpu-model.node.kubevirt.io/Westmere', 'cpu-vendor.node.kubevirt.io/AMD']);
    expect(st.node.metadata.labels).toEqual(INITIAL);
  });

  it('one merge-patch PATCH: sets the computed labels, nulls the stale ones, keeps the rest', async () => {
    st.seen.length = 0;
    const labels = await computed();
    const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n1', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(st.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /api/v1/nodes/n1', 'PATCH /api/v1/nodes/n1']);
    const patch = st.seen[1]!;
    expect(patch.contentType).toBe('application/merge-patch+json');
    expect(patch.auth).toBe('Bearer s3cret-token');
    const body = JSON.parse(patch.body) as { metadata: { labels: Record<string, string | null> } };
    expect(Object.keys(body)).toEqual(['metadata']);
    expect(Object.keys(body.metadata)).toEqual(['labels']);
    expect(body.metadata.labels['cpu-model.node.kubevirt.io/Westmere']).toBeNull();
    expect(body.metadata.labels['cpu-vendor.node.kubevirt.io/AMD']).toBeNull();
    expect(body.metadata.labels['cpu-timer.node.kubevirt.io/tsc-frequency']).toBe('2095999000');
    // Unchanged labels are not resent.
    expect('host-model-cpu.node.kubevirt.io/Skylake-Client-IBRS' in body.metadata.labels).toBe(false);
    expect(st.node.metadata.labels).toEqual({
      ...labels,
      'kubernetes.io/hostname': 'n1',
      'scheduling.node.kubevirt.io/tsc-frequency-2000000000': 'true',
      'example.com/cpu-model.node.kubevirt.io': 'x',
    });
    expect(st.node.metadata.labels['cpu-model.node.kubevirt.io/Haswell-noTSX']).toBe('true');
    expect(st.node.metadata.labels['cpu-model.node.kubevirt.io/kvm64']).toBeUndefined();
  });

  it('a second run changes nothing and sends no PATCH', async () => {
    st.seen.length = 0;
    const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n1', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(st.seen.map((s) => s.method)).toEqual(['GET']);
    expect((JSON.parse(r.out) as { sent: boolean; set: string[] }).set).toEqual([]);
  });

  it("honours KubeVirt's skip-node annotation", async () => {
    st.seen.length = 0;
    st.node.metadata.annotations['node-labeller.kubevirt.io/skip-node'] = '';
    st.node.metadata.labels['cpu-model.node.kubevirt.io/Westmere'] = 'true';
    const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n1', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(st.seen.map((s) => s.method)).toEqual(['GET']);
    expect((JSON.parse(r.out) as { skipped: string | null }).skipped).toMatch(/skip-node/);
    delete st.node.metadata.annotations['node-labeller.kubevirt.io/skip-node'];
  });

  it('403, 404 and a refused token are E_KUBE_API (exit 2), nothing patched', async () => {
    st.status = 403;
    const forbidden = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n1', '--json']);
    expect(forbidden.code).toBe(2);
    expect(JSON.parse(forbidden.out)).toMatchObject({ ok: false, error: { code: 'E_KUBE_API' } });
    expect(forbidden.out).toMatch(/RBAC|forbidden/);
    st.status = 200;
    const missing = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n2', '--json']);
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/no such node/);
    const wrongUser = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--context', 'other', '--node', 'n1', '--json']);
    expect(JSON.parse(wrongUser.out)).toMatchObject({ error: { code: 'E_KUBE_CONFIG' } });
    expect(st.seen.filter((s) => s.method === 'PATCH').length).toBe(0);
  });

  it('refuses a server whose certificate the CA does not sign', async () => {
    const other = selfSigned('other', '127.0.0.1');
    const bad = path.join(work, 'badca.kubeconfig');
    writeFileSync(bad, readFileSync(cfg, 'utf8').replace(b64(serverCert.cert), b64(other.cert)));
    const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', bad, '--node', 'n1', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'E_KUBE_API' } });
  });
});

describe('labels apply with a client certificate, over plain HTTP, and in-cluster', () => {
  it('client certificate from files next to the kubeconfig; no Authorization header', async () => {
    const fp = new X509Certificate(clientCert.cert).fingerprint256;
    const st = stub({ tls: true, clientCert: fp });
    const srv = createHttps({ cert: serverCert.cert, key: serverCert.key, requestCert: true, rejectUnauthorized: false }, (q, s) => st.handler(q, s));
    servers.push(srv);
    const port = await listen(srv as unknown as ReturnType<typeof createHttp>);
    const dir = path.join(work, 'certdir');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'client.crt'), clientCert.cert);
    writeFileSync(path.join(dir, 'client.key'), clientCert.key);
    const cfg = kubeconfig('cert', `https://127.0.0.1:${port}`, '    client-certificate: certdir/client.crt\n    client-key: certdir/client.key');
    const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n1', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(st.seen.map((s) => [s.method, s.clientCert, s.auth ?? null])).toEqual([
      ['GET', fp, null],
      ['PATCH', fp, null],
    ]);
    expect(st.node.metadata.labels['cpu-vendor.node.kubevirt.io/Intel']).toBe('true');
  });

  it('http:// server with a token file', async () => {
    const st = stub({ tls: false, token: 'tok-file' });
    const srv = createHttp((q, s) => st.handler(q, s));
    servers.push(srv);
    const port = await listen(srv);
    writeFileSync(path.join(work, 'token.txt'), 'tok-file\n');
    const cfg = kubeconfig('http', `http://127.0.0.1:${port}`, '    tokenFile: token.txt');
    const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', cfg, '--node', 'n1']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/node n1 .*patched: \d+ set, 2 removed, 1 unchanged/);
    expect(st.seen.map((s) => s.method)).toEqual(['GET', 'PATCH']);
  });

  it('in-cluster: KUBERNETES_SERVICE_HOST/PORT with the service account token and CA', async () => {
    const st = stub({ tls: true, token: 'sa-token' });
    const srv = createHttps({ cert: serverCert.cert, key: serverCert.key }, (q, s) => st.handler(q, s));
    servers.push(srv);
    const port = await listen(srv as unknown as ReturnType<typeof createHttp>);
    const sa = path.join(work, 'sa');
    mkdirSync(sa);
    writeFileSync(path.join(sa, 'token'), 'sa-token');
    writeFileSync(path.join(sa, 'ca.crt'), serverCert.cert);
    expect(inClusterTarget({}, sa)).toBeNull();
    const t = inClusterTarget({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) }, sa)!;
    expect(t.server.href).toBe(`https://127.0.0.1:${port}/`);
    const r = await kubeRequest(t, 'GET', '/api/v1/nodes/n1');
    expect(r.status).toBe(200);
    expect(st.seen[0]!.auth).toBe('Bearer sa-token');
    expect(() => inClusterTarget({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' }, path.join(work, 'nope'))).toThrow(
      /service account token/,
    );
  });

  it('refuses kubeconfigs it cannot use: exec plugins, no server scheme, missing file', async () => {
    const exec = kubeconfig('exec', 'https://127.0.0.1:1', '    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}');
    const ftp = kubeconfig('ftp', 'ftp://127.0.0.1:1', '    token: x');
    for (const [f, re] of [
      [exec, /exec credential plugin/],
      [ftp, /not https:\/\/ or http:\/\//],
      [path.join(work, 'missing.kubeconfig'), /no such file/],
    ] as const) {
      const r = await runCli(['labels', 'apply', ...inputs, '--kubeconfig', f, '--node', 'n1', '--json']);
      expect(r.code).toBe(2);
      const e = JSON.parse(r.out) as { error: { code: string; message: string } };
      expect(e.error.code).toBe('E_KUBE_CONFIG');
      expect(e.error.message).toMatch(re);
    }
  });
});
