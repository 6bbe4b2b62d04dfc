// Setting up the connector on the shared clusters the way tests need it: its CRD, the operator namespace with a
// control-plane credential, and an operator running in the test process (local proxy mode).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { crdFile } from '../../operator/src/api/crd.ts';
import { createLogger } from '../../operator/src/log.ts';
import { startOperator, type RunningOperator } from '../../operator/src/operator.ts';
import { kubectlOk, type KubectlTarget } from './kubectl.ts';
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
 * Deployment never runs here), and the Secret "control-plane" with the control plane's admin kubeconfig.
 */
export async function prepareConnector(app: KubectlTarget, controlPlaneKubeconfig: string): Promise<void> {
  await kubectlOk(app, ['apply', '--server-side', '-k', join(repoRoot, 'config', 'default')]);
  await kubectlOk(app, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/controlplaneconnections.connect.ctp.dev',
  ]);
  await credentialSecret(app, 'control-plane', controlPlaneKubeconfig);
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

/** The operator in this process, with the operator ServiceAccount's rights. */
export function startTestOperator(
  app: KubectlTarget & { dir: string },
  localProxyPort: number,
): Promise<RunningOperator> {
  return startOperator({
    kubeconfig: impersonatingKubeconfig(app, operatorServiceAccount),
    settings: { namespace: operatorNamespace, image: 'ctp-connector:test', localProxyPort },
    leaderElect: false,
    metricsAddress: '0',
    healthAddress: '0',
    log: createLogger({ level: process.env.OPERATOR_LOG_LEVEL ?? 'silent' }),
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
