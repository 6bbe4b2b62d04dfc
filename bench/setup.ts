// What the benchmark runs against: an app cluster and a control-plane cluster (its own, or the integration tests'
// shared ones), the connector installed as for the end-to-end tests, and the pass-through proxy's API group.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { createCertificateAuthority, issueCertificate } from '../operator/src/pki/certificates.ts';
import { startEnvironment, pidFileName, stateFile } from '../e2e/harness/environment.ts';
import { installControlPlaneFixtures, fixturesDir } from '../e2e/harness/fixtures.ts';
import { kubectlOk, type KubectlTarget } from '../e2e/harness/kubectl.ts';
import { freePorts } from '../e2e/harness/ports.ts';
import { sharedCrossplane, sharedEnvironment } from '../e2e/harness/shared.ts';
import { waitFor } from '../e2e/harness/wait.ts';
import { startNodeScript, type ProcessPlace } from '../e2e/harness/connector-processes.ts';
import type { ManagedProcess } from '../e2e/harness/processes.ts';
import { repoRoot } from '../e2e/harness/paths.ts';
import { callOk, parse, targetFor, type Target } from './http.ts';
import { passthroughArgs } from './passthrough.ts';

/** The claim API the connector serves, and the copy of it that the pass-through proxy serves. */
export const claimGroup = 'platform.example.org';
export const passthroughGroup = 'bench.example.org';
export const version = 'v1alpha1';
export const plural = 'kubernetesclusters';
export const kind = 'KubernetesCluster';

/** The measured connection and where its claims live in the control plane. */
export const connectionName = 'bench';
export const targetNamespace = 'bench-target';

export const namespaces = {
  list: (size: number) => `bench-list-${size}`,
  writes: 'bench-writes',
  watch: 'bench-watch',
  load: 'bench-load',
};

export interface BenchCluster extends KubectlTarget {
  name: string;
  server: string;
  /** Processes of the cluster, for CPU accounting (absent when unknown). */
  pids: { etcd?: number; apiserver?: number };
}

export interface BenchEnvironment {
  dir: string;
  pidFile: string;
  app: BenchCluster;
  controlPlane: BenchCluster;
  /** Whether Crossplane runs in the control plane (it then generates the CRDs of an XRD itself). */
  crossplane: boolean;
  /** Admin clients, pooled for the load. */
  admin: { app: Target; controlPlane: Target };
  /** Stops what this environment started itself (nothing for shared clusters). */
  stop(): Promise<void>;
}

const adminConnections = 512;

async function withAdmin(base: Omit<BenchEnvironment, 'admin'>): Promise<BenchEnvironment> {
  return {
    ...base,
    admin: {
      app: await targetFor('app', base.app.kubeconfigPath, adminConnections),
      controlPlane: await targetFor('control-plane', base.controlPlane.kubeconfigPath, adminConnections),
    },
  };
}

/** Fresh clusters with the control-plane fixtures, removed by stop(). */
export async function ownEnvironment(): Promise<BenchEnvironment> {
  const env = await startEnvironment({ names: ['app', 'control-plane'] });
  try {
    await installControlPlaneFixtures(env.cluster('control-plane'));
  } catch (err) {
    await env.stop();
    throw err;
  }
  const cluster = (name: string): BenchCluster => {
    const c = env.cluster(name);
    const pid = (component: string) => c.processes.find((p) => p.name === `${name}/${component}`)?.pid;
    return {
      name,
      server: c.server,
      kubeconfigPath: c.kubeconfigPath,
      dir: c.dir,
      pids: { etcd: pid('etcd'), apiserver: pid('kube-apiserver') },
    };
  };
  return withAdmin({
    dir: env.dir,
    pidFile: join(env.dir, pidFileName),
    app: cluster('app'),
    controlPlane: cluster('control-plane'),
    crossplane: false,
    stop: () => env.stop(),
  });
}

/** The integration tests' shared clusters (jest global setup); nothing to stop. */
export async function sharedBenchEnvironment(): Promise<BenchEnvironment> {
  const shared = sharedEnvironment();
  const state = JSON.parse(readFileSync(join(shared.dir, stateFile), 'utf8')) as {
    clusters: Record<string, { pids: number[] }>;
  };
  const cluster = (name: 'app' | 'control-plane'): BenchCluster => {
    const c = shared.clusters[name];
    if (!c) throw new Error(`the shared environment has no cluster ${name}`);
    // Start order in cluster.ts: etcd, kube-apiserver, kube-controller-manager.
    const [etcd, apiserver] = state.clusters[name]?.pids ?? [];
    return {
      name,
      server: c.server,
      kubeconfigPath: c.kubeconfigPath,
      dir: c.dir,
      pids: { etcd, apiserver },
    };
  };
  return withAdmin({
    dir: shared.dir,
    pidFile: join(shared.dir, pidFileName),
    app: cluster('app'),
    controlPlane: cluster('control-plane'),
    crossplane: sharedCrossplane(),
    stop: () => Promise.resolve(),
  });
}

/** The claim CRD of the fixtures, renamed into the pass-through group (same schema, same printer columns). */
export function passthroughCRD(): Record<string, unknown> {
  const crd = load(
    readFileSync(join(fixturesDir, 'control-plane', '11-kubernetescluster-claim-crd.yaml'), 'utf8'),
  ) as { metadata: { name: string; labels?: Record<string, string> }; spec: { group: string } };
  crd.metadata.name = `${plural}.${passthroughGroup}`;
  // Not Crossplane's: the connector must never discover it.
  delete crd.metadata.labels;
  crd.spec.group = passthroughGroup;
  return crd;
}

export async function installPassthroughCRD(env: BenchEnvironment): Promise<void> {
  await kubectlOk(env.controlPlane, ['apply', '--server-side', '-f', '-'], JSON.stringify(passthroughCRD()));
  await kubectlOk(env.controlPlane, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    `crd/${plural}.${passthroughGroup}`,
  ]);
}

/** Namespaces in either cluster (existing ones are fine). */
export async function ensureNamespaces(cluster: KubectlTarget, names: string[]): Promise<void> {
  const docs = names.map((name) => dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  await kubectlOk(cluster, ['apply', '--server-side', '-f', '-'], docs.join('---\n'));
}

const passthroughNamespace = 'bench-passthrough';
const passthroughService = 'passthrough';
const passthroughAPIService = `${version}.${passthroughGroup}`;

export interface PassthroughService {
  process: ManagedProcess;
  port: number;
  /** Removes the APIService and its namespace, then stops the process. */
  stop(): Promise<void>;
}

/**
 * The pass-through proxy as a process, registered in the app cluster like the connector's proxy (APIService →
 * ExternalName Service → loopback port), once its APIService is Available.
 */
export async function startPassthroughService(
  env: BenchEnvironment,
  place: ProcessPlace,
): Promise<PassthroughService> {
  const ca = await createCertificateAuthority('bench-passthrough-ca');
  const serving = await issueCertificate(ca, {
    commonName: passthroughService,
    dnsNames: [`${passthroughService}.${passthroughNamespace}.svc`],
    usage: 'server',
  });
  const auth = parse<{ data?: Record<string, string> }>(
    await callOk(
      env.admin.app,
      'GET',
      '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication',
    ),
  );
  const clientCA = auth.data?.['requestheader-client-ca-file'];
  if (!clientCA) throw new Error('the app cluster publishes no requestheader-client-ca-file');
  const file = (name: string, content: string) => {
    const path = join(place.dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const [port] = (await freePorts(1)) as [number];
  const child = startNodeScript(
    place,
    'passthrough',
    join(repoRoot, 'bench', 'passthrough.ts'),
    passthroughArgs({
      port,
      certFile: file('passthrough.crt', serving.certPem),
      keyFile: file('passthrough.key', serving.keyPem),
      clientCAFile: file('passthrough-client-ca.crt', clientCA),
      kubeconfig: env.controlPlane.kubeconfigPath,
      group: passthroughGroup,
    }),
  );
  await waitFor(() => (readFileSync(child.logFile, 'utf8').includes('serving on') ? true : undefined), {
    timeoutMs: 30_000,
    what: `the passthrough process to listen (log: ${child.logFile})`,
  });
  await ensureNamespaces(env.app, [passthroughNamespace]);
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: passthroughService, namespace: passthroughNamespace },
      spec: { type: 'ExternalName', externalName: 'localhost' },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: passthroughAPIService },
      spec: {
        group: passthroughGroup,
        version,
        groupPriorityMinimum: 1000,
        versionPriority: 15,
        service: { name: passthroughService, namespace: passthroughNamespace, port },
        caBundle: Buffer.from(ca.certPem).toString('base64'),
      },
    },
  ];
  await kubectlOk(env.app, ['apply', '--server-side', '-f', '-'], objects.map((o) => dump(o)).join('---\n'));
  await kubectlOk(env.app, [
    'wait',
    '--for=condition=Available',
    '--timeout=90s',
    `apiservice/${passthroughAPIService}`,
  ]);
  return {
    process: child,
    port,
    async stop() {
      await kubectlOk(env.app, ['delete', 'apiservice', passthroughAPIService, '--ignore-not-found']);
      await kubectlOk(env.app, [
        'delete',
        'namespace',
        passthroughNamespace,
        '--ignore-not-found',
        '--wait=false',
      ]);
      await child.stop();
    },
  };
}
