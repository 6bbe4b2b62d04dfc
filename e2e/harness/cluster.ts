// One local Kubernetes cluster: etcd + kube-apiserver + kube-controller-manager on free loopback ports, with its
// own certificates (serving, client CA with an admin, front-proxy CA for the aggregation layer, service-account
// signing key) and an admin kubeconfig. No kubelet: pods never run. Optionally real Crossplane with the test
// composition function (crossplane.ts), for a control plane whose claims and XRs are composed for real.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import {
  createCertificateAuthority,
  createSigningKey,
  issueCertificate,
  type KeyPair,
} from '../../operator/src/pki/certificates.ts';
import { binaryPath } from './binaries.ts';
import { startCrossplane, type Crossplane } from './crossplane.ts';
import { freePorts } from './ports.ts';
import { startProcess, waitWhileRunning, type ManagedProcess } from './processes.ts';
import { waitFor } from './wait.ts';

export interface Cluster {
  name: string;
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin (system:masters) kubeconfig with embedded credentials. */
  kubeconfigPath: string;
  ports: { etcd: number; etcdPeer: number; apiserver: number; controllerManager: number };
  servingCA: KeyPair;
  admin: KeyPair;
  frontProxyCA: KeyPair;
  processes: ManagedProcess[];
  /** Crossplane and the test function, when the cluster was started with `crossplane: true`. */
  crossplane?: Crossplane;
  /** GET/POST/... against this cluster as admin; resolves with status and body text. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** Stops the apiserver only (outage tests); `startAPIServer` brings it back on the same port and etcd. */
  stopAPIServer(): Promise<void>;
  startAPIServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  name: string;
  /** Directory for certificates, data and logs; must exist and is left in place (the caller owns it). */
  dir: string;
  /** File that records the process groups started, for the watchdog and `down`. */
  pidFile: string;
  startupTimeoutMs?: number;
  /** Run Crossplane (`core init` + `core start`) and the test composition function in the cluster. */
  crossplane?: boolean;
}

const serviceClusterIPRange = '10.0.0.0/24';

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { name, dir, pidFile } = options;
  const timeoutMs = options.startupTimeoutMs ?? 90_000;
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });

  const [etcdPort, etcdPeerPort, apiserverPort, kcmPort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const server = `https://127.0.0.1:${apiserverPort}`;

  const [servingCA, clientCA, frontProxyCA, saKey] = await Promise.all([
    createCertificateAuthority(`${name}-serving-ca`),
    createCertificateAuthority(`${name}-client-ca`),
    createCertificateAuthority(`${name}-front-proxy-ca`),
    createSigningKey(),
  ]);
  const [serving, admin, frontProxyClient] = await Promise.all([
    issueCertificate(servingCA, {
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '10.0.0.1'],
      usage: 'server',
    }),
    issueCertificate(clientCA, {
      commonName: 'kubernetes-admin',
      organizations: ['system:masters'],
      usage: 'client',
    }),
    issueCertificate(frontProxyCA, { commonName: 'front-proxy-client', usage: 'client' }),
  ]);
  const files = {
    servingCA: write(pki, 'serving-ca.crt', servingCA.certPem),
    servingCert: write(pki, 'apiserver.crt', serving.certPem),
    servingKey: write(pki, 'apiserver.key', serving.keyPem),
    clientCA: write(pki, 'client-ca.crt', clientCA.certPem),
    frontProxyCA: write(pki, 'front-proxy-ca.crt', frontProxyCA.certPem),
    frontProxyCert: write(pki, 'front-proxy-client.crt', frontProxyClient.certPem),
    frontProxyKey: write(pki, 'front-proxy-client.key', frontProxyClient.keyPem),
    saPublic: write(pki, 'sa.pub', saKey.publicKeyPem),
    saPrivate: write(pki, 'sa.key', saKey.privateKeyPem),
  };
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(name, server, servingCA.certPem, admin), { mode: 0o600 });

  const processes: ManagedProcess[] = [];
  const call = (method: string, path: string, body?: unknown) =>
    adminRequest(server, servingCA.certPem, admin, method, path, body);
  const start = (component: string, args: string[]) => {
    const p = startProcess({
      name: `${name}/${component}`,
      command: binaryPath(component as 'etcd'),
      args,
      logFile: join(dir, `${component}.log`),
      pidFile,
    });
    processes.push(p);
    return p;
  };
  const awaitReady = (p: ManagedProcess, what: string, probe: () => Promise<true | undefined>) =>
    waitWhileRunning(p, probe, { timeoutMs, what: `${what} of cluster ${name}` });

  const etcdArgs = [
    `--name=${name}`,
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-cluster=${name}=http://127.0.0.1:${etcdPeerPort}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
  const apiserverArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--secure-port=${apiserverPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // A lone apiserver on loopback: nothing to reconcile into the `kubernetes` Endpoints (loopback is invalid there).
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${files.servingCert}`,
    `--tls-private-key-file=${files.servingKey}`,
    `--client-ca-file=${files.clientCA}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=https://kubernetes.default.svc`,
    `--service-account-key-file=${files.saPublic}`,
    `--service-account-signing-key-file=${files.saPrivate}`,
    `--service-cluster-ip-range=${serviceClusterIPRange}`,
    '--allow-privileged=true',
    '--profiling=false',
    `--cert-dir=${pki}`,
    // The aggregation layer: a front-proxy CA separate from the client CA, and the aggregator's client cert.
    `--requestheader-client-ca-file=${files.frontProxyCA}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--requestheader-uid-headers=X-Remote-Uid',
    `--proxy-client-cert-file=${files.frontProxyCert}`,
    `--proxy-client-key-file=${files.frontProxyKey}`,
    '--enable-aggregator-routing=false',
  ];
  const kcmArgs = [
    `--kubeconfig=${kubeconfigPath}`,
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    `--secure-port=${kcmPort}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    `--root-ca-file=${files.servingCA}`,
    `--service-cluster-ip-range=${serviceClusterIPRange}`,
    '--controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,deployment-controller,replicaset-controller,disruption-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller',
    '--profiling=false',
  ];

  let apiserver: ManagedProcess | undefined;
  let crossplane: Crossplane | undefined;
  const startAPIServer = async () => {
    apiserver = start('kube-apiserver', apiserverArgs);
    await awaitReady(apiserver, 'kube-apiserver /readyz', async () =>
      (await call('GET', '/readyz')).status === 200 ? true : undefined,
    );
  };

  try {
    const etcd = start('etcd', etcdArgs);
    await awaitReady(etcd, 'etcd /health', async () => ((await etcdHealthy(etcdPort)) ? true : undefined));
    await startAPIServer();
    // The aggregation layer's trust is published here; proxies read it, so wait until it is there.
    await waitFor(
      async () => {
        const res = await call(
          'GET',
          '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication',
        );
        return res.status === 200 && res.body.includes('requestheader-client-ca-file') ? true : undefined;
      },
      { timeoutMs, what: `extension-apiserver-authentication in cluster ${name}` },
    );
    const kcm = start('kube-controller-manager', kcmArgs);
    await awaitReady(kcm, 'kube-controller-manager /healthz', async () =>
      (await insecureStatus(`https://127.0.0.1:${kcmPort}/healthz`)) === 200 ? true : undefined,
    );
    if (options.crossplane) {
      crossplane = await startCrossplane({ name, dir, kubeconfigPath, pidFile, timeoutMs });
      processes.push(...crossplane.processes);
    }
  } catch (err) {
    await Promise.all(processes.map((p) => p.stop(2_000)));
    throw err;
  }

  return {
    name,
    dir,
    server,
    kubeconfigPath,
    ports: { etcd: etcdPort, etcdPeer: etcdPeerPort, apiserver: apiserverPort, controllerManager: kcmPort },
    servingCA,
    admin,
    frontProxyCA,
    processes,
    crossplane,
    request: call,
    async stopAPIServer() {
      await apiserver?.stop();
    },
    startAPIServer,
    async stop() {
      // Reverse start order: the function and Crossplane, controllers, then apiservers, then etcd.
      for (const p of [...processes].reverse()) await p.stop();
    },
  };
}

export function kubeconfigYaml(name: string, server: string, caPem: string, user: KeyPair): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [
      {
        name: `${name}-admin`,
        user: { 'client-certificate-data': b64(user.certPem), 'client-key-data': b64(user.keyPem) },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
    'current-context': name,
  });
}

function write(dir: string, file: string, content: string): string {
  const path = join(dir, file);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

function adminRequest(
  server: string,
  caPem: string,
  client: KeyPair,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      {
        method,
        ca: caPem,
        cert: client.certPem,
        key: client.keyPem,
        timeout: 10_000,
        headers: payload
          ? { 'content-type': 'application/json', accept: 'application/json' }
          : { accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function etcdHealthy(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
  return res.ok && ((await res.json()) as { health?: string }).health === 'true';
}

/** Status code of a GET that does not verify the server (kube-controller-manager's self-signed health port). */
function insecureStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
