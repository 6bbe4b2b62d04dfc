// Connection Secrets of claims (spec.writeConnectionSecretToRef) are written by Crossplane in the control plane,
// under the mapped name; this copies each into the claim's app namespace under its original name, keeps it in
// sync, and removes it with the claim. Copies carry none of the claim's GitOps tracking metadata.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { controlPlaneName } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { supervisedInformer } from '../controller/informer.ts';
import { createWorkQueue } from '../controller/workqueue.ts';
import type { KubeClient } from '../kube/client.ts';
import { apply, remove, type KubeObject } from '../kube/resources.ts';
import type { ClaimCache } from './claimcache.ts';
import { connectionSecretAnnotation, originOf } from './translate.ts';

export const copiedFromLabel = 'connect.ctp.dev/connection-secret-of';
export const deliveredByLabel = 'connect.ctp.dev/delivered-by';

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
        // Copies of one connection only: another connection in the cluster keeps its own. (Not the connection
        // label: that marks what the operator owns in its namespace.)
        [deliveredByLabel]: claim.connection,
      },
    },
    type: source.type ?? 'connection.crossplane.io/v1alpha1',
    data: source.data ?? {},
  };
}

/**
 * What a pass writes: the wanted copies that differ from what was last applied (by fingerprint), and whether
 * stray copies may exist (something applied before is no longer wanted). Pure.
 */
export function planCopies(
  wanted: ReadonlyMap<string, Secret>,
  applied: ReadonlyMap<string, string>,
): { writes: { key: string; copy: Secret; fingerprint: string }[]; strays: boolean } {
  const writes = [];
  for (const [key, copy] of wanted) {
    const fingerprint = JSON.stringify(copy);
    if (applied.get(key) !== fingerprint) writes.push({ key, copy, fingerprint });
  }
  return { writes, strays: [...applied.keys()].some((key) => !wanted.has(key)) };
}

/** Every copy rewritten and strays (copies edited or deleted by hand, left from a crash) removed this often. */
const resyncMs = 10 * 60_000;

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

  const wantedCopies = () => {
    const wanted = new Map<string, Secret>();
    for (const claim of claims.all()) {
      // Checked first: most claims have no connection Secret, and a pass runs after every claim event.
      const secretName = claim.metadata.annotations?.[connectionSecretAnnotation];
      if (!secretName) continue;
      const origin = originOf(claim, scope);
      if (!origin) continue;
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
    return wanted;
  };

  // Copies are only removed after both caches hold their first lists, never from a half-filled view.
  let ready = false;
  let applied = new Map<string, string>();
  let resyncDue = true;
  const sync = async () => {
    if (!ready) return;
    const wanted = wantedCopies();
    const plan = planCopies(wanted, applied);
    for (const { key, copy, fingerprint } of plan.writes) {
      await apply(app, copy);
      applied.set(key, fingerprint);
    }
    if (!plan.strays && !resyncDue) return;
    const copies = await app.request<{ items: Secret[] }>('GET', '/api/v1/secrets', {
      query: { labelSelector: `${copiedFromLabel},${deliveredByLabel}=${catalog.connection}` },
    });
    for (const existing of copies.items.map((s) => ({ ...s, apiVersion: 'v1', kind: 'Secret' }))) {
      if (!wanted.has(`${existing.metadata.namespace}/${existing.metadata.name}`))
        await remove(app, existing);
    }
    for (const key of applied.keys()) if (!wanted.has(key)) applied.delete(key);
    resyncDue = false;
  };
  const resync = setInterval(() => {
    applied = new Map();
    resyncDue = true;
    enqueue();
  }, resyncMs);
  resync.unref();

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

  void Promise.all([secrets.start(), claims.synced]).then(() => {
    ready = true;
    enqueue();
  });
  return {
    async stop() {
      clearInterval(resync);
      queue.shutDown();
      await worker;
      await secrets.stop();
    },
  };
}
