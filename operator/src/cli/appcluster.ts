// The app cluster the CLI talks to: the user's kubeconfig (--kubeconfig, else KUBECONFIG or ~/.kube/config, else
// in-cluster), optionally another context of it.
import { kubeClient, type KubeClient } from '../kube/client.ts';
import { loadKubeconfig, selectContext } from '../kube/kubeconfig.ts';
import type { AppCluster } from './args.ts';
import { usageError } from './exit.ts';

export function appClusterClient(app: AppCluster): KubeClient {
  try {
    return kubeClient(selectContext(loadKubeconfig(app.kubeconfig), app.context), 'ctp-connector-cli');
  } catch (err) {
    const what = app.context ? `--context "${app.context}"` : "the app cluster's kubeconfig";
    throw usageError(`cannot use ${what}: ${(err as Error).message} (use --kubeconfig or --context)`);
  }
}
