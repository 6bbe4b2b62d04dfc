// The app cluster's namespaces as kube-apiserver's NamespaceLifecycle admission sees them: a watch cache, and a
// live read when a namespace is not (yet) in it, since a client may create a namespace and a claim in it at once.
// kube-apiserver does not check aggregated resources itself, so the proxy does.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { supervisedInformer } from '../controller/informer.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';

export type NamespacePhase = 'Active' | 'Terminating' | 'Missing';

export interface Namespaces {
  phase(name: string): Promise<NamespacePhase>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

type Namespace = KubernetesObject & { status?: { phase?: string } };

export function phaseOf(ns: Namespace | undefined): NamespacePhase {
  if (!ns) return 'Missing';
  return ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating' ? 'Terminating' : 'Active';
}

export function watchNamespaces(app: KubeClient, log: Logger): Namespaces {
  const informer = supervisedInformer<Namespace>({
    client: app,
    path: '/api/v1/namespaces',
    log: log.child({ watch: 'namespaces' }),
    onEvent: () => undefined,
  });
  return {
    start: () => informer.start(),
    stop: () => informer.stop(),
    async phase(name) {
      const cached = informer.synced() ? informer.get(name) : undefined;
      if (cached) return phaseOf(cached);
      try {
        return phaseOf(await app.request<Namespace>('GET', `/api/v1/namespaces/${encodeURIComponent(name)}`));
      } catch (err) {
        if (isNotFound(err)) return 'Missing';
        throw err;
      }
    },
  };
}
