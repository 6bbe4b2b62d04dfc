// Connection Secrets of claims (spec.writeConnectionSecretToRef) are written by Crossplane in the control plane,
// under the mapped name; this copies each into the claim's app namespace under its original name, keeps it in
// sync, and removes it with the claim. Copies carry none of the claim's GitOps tracking metadata.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { controlPlaneName } from '../claims/identity.ts';
import { connectionLabel } from '../connection/names.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { supervisedInformer } from '../controller/informer.ts';
import { createWorkQueue } from '../controller/workqueue.ts';
import type { KubeClient } from '../kube/client.ts';
import { apply, remove, type KubeObject } from '../kube/resources.ts';
import type { ClaimCache } from './claimcache.ts';
import { connectionSecretAnnotation, originOf } from './translate.ts';

export const copiedFromLabel = 'connect.ctp.dev/connection-secret-of';

type Secret = KubeObject & { data?: Record<string, string>; type?: string };

export interface ConnectionSecretSync {
  stop(): Promise<void>;
}

/** The app-side Secret for a stored claim's connection Secret. Pure. */
export function appSecret(
  claim: { namespace: string; name: string; kind: string; connection: string },
  secretName: string,
  source: Secret,
): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: claim.namespace,
      labels: {
        'app.kubernetes.io/managed-by': 'ctp-connector',
        [copiedFromLabel]: `${claim.kind}.${claim.name}`.slice(0, 63).replace(/[^A-Za-z0-9]+$/, ''),
        // Copies of one connection only: another connection in the cluster keeps its own.
        [connectionLabel]: claim.connection,
      },
    },
    type: source.type ?? 'connection.crossplane.io/v1alpha1',
    data: source.data ?? {},
  };
}

export function startConnectionSecretSync(options: {
  app: KubeClient;
  controlPlane: KubeClient;
  catalog: Catalog;
  claims: ClaimCache;
  log: Logger;
}): ConnectionSecretSync {
  const { app, controlPlane, catalog, claims, log } = options;
  const scope = { clusterID: catalog.clusterID, targetNamespace: catalog.targetNamespace };
  const queue = createWorkQueue();
  const enqueue = () => queue.add('sync');
  claims.onChange(enqueue);
  const secrets = supervisedInformer<Secret & KubernetesObject>({
    client: controlPlane,
    path: `/api/v1/namespaces/${scope.targetNamespace}/secrets`,
    log: log.child({ watch: 'connection-secrets' }),
    onEvent: enqueue,
  });

  // One pass compares everything: connection Secrets are few, and a full pass is simple to get right.
  const sync = async () => {
    const wanted = new Map<string, Secret>();
    for (const claim of claims.all()) {
      const origin = originOf(claim, scope);
      const secretName = claim.metadata.annotations?.[connectionSecretAnnotation];
      if (!origin || !secretName) continue;
      const source = secrets.get(
        controlPlaneName(secretName, origin.namespace, scope.clusterID),
        scope.targetNamespace,
      );
      if (!source) continue;
      const copy = appSecret(
        { ...origin, kind: claim.kind ?? 'claim', connection: catalog.connection },
        secretName,
        source,
      );
      wanted.set(`${origin.namespace}/${secretName}`, copy);
    }
    for (const copy of wanted.values()) await apply(app, copy);
    const copies = await app.request<{ items: Secret[] }>('GET', '/api/v1/secrets', {
      query: { labelSelector: `${copiedFromLabel},${connectionLabel}=${catalog.connection}` },
    });
    for (const existing of copies.items.map((s) => ({ ...s, apiVersion: 'v1', kind: 'Secret' }))) {
      if (!wanted.has(`${existing.metadata.namespace}/${existing.metadata.name}`))
        await remove(app, existing);
    }
  };

  const worker = (async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await sync();
        queue.forget(key);
      } catch (err) {
        log.warn({ err: String(err) }, 'connection secret sync failed; retrying');
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  })();

  // Copies are only removed after both caches hold their first lists, never from a half-filled view.
  void Promise.all([secrets.start(), claims.synced]).then(enqueue);
  return {
    async stop() {
      queue.shutDown();
      await worker;
      await secrets.stop();
    },
  };
}
