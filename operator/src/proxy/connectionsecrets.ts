// Connection Secrets of claims (spec.writeConnectionSecretToRef) are written by Crossplane in the control plane,
// under the mapped name; this copies each into the claim's app namespace under its original name, keeps it in
// sync, and removes it with the claim. Copies carry none of the claim's GitOps tracking metadata.
//
// Work is per copy: a claim or Secret event costs one key, whatever the number of claims (a pass over every claim
// per event saturated the proxy at 20 000 claims). A full pass (first sync, relists, every 10 minutes) compares
// with the copies in the app cluster and removes strays.
//
// The proxy holds no cluster-wide Secret rights: each replica reports the namespaces it delivers to (report.ts) and
// the operator binds it there (connection/secretgrants.ts); until the binding exists a write fails and is retried. A Secret of that name that the connector did not deliver is never
// written over: the claim gets a Warning event instead (and an admission policy would refuse the write anyway).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { controlPlaneName, schemeOf } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { copiedFromLabel, deliveredByLabel, releasedAnnotation } from '../catalog/names.ts';
import type { EventRecorder } from '../controller/events.ts';
import { isForbidden } from '../kube/client.ts';
import { supervisedInformer } from '../controller/informer.ts';
import { createWorkQueue } from '../controller/workqueue.ts';
import type { KubeClient } from '../kube/client.ts';
import { apply, get, remove, type KubeObject } from '../kube/resources.ts';
import type { CachedClaim, ClaimCache } from './claimcache.ts';
import type { ReplicaReport } from './report.ts';
import { connectionSecretAnnotation, originOf, type Scope } from './translate.ts';

export { copiedFromLabel, deliveredByLabel };

type Secret = KubeObject & { data?: Record<string, string>; type?: string };

export interface ConnectionSecretSync {
  stop(): Promise<void>;
}

/** The app-side Secret for a stored claim's connection Secret. Pure. */
export function appSecret(
  claim: { namespace: string; name: string; kind: string; connection: string; apiVersion?: string },
  secretName: string,
  source: Secret,
): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: claim.namespace,
      // Labels are cut at 63 characters: the annotations name the connection and the claim in full.
      annotations: {
        [deliveredByLabel]: claim.connection,
        [copiedFromLabel]: `${claim.kind}${groupOf(claim.apiVersion)}/${claim.name}`,
      },
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

/** ".<group>" of an apiVersion, or nothing for the core group. */
const groupOf = (apiVersion = '') => (apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : '');

/** The connection Secret copy a claim wants, keyed `<app namespace>/<Secret name>`. */
export interface WantedCopy {
  key: string;
  secretName: string;
  /** The control-plane Secret it copies. */
  source: string;
  origin: { namespace: string; name: string };
  kind: string;
  apiVersion?: string;
  uid?: string;
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
    apiVersion: claim.apiVersion,
    uid: claim.metadata.uid,
  };
}

/** The namespaces the wanted copies are in, sorted. Pure. */
export function namespacesOf(keys: Iterable<string>): string[] {
  return [...new Set([...keys].map((key) => key.slice(0, key.indexOf('/'))))].sort();
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
  /** Where the namespaces the copies are in are reported, for the operator to bind the proxy there. */
  report: ReplicaReport;
  events: EventRecorder;
  log: Logger;
}): ConnectionSecretSync {
  const { app, controlPlane, catalog, claims, report, events, log } = options;
  const scope = { clusterID: catalog.clusterID, targetNamespace: catalog.targetNamespace };
  const selector = `${copiedFromLabel},${deliveredByLabel}=${catalog.connection}`;
  const queue = createWorkQueue();

  const wants = new Map<string, WantedCopy>(); // claim uid → the copy it wants
  const wanters = new Map<string, Set<string>>(); // copy key → claim uids
  const bySource = new Map<string, string>(); // control-plane Secret name → copy key
  const applied = new Map<string, string>(); // copy key → fingerprint of what the app cluster holds
  const foreign = new Set<string>(); // copy keys held by a Secret the connector did not deliver (reported once)
  const released = new Set<string>(); // copy keys held by a copy a previous connection of this name kept
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
    if (ready) report.setNamespaces(namespacesOf(wanters.keys()));
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

  /** Whether the app cluster's Secret at `key` may be written: absent, or one this connection delivered. */
  const writable = async (want: WantedCopy): Promise<boolean> => {
    const existing = await get<Secret>(app, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: want.secretName, namespace: want.origin.namespace },
    });
    if (existing?.metadata.annotations?.[releasedAnnotation]) released.add(want.key);
    if (!existing || existing.metadata.labels?.[deliveredByLabel] === catalog.connection) return true;
    if (!foreign.has(want.key)) {
      foreign.add(want.key);
      events.event(
        {
          apiVersion: want.apiVersion ?? '',
          kind: want.kind,
          name: want.origin.name,
          namespace: want.origin.namespace,
          uid: want.uid,
        },
        'Warning',
        'ConnectionSecretConflict',
        `Secret ${want.key} exists and was not delivered by connection ${catalog.connection}: it is left as it is and the claim's connection details are not delivered; rename one of them`,
      );
      log.warn({ copy: want.key }, 'a Secret the connector did not deliver holds the name; not written over');
    }
    return false;
  };

  const syncCopy = async (key: string) => {
    const [uid] = wanters.get(key) ?? [];
    const want = uid === undefined ? undefined : wants.get(uid);
    const source = want && secrets.get(want.source, scope.targetNamespace);
    if (want && source) {
      const copy = appSecret(
        { ...want.origin, kind: want.kind, apiVersion: want.apiVersion, connection: catalog.connection },
        want.secretName,
        source,
      );
      const fingerprint = copyFingerprint(copy);
      if (applied.get(key) === fingerprint) return;
      // Not known to be ours (first write, or after a full pass did not find it): look before writing.
      if (!applied.has(key) && !(await writable(want))) return;
      foreign.delete(key);
      await apply(app, copy);
      // Kept by a connection of this name that went, wanted again now: this connection's to manage (and remove).
      if (released.has(key)) {
        await app.request('PATCH', `/api/v1/namespaces/${want.origin.namespace}/secrets/${want.secretName}`, {
          body: { metadata: { annotations: { [releasedAnnotation]: null } } },
          contentType: 'application/merge-patch+json',
        });
        released.delete(key);
      }
      applied.set(key, fingerprint);
    } else if (applied.has(key)) {
      const [namespace, name] = key.split('/') as [string, string];
      await removeCopy(
        await get<Secret>(app, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } }),
      );
      applied.delete(key);
    }
  };

  /** Removes a copy no claim wants any more, unless the operator kept it for the workloads (released). */
  const removeCopy = async (copy: Secret | undefined) => {
    if (!copy || copy.metadata.annotations?.[releasedAnnotation]) return;
    await remove(app, { ...copy, apiVersion: 'v1', kind: 'Secret' });
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
    // Only where this proxy is bound: strays elsewhere are the operator's to remove when it unbinds.
    applied.clear();
    for (const namespace of namespacesOf(wanters.keys())) {
      let copies: { items: Secret[] };
      try {
        copies = await app.request<{ items: Secret[] }>('GET', `/api/v1/namespaces/${namespace}/secrets`, {
          query: { labelSelector: selector },
        });
      } catch (err) {
        if (isForbidden(err)) continue; // not bound yet: its copies are retried one by one
        throw err;
      }
      for (const existing of copies.items) {
        const key = `${existing.metadata.namespace}/${existing.metadata.name}`;
        if (wanters.has(key)) {
          // A released copy is rewritten once, to take it back (its fingerprint never matches).
          if (existing.metadata.annotations?.[releasedAnnotation]) released.add(key);
          else applied.set(key, copyFingerprint(existing));
        } else await removeCopy(existing);
      }
    }
    foreign.clear();
    for (const key of wanters.keys()) queue.add(key);
    report.setNamespaces(namespacesOf(wanters.keys()));
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
