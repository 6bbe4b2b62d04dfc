// Setting up the connector on the shared clusters the way tests need it: its CRD, the operator namespace with a
// control-plane credential, and an operator running in the test process (local proxy mode).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { crdFile } from '../../operator/src/api/crd.ts';
import { ownedNames } from '../../operator/src/catalog/names.ts';
import { kubeconfigClient } from '../../operator/src/kube/client.ts';
import { createLogger, type Logger } from '../../operator/src/log.ts';
import { startProxy, type RunningProxy } from '../../operator/src/proxy/server.ts';
import { startOperator, type RunningOperator } from '../../operator/src/operator.ts';
import { kubectlOk, type KubectlTarget } from './kubectl.ts';
import { kindImage, provider } from './provider.ts';
import { repoRoot } from './paths.ts';

export const operatorNamespace = 'ctp-system';

export async function installConnectorCRD(cluster: KubectlTarget): Promise<void> {
  await kubectlOk(cluster, ['apply', '--server-side', '-f', join(repoRoot, crdFile)]);
  await kubectlOk(cluster, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/controlplaneconnections.connect.ctp.dev',
  ]);
}

/** A Secret in the operator namespace holding a kubeconfig under "value" (created or replaced). */
export function credentialSecret(app: KubectlTarget, name: string, kubeconfig: string): Promise<string> {
  return kubectlOk(
    app,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: operatorNamespace },
      stringData: { value: kubeconfig },
    }),
  );
}

/**
 * The operator as installed by `kubectl apply -k config/default` (CRD, namespace, least-privilege RBAC; its
 * Deployment never runs locally, and runs from the e2e image on kind), and the Secret "control-plane" with the
 * control plane's kubeconfig.
 */
export async function prepareConnector(app: KubectlTarget, controlPlaneKubeconfig: string): Promise<void> {
  let manifests = await kubectlOk(app, ['kustomize', join(repoRoot, 'config', 'default')]);
  // kind: the operator (and the proxies it creates) run from the image `make e2e-kind` built and loaded.
  if (provider() === 'kind') manifests = kindManifests(manifests);
  await kubectlOk(app, ['apply', '--server-side', '-f', '-'], manifests);
  await kubectlOk(app, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/controlplaneconnections.connect.ctp.dev',
  ]);
  await credentialSecret(app, 'control-plane', controlPlaneKubeconfig);
  if (provider() === 'kind')
    await kubectlOk(app, [
      '-n',
      operatorNamespace,
      'rollout',
      'status',
      'deployment/ctp-connector-operator',
      '--timeout=300s',
    ]);
}

/** The manifests with the operator and proxy images replaced by the one `make e2e-kind` loads. */
export function kindManifests(manifests: string): string {
  return manifests.replace(/(image|value): \S*ctp-connector:\S+/g, `$1: ${kindImage}`);
}

export const operatorServiceAccount = `system:serviceaccount:${operatorNamespace}:ctp-connector-operator`;

/**
 * A kubeconfig that acts as `user` through impersonation, so tests run the operator and the proxy with exactly the
 * rights their ServiceAccounts get from the manifests.
 */
export function impersonatingKubeconfig(cluster: KubectlTarget & { dir: string }, user: string): string {
  const config = load(readFileSync(cluster.kubeconfigPath, 'utf8')) as {
    users: { user: Record<string, unknown> }[];
  };
  for (const u of config.users) u.user.as = user;
  const path = join(cluster.dir, `as-${user.replace(/[^a-zA-Z0-9-]/g, '_')}.kubeconfig`);
  writeFileSync(path, dump(config), { mode: 0o600 });
  return path;
}

/** The entry point of every connector process: `node <mainScript> operator|proxy ...`. */
export const mainScript = join(repoRoot, 'operator', 'src', 'main.ts');

/** Arguments of `ctp-connector operator` with the operator ServiceAccount's rights (after the script). */
export function operatorProcessArgs(
  app: KubectlTarget & { dir: string },
  options: { leaderElect: boolean; localProxyPort: number; logLevel?: string },
): string[] {
  return [
    'operator',
    `--kubeconfig=${impersonatingKubeconfig(app, operatorServiceAccount)}`,
    `--namespace=${operatorNamespace}`,
    `--leader-elect=${options.leaderElect}`,
    '--metrics-bind-address=0',
    '--health-probe-bind-address=0',
    `--local-proxy-port=${options.localProxyPort}`,
    `--log-level=${options.logLevel ?? 'info'}`,
  ];
}

/** `ctp-connector operator` as its own process, with the operator ServiceAccount's rights. */
export function spawnOperatorProcess(
  app: KubectlTarget & { dir: string },
  options: { leaderElect: boolean; localProxyPort: number },
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [mainScript, ...operatorProcessArgs(app, options)]);
}

/** The user a connection's proxy acts as: its ServiceAccount. */
export const proxyServiceAccount = (connection: string): string =>
  `system:serviceaccount:${operatorNamespace}:${ownedNames(connection).proxy}`;

/** The operator in this process, with the operator ServiceAccount's rights. */
export function startTestOperator(
  app: KubectlTarget & { dir: string },
  localProxyPort: number,
  log: Logger = createLogger({ level: process.env.OPERATOR_LOG_LEVEL ?? 'silent' }),
  addresses: { metrics: string; health: string } = { metrics: '0', health: '0' },
): Promise<RunningOperator> {
  return startOperator({
    kubeconfig: impersonatingKubeconfig(app, operatorServiceAccount),
    settings: { namespace: operatorNamespace, image: 'ctp-connector:test', localProxyPort },
    leaderElect: false,
    metricsAddress: addresses.metrics,
    healthAddress: addresses.health,
    log,
  });
}

/** The proxy of a connection in this process, with its ServiceAccount's rights, on the operator's local port. */
export function startTestProxy(
  app: KubectlTarget & { dir: string },
  connection: string,
  port: number,
  log: Logger = createLogger({ level: 'silent' }),
  options: { metricsAddress?: string; reusePort?: boolean } = {},
): Promise<RunningProxy> {
  const kubeconfig = impersonatingKubeconfig(app, proxyServiceAccount(connection));
  return startProxy({
    app: kubeconfigClient(kubeconfig),
    connection,
    namespace: operatorNamespace,
    port,
    host: '127.0.0.1',
    metricsAddress: options.metricsAddress,
    reusePort: options.reusePort,
    log,
  });
}

export function connectionManifest(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'connect.ctp.dev/v1alpha1',
    kind: 'ControlPlaneConnection',
    metadata: { name },
    spec,
  });
}
