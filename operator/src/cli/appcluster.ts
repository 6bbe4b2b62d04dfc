// The app cluster the CLI talks to: the user's kubeconfig (--kubeconfig, else KUBECONFIG or ~/.kube/config, else
// in-cluster), optionally another context of it.
import { kubeClient, pooledKubeConfig, type KubeClient } from '../kube/client.ts';
import type { AppCluster } from './args.ts';
import { usageError } from './exit.ts';

export function appClusterClient(app: AppCluster): KubeClient {
  const kc = pooledKubeConfig((k) => {
    try {
      if (app.kubeconfig) k.loadFromFile(app.kubeconfig);
      else k.loadFromDefault();
    } catch (err) {
      throw usageError(
        `cannot load the app cluster's kubeconfig${app.kubeconfig ? ` ${app.kubeconfig}` : ''}: ${(err as Error).message}`,
      );
    }
    if (app.context) {
      if (!k.getContextObject(app.context)) {
        throw usageError(
          `--context "${app.context}": no such context (have: ${
            k
              .getContexts()
              .map((c) => c.name)
              .join(', ') || 'none'
          })`,
        );
      }
      k.setCurrentContext(app.context);
    }
  });
  if (!kc.getCurrentCluster()) {
    throw usageError('no app cluster: the kubeconfig has no current context (use --kubeconfig or --context)');
  }
  return kubeClient(kc, 'ctp-connector-cli');
}
