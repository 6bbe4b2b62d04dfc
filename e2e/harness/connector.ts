// Setting up the connector on the shared clusters the way tests need it: its CRD, the operator namespace with a
// control-plane credential, and an operator running in the test process (local proxy mode).
import { join } from 'node:path';
import { crdFile } from '../../operator/src/api/crd.ts';
import { createLogger } from '../../operator/src/log.ts';
import { startOperator, type RunningOperator } from '../../operator/src/operator.ts';
import { kubectl, kubectlOk, type KubectlTarget } from './kubectl.ts';
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

/** CRD, operator namespace, and the Secret "control-plane" with the control plane's admin kubeconfig. */
export async function prepareConnector(app: KubectlTarget, controlPlaneKubeconfig: string): Promise<void> {
  await installConnectorCRD(app);
  await kubectl(app, ['create', 'namespace', operatorNamespace]);
  await credentialSecret(app, 'control-plane', controlPlaneKubeconfig);
}

export function startTestOperator(
  app: { kubeconfigPath: string },
  localProxyPort: number,
): Promise<RunningOperator> {
  return startOperator({
    kubeconfig: app.kubeconfigPath,
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
