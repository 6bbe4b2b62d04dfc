// Connection Secrets of claims (spec.writeConnectionSecretToRef) are written by Crossplane in the control plane,
// under the mapped name; this copies each into the claim's app namespace under its original name, keeps it in
// sync, and removes it with the claim. Copies carry none of the claim's GitOps tracking metadata.
//
// Work is per copy: a claim or Secret event costs one key, whatever the number of claims (a pass over every claim
// per event saturated the proxy at 20 000 claims). A full pass (first sync, relists, every 10 minutes) compares
// with the copies in the app cluster and removes strays.
//
// The proxy holds no cluster-wide Secret rights: each replica reports the namespaces it delivers to (a key of its own
// in the secretNamespaces ConfigMap, refreshed every minute) and the operator binds it there (secretgrants.ts); until
// the binding exists a write fails and is retried. A Secret of that name that the connector did not deliver is never
// written over: the claim gets a Warning event instead (and an admission policy would refuse the write anyway).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { controlPlaneName, schemeOf } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { hostname } from 'node:os';
import {
  copiedFromLabel,
  deliveredByLabel,
  ownedNames,
  reportEveryMs,
  reportValidMs,
  type SecretNamespacesReport,
} from '../catalog/names.ts';
import type { EventRecorder } from '../controller/events.ts';
import { isForbidden } from '../kube/client.ts';
import { supervisedInformer } from '../controller/informer.ts';
import { createWorkQueue } from '../controller/workqueue.ts';
import type { KubeClient } from '../kube/client.ts';
import { apply, get, remove, type KubeObject } from '../kube/resources.ts';
import type { CachedClaim, ClaimCache } from './claimcache.ts';
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

/**
 * The merge patch of one replica's report: its own key, and null for the keys of replicas whose reports expired (a
 * replica that went away without saying so). Pure.
 */
export function reportPatch(
  identity: string,
  namespaces: string[],
  current: Record<string, string> | undefined,
  now: Date,
): { data: Record<string, string | null> } {
  const report: SecretNamespacesReport = { namespaces, at: now.toISOString() };
  const data: Record<string, string | null> = { [identity]: JSON.stringify(report) };
  for (const [key, value] of Object.entries(current ?? {})) {
    if (key === identity) continue;
    let at = NaN;
    try {
      at = Date.parse((JSON.parse(value) as Partial<SecretNamespacesReport>).at ?? '');
    } catch {
      // unreadable: as good as expired
    }
    if (!(now.getTime() - at <= reportValidMs)) data[key] = null;
  }
  return { data };
}

/** This replica's key in the report ConfigMap: its pod name and process, as a ConfigMap key may spell them. */
export function reportIdentity(host = hostname(), pid = process.pid): string {
  return `${host}.${pid}`.replace(/[^-._a-zA-Z0-9]/g, '_').slice(0, 253);
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

/** The queue key of the report of namespaces. */
const report = '#report';

export function startConnectionSecretSync(options: {
  app: KubeClient;
  controlPlane: KubeClient;
  catalog: Catalog;
  claims: ClaimCache;
  /** The operator's namespace, where the report ConfigMap is. */
  namespace: string;
  events: EventRecorder;
  log: Logger;
}): ConnectionSecretSync {
  const { app, controlPlane, catalog, claims, events, log } = options;
  const reportMap = { name: ownedNames(catalog.connection).secretNamespaces, namespace: options.namespace };
  const identity = reportIdentity();
  let reported: string | undefined; // the namespaces last reported, joined
  const scope = { clusterID: catalog.clusterID, targetNamespace: catalog.targetNamespace };
  const selector = `${copiedFromLabel},${deliveredByLabel}=${catalog.connection}`;
  const queue = createWorkQueue();

  const wants = new Map<string, WantedCopy>(); // claim uid → the copy it wants
  const wanters = new Map<string, Set<string>>(); // copy key → claim uids
  const bySource = new Map<string, string>(); // control-plane Secret name → copy key
  const applied = new Map<string, string>(); // copy key → fingerprint of what the app cluster holds
  const foreign = new Set<string>(); // copy keys held by a Secret the connector did not deliver (reported once)
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
    queue.add(report);
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

  const publish = async (force: boolean) => {
    const namespaces = namespacesOf(wanters.keys());
    if (!force && reported === namespaces.join(',')) return;
    const current = await get<KubeObject & { data?: Record<string, string> }>(app, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: reportMap,
    });
    if (!current) throw new Error(`ConfigMap ${reportMap.namespace}/${reportMap.name} does not exist yet`);
    await app.request('PATCH', `/api/v1/namespaces/${reportMap.namespace}/configmaps/${reportMap.name}`, {
      body: reportPatch(identity, namespaces, current.data, new Date()),
      contentType: 'application/merge-patch+json',
    });
    reported = namespaces.join(',');
  };

  /** Whether the app cluster's Secret at `key` may be written: absent, or one this connection delivered. */
  const writable = async (want: WantedCopy): Promise<boolean> => {
    const existing = await get<Secret>(app, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: want.secretName, namespace: want.origin.namespace },
    });
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
        if (wanters.has(key)) applied.set(key, copyFingerprint(existing));
        else await remove(app, { ...existing, apiVersion: 'v1', kind: 'Secret' });
      }
    }
    foreign.clear();
    for (const key of wanters.keys()) queue.add(key);
    queue.add(report);
  };

  const resync = setInterval(() => queue.add(fullPass), resyncMs);
  resync.unref();
  let heartbeat = false;
  const beat = setInterval(() => {
    heartbeat = true;
    queue.add(report);
  }, reportEveryMs);
  beat.unref();

  const worker = (async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        // Nothing is written or removed before both caches hold their first lists: never from a half-filled view.
        if (key === report) {
          if (ready) await publish(heartbeat);
          heartbeat = false;
        } else if (ready) await (key === fullPass ? syncAll() : syncCopy(key));
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
      clearInterval(beat);
      queue.shutDown();
      await worker;
      await secrets.stop();
      // Gone: the operator may unbind the namespaces no other replica reports (best effort; reports expire anyway).
      await app
        .request('PATCH', `/api/v1/namespaces/${reportMap.namespace}/configmaps/${reportMap.name}`, {
          body: { data: { [identity]: null } },
          contentType: 'application/merge-patch+json',
        })
        .catch(() => undefined);
    },
  };
}
