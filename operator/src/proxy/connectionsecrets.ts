// Connection Secrets of claims (spec.writeConnectionSecretToRef) are written by Crossplane in the control plane,
// under the mapped name; this copies each into the claim's app namespace under its original name, keeps it in
// sync, and removes it with the claim. Copies carry none of the claim's GitOps tracking metadata.
//
// Work is per copy: a claim or Secret event costs one key, whatever the number of claims (a pass over every claim
// per event saturated the proxy at 20 000 claims). A full pass (first sync, relists, every 10 minutes) compares
// with the copies in the app cluster and removes strays.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { controlPlaneName, schemeOf } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { supervisedInformer } from '../controller/informer.ts';
import { createWorkQueue } from '../controller/workqueue.ts';
import type { KubeClient } from '../kube/client.ts';
import { apply, remove, type KubeObject } from '../kube/resources.ts';
import type { CachedClaim, ClaimCache } from './claimcache.ts';
import { connectionSecretAnnotation, originOf, type Scope } from './translate.ts';

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

/** The connection Secret copy a claim wants, keyed `<app namespace>/<Secret name>`. */
export interface WantedCopy {
  key: string;
  secretName: string;
  /** The control-plane Secret it copies. */
  source: string;
  origin: { namespace: string; name: string };
  kind: string;
}

/** The copy a stored claim wants; undefined when it wants none or is not this cluster's. Pure. */
export function wantedCopyOf(claim: CachedClaim, scope: Scope): WantedCopy | undefined {
  const secretName = claim.metadata.annotations?.[connectionSecretAnnotation];
  if (!secretName) return undefined;
  const origin = originOf(claim, scope);
  if (!origin) return undefined;
  return {
    key: `${origin.namespace}/${secretName}`,
    secretName,
    source: controlPlaneName(secretName, origin.namespace, scope.clusterID, schemeOf(claim)),
    origin,
    kind: claim.kind ?? 'claim',
  };
}

const copyLabels = ['app.kubernetes.io/managed-by', copiedFromLabel, deliveredByLabel];

/** What makes two copies the same for the app cluster: place, type, our labels and data. Pure. */
export function copyFingerprint(secret: Secret): string {
  const labels = secret.metadata.labels ?? {};
  const data = Object.entries(secret.data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    secret.metadata.namespace,
    secret.metadata.name,
    secret.type ?? '',
    copyLabels.map((key) => labels[key] ?? null),
    data,
  ]);
}

/** Every copy compared with the app cluster and strays removed this often, beyond first sync and relists. */
const resyncMs = 10 * 60_000;
/** The queue key of a full pass; copy keys always contain a '/'. */
const fullPass = '*';

export function startConnectionSecretSync(options: {
  app: KubeClient;
  controlPlane: KubeClient;
  catalog: Catalog;
  claims: ClaimCache;
  log: Logger;
}): ConnectionSecretSync {
  const { app, controlPlane, catalog, claims, log } = options;
  const scope = { clusterID: catalog.clusterID, targetNamespace: catalog.targetNamespace };
  const selector = `${copiedFromLabel},${deliveredByLabel}=${catalog.connection}`;
  const queue = createWorkQueue();

  const wants = new Map<string, WantedCopy>(); // claim uid → the copy it wants
  const wanters = new Map<string, Set<string>>(); // copy key → claim uids
  const bySource = new Map<string, string>(); // control-plane Secret name → copy key
  const applied = new Map<string, string>(); // copy key → fingerprint of what the app cluster holds
  let ready = false;

  const setWant = (uid: string, want: WantedCopy | undefined) => {
    const before = wants.get(uid);
    if (want) wants.set(uid, want);
    else wants.delete(uid);
    if (before?.key === want?.key) return;
    if (before) {
      const uids = wanters.get(before.key);
      uids?.delete(uid);
      if (!uids?.size) {
        wanters.delete(before.key);
        bySource.delete(before.source);
      }
      queue.add(before.key);
    }
    if (want) {
      wanters.set(want.key, (wanters.get(want.key) ?? new Set()).add(uid));
      bySource.set(want.source, want.key);
      queue.add(want.key);
    }
  };

  claims.onChange((change) => {
    if (change.event === 'listed') return queue.add(fullPass);
    const uid = change.claim.metadata.uid;
    if (uid) setWant(uid, change.event === 'delete' ? undefined : wantedCopyOf(change.claim, scope));
  });
  const secrets = supervisedInformer<Secret & KubernetesObject>({
    client: controlPlane,
    path: `/api/v1/namespaces/${scope.targetNamespace}/secrets`,
    log: log.child({ watch: 'connection-secrets' }),
    onEvent: (_event, secret) => {
      const key = bySource.get(secret.metadata?.name ?? '');
      if (key) queue.add(key);
    },
    onListed: () => queue.add(fullPass),
  });

  const syncCopy = async (key: string) => {
    const [uid] = wanters.get(key) ?? [];
    const want = uid === undefined ? undefined : wants.get(uid);
    const source = want && secrets.get(want.source, scope.targetNamespace);
    if (want && source) {
      const copy = appSecret(
        { ...want.origin, kind: want.kind, connection: catalog.connection },
        want.secretName,
        source,
      );
      const fingerprint = copyFingerprint(copy);
      if (applied.get(key) === fingerprint) return;
      await apply(app, copy);
      applied.set(key, fingerprint);
    } else if (applied.has(key)) {
      const [namespace, name] = key.split('/') as [string, string];
      await remove(app, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } });
      applied.delete(key);
    }
  };

  const syncAll = async () => {
    const seen = new Set<string>();
    for (const claim of claims.all()) {
      const uid = claim.metadata.uid;
      if (!uid) continue;
      seen.add(uid);
      setWant(uid, wantedCopyOf(claim, scope));
    }
    for (const uid of [...wants.keys()]) if (!seen.has(uid)) setWant(uid, undefined);
    const copies = await app.request<{ items: Secret[] }>('GET', '/api/v1/secrets', {
      query: { labelSelector: selector },
    });
    applied.clear();
    for (const existing of copies.items) {
      const key = `${existing.metadata.namespace}/${existing.metadata.name}`;
      if (wanters.has(key)) applied.set(key, copyFingerprint(existing));
      else await remove(app, { ...existing, apiVersion: 'v1', kind: 'Secret' });
    }
    for (const key of wanters.keys()) queue.add(key);
  };

  const resync = setInterval(() => queue.add(fullPass), resyncMs);
  resync.unref();

  const worker = (async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        // Nothing is written or removed before both caches hold their first lists: never from a half-filled view.
        if (ready) await (key === fullPass ? syncAll() : syncCopy(key));
        queue.forget(key);
      } catch (err) {
        log.warn({ err: String(err), copy: key }, 'connection secret sync failed; retrying');
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  })();

  void Promise.all([secrets.start(), claims.synced]).then(() => {
    ready = true;
    queue.add(fullPass);
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
