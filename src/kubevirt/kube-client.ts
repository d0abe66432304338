import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KvcpuError } from '../core/errors.ts';

/** What kvcpu needs to reach one API server: the server URL and one way to authenticate. */
export interface KubeTarget {
  server: URL;
  ca?: Buffer;
  insecure?: boolean;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  /** Where the credentials came from (shown, never the secrets). */
  from: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj | undefined, k: string): string | undefined => (o && typeof o[k] === 'string' ? (o[k] as string) : undefined);

function configError(msg: string): KvcpuError {
  return new KvcpuError('E_KUBE_CONFIG', msg, { hint: 'pass --kubeconfig FILE (the one kubectl uses), or run in a pod with a service account' });
}

function readBytes(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new KvcpuError('E_KUBE_CONFIG', `cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e, hint: 'check the path in the kubeconfig' });
  }
}

function serverUrl(text: string | undefined, from: string): URL {
  let u: URL;
  try {
    u = new URL(text ?? '');
  } catch {
    throw configError(`${from}: cluster server ${JSON.stringify(text ?? '')} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw configError(`${from}: cluster server ${u.href} is not https:// or http://`);
  return u;
}

/**
 * The current context of a kubeconfig (the clientcmd rules kubectl follows, for what kvcpu
 * supports): its cluster's server, certificate-authority(-data), insecure-skip-tls-verify; its
 * user's token / tokenFile or client-certificate(-data) + client-key(-data). Relative file paths
 * are relative to the kubeconfig. exec and auth-provider plugins are not run (refused).
 */
export function loadKubeconfig(path: string, context?: string): KubeTarget {
  if (!existsSync(path)) throw configError(`kubeconfig ${path}: no such file`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new KvcpuError('E_KUBE_CONFIG', `kubeconfig ${path} is not YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (!isObj(doc)) throw configError(`kubeconfig ${path} is not a mapping`);
  const named = (list: unknown, name: string | undefined, key: string): Obj | undefined => {
    if (!Array.isArray(list)) return undefined;
    const e = list.find((i) => isObj(i) && i.name === name);
    return isObj(e) && isObj(e[key]) ? (e[key] as Obj) : undefined;
  };
  const ctxName = context ?? str(doc, 'current-context');
  if (!ctxName) throw configError(`kubeconfig ${path} has no current-context`);
  const ctx = named(doc.contexts, ctxName, 'context');
  if (!ctx) throw configError(`kubeconfig ${path}: context ${ctxName} not found`);
  const cluster = named(doc.clusters, str(ctx, 'cluster'), 'cluster');
  if (!cluster) throw configError(`kubeconfig ${path}: cluster ${str(ctx, 'cluster') ?? '(none)'} of context ${ctxName} not found`);
  const user = named(doc.users, str(ctx, 'user'), 'user') ?? {};
  const rel = (p: string) => (isAbsolute(p) ? p : join(dirname(path), p));
  const data = (o: Obj, k: string, fileKey: string, what: string): Buffer | undefined => {
    const d = str(o, k);
    if (d) return Buffer.from(d, 'base64');
    const f = str(o, fileKey);
    return f ? readBytes(rel(f), what) : undefined;
  };
  const t: KubeTarget = { server: serverUrl(str(cluster, 'server'), path), from: `kubeconfig ${path}, context ${ctxName}` };
  const ca = data(cluster, 'certificate-authority-data', 'certificate-authority', 'certificate authority');
  if (ca) t.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) t.insecure = true;
  const token =
    str(user, 'token') ??
    (str(user, 'tokenFile')
      ? readBytes(rel(str(user, 'tokenFile')!), 'token file')
          .toString('utf8')
          .trim()
      : undefined);
  if (token) t.token = token;
  const cert = data(user, 'client-certificate-data', 'client-certificate', 'client certificate');
  const key = data(user, 'client-key-data', 'client-key', 'client key');
  if (cert && key) {
    t.cert = cert;
    t.key = key;
  } else if (cert || key) throw configError(`kubeconfig ${path}: user of context ${ctxName} has a client certificate without its key (or the reverse)`);
  if (!t.token && !t.cert) {
    const plugin = user.exec ? 'an exec credential plugin' : user['auth-provider'] ? 'an auth-provider' : null;
    throw configError(
      `kubeconfig ${path}: user of context ${ctxName} has ${plugin ? `${plugin}, which kvcpu does not run` : 'neither a token nor a client certificate'}`,
    );
  }
  return t;
}

/**
 * In-cluster credentials (client-go rest.InClusterConfig): https://KUBERNETES_SERVICE_HOST:PORT
 * with the pod's service-account token and CA.
 */
export function inClusterTarget(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): KubeTarget | null {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return null;
  const token = join(saDir, 'token');
  if (!existsSync(token)) throw configError(`KUBERNETES_SERVICE_HOST is set but ${token} is missing (no service account token mounted)`);
  const server = serverUrl(`https://${host.includes(':') ? `[${host}]` : host}:${port}`, 'in-cluster');
  const t: KubeTarget = { server, token: readBytes(token, 'service-account token').toString('utf8').trim(), from: `in-cluster service account (${saDir})` };
  const ca = join(saDir, 'ca.crt');
  if (existsSync(ca)) t.ca = readBytes(ca, 'service-account CA');
  return t;
}

export interface KubeResponse {
  status: number;
  body: string;
}

/** One request to the API server over node:https (or node:http for an http:// server). */
export function kubeRequest(
  t: KubeTarget,
  method: string,
  path: string,
  body?: { contentType: string; data: string },
  timeoutMs = 30_000,
): Promise<KubeResponse> {
  const url = new URL(path, t.server);
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'kvcpu' };
  if (t.token) headers.Authorization = `Bearer ${t.token}`;
  if (body) {
    headers['Content-Type'] = body.contentType;
    headers['Content-Length'] = String(Buffer.byteLength(body.data));
  }
  const https = url.protocol === 'https:';
  const opts = {
    method,
    headers,
    timeout: timeoutMs,
    ...(https ? { ...(t.ca ? { ca: t.ca } : {}), ...(t.cert ? { cert: t.cert, key: t.key } : {}), rejectUnauthorized: !t.insecure } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (e) =>
      reject(
        new KvcpuError('E_KUBE_API', `${method} ${url.href}: ${e.message}`, {
          cause: e,
          hint: 'check the server address and its certificate (certificate-authority in the kubeconfig)',
        }),
      ),
    );
    if (body) req.write(body.data);
    req.end();
  });
}

/** The API server's error message (a Status object) or the start of the body. */
export function statusMessage(r: KubeResponse): string {
  try {
    const s = JSON.parse(r.body) as { message?: unknown };
    if (typeof s.message === 'string') return s.message;
  } catch {
    /* not JSON */
  }
  return r.body.slice(0, 200);
}
