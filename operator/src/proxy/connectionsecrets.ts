// Connection Secrets of claims (spec.writeConnectionSecretToRef) are written by Crossplane in the control plane,
// under the mapped name; this copies each into the claim's app namespace under its original name, keeps it in
// sync, and removes it with the claim. Copies carry none of the claim's GitOps tracking metadata.
//
// v2 namespaced XRs have no writeConnectionSecretToRef of Crossplane's: their compositions compose Secrets of
// connection details in the XR's namespace, targetNamespace. Those a v2 XR of this cluster lists in
// spec.crossplane.resourceRefs are copied the same way, under the app name claims/composed.ts gives them, and only
// while the Secret's controller reference is that XR's uid (as Crossplane itself takes only what it controls for
// composed): a name, a label or a reference written by a client never makes another's Secret this cluster's.
//
// Work is per copy: a claim or Secret event costs one key, whatever the number of claims (a pass over every claim
// per event saturated the proxy at 20 000 claims). A full pass (first sync, relists, every 10 minutes) compares
// with the copies in the app cluster and removes strays.
//
// The proxy holds no cluster-wide Secret rights: each replica reports the namespaces it delivers to (report.ts) and
// the operator binds it there (connection/secretgrants.ts); until the binding exists a write fails and is retried. A Secret of that name that the connector did not deliver is never
// written over: the claim gets a Warning event instead (and an admission policy would refuse the write anyway).
// Two objects of this cluster wanting one copy (two claims naming one Secret, two XRs' composed names meeting): the
// oldest keeps it, the other gets the same Warning.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { appComposedName } from '../claims/composed.ts';
import { controlPlaneName, schemeOf } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { copiedFromLabel, deliveredByLabel, releasedAnnotation } from '../catalog/names.ts';
import type { EventRecorder } from '../controller/events.ts';
import { isForbidden } from '../kube/client.ts';
import { supervisedInformer } from '../controller/informer.ts';
import { createWorkQueue, work } from '../controller/workqueue.ts';
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

/** A connection Secret copy an object wants, keyed `<app namespace>/<Secret name>`. */
export interface WantedCopy {
  key: string;
  secretName: string;
  /** The control-plane Secret it copies. */
  source: string;
  origin: { namespace: string; name: string };
  kind: string;
  apiVersion?: string;
  uid?: string;
  /** When the wanting object was created: of two wanting one copy, the oldest keeps it. */
  created?: string;
  /** A composed Secret: copied only while its controller reference is the XR's uid (this). */
  controller?: string;
}

/** The copy a stored claim's writeConnectionSecretToRef wants; undefined when none or not this cluster's. Pure. */
export function wantedCopyOf(claim: CachedClaim, scope: Scope): WantedCopy | undefined {
  const secretName = claim.metadata.annotations?.[connectionSecretAnnotation];
  if (!secretName) return undefined;
  const origin = originOf(claim, scope);
  if (!origin) return undefined;
  return {
    key: `${origin.namespace}/${secretName}`,
    secretName,
    source: controlPlaneName(secretName, origin.namespace, scope.clusterID, schemeOf(claim)),
    ...wanter(claim, origin),
  };
}

const wanter = (obj: CachedClaim, origin: { namespace: string; name: string }) => ({
  origin,
  kind: obj.kind ?? 'claim',
  apiVersion: obj.apiVersion,
  uid: obj.metadata.uid,
  created: obj.metadata.creationTimestamp ? String(obj.metadata.creationTimestamp) : undefined,
});

interface ResourceRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
}

/** The Secrets a v2 XR lists as composed for it (spec.crossplane.resourceRefs). */
function composedSecretsOf(obj: CachedClaim): string[] {
  const crossplane = (obj.spec as { crossplane?: { resourceRefs?: unknown } } | undefined)?.crossplane;
  const refs = Array.isArray(crossplane?.resourceRefs) ? (crossplane.resourceRefs as ResourceRef[]) : [];
  return refs
    .filter((ref) => ref?.apiVersion === 'v1' && ref.kind === 'Secret' && typeof ref.name === 'string')
    .map((ref) => ref.name!);
}

/**
 * Every copy a stored object of this cluster wants — its writeConnectionSecretToRef copy, and for a v2 XR one per
 * Secret composed for it — and the composed Secrets that get none, since their names do not derive from the XR's.
 * Nothing for another cluster's objects. Pure.
 */
export function wantedCopiesOf(obj: CachedClaim, scope: Scope): { copies: WantedCopy[]; unnamed: string[] } {
  const origin = originOf(obj, scope);
  if (!origin) return { copies: [], unnamed: [] };
  const own = wantedCopyOf(obj, scope);
  const copies = own ? [own] : [];
  const unnamed: string[] = [];
  const xr = { appName: origin.name, storedName: obj.metadata.name ?? '' };
  for (const composed of composedSecretsOf(obj)) {
    // A composition that writes the XR's writeConnectionSecretToRef (the Crossplane docs' way): copied as above.
    if (composed === own?.source) continue;
    const secretName = appComposedName(xr, composed);
    if (!secretName) {
      unnamed.push(composed);
      continue;
    }
    const key = `${origin.namespace}/${secretName}`;
    if (copies.some((copy) => copy.key === key)) continue;
    copies.push({ key, secretName, source: composed, ...wanter(obj, origin), controller: obj.metadata.uid });
  }
  return { copies, unnamed };
}

/** Whether a control-plane Secret may be copied for `want`: a composed one only while the XR controls it. Pure. */
export function deliverable(want: WantedCopy, source: Secret): boolean {
  if (want.controller === undefined) return true;
  const refs = (source.metadata.ownerReferences ?? []) as { controller?: boolean; uid?: string }[];
  return refs.some((ref) => ref.controller === true && ref.uid === want.controller);
}

/** Of the objects wanting one copy, the one that gets it: the oldest, then the least uid (stable). Pure. */
export function ownerOf(wants: readonly WantedCopy[]): WantedCopy | undefined {
  const time = (want: WantedCopy) => {
    const t = Date.parse(want.created ?? '');
    return Number.isNaN(t) ? Infinity : t;
  };
  const before = (a: WantedCopy, b: WantedCopy) =>
    time(a) < time(b) || (time(a) === time(b) && (a.uid ?? '') < (b.uid ?? ''));
  return wants.reduce<WantedCopy | undefined>(
    (owner, want) => (!owner || before(want, owner) ? want : owner),
    undefined,
  );
}

/** The namespaces the wanted copies are in, sorted. Pure. */
export function namespacesOf(keys: Iterable<string>): string[] {
  return [...new Set([...keys].map((key) => key.slice(0, key.indexOf('/'))))].sort();
}

/**
 * The namespaces of a set of copy keys, kept as keys join (`added`) and leave (`removed`) the set; each says whether
 * the namespaces changed with it. Equal to namespacesOf(the set) at every step.
 */
export function namespaceTally(): {
  added(key: string): boolean;
  removed(key: string): boolean;
  namespaces(): string[];
} {
  const keys = new Map<string, number>();
  const namespaceOf = (key: string) => key.slice(0, key.indexOf('/'));
  return {
    added(key) {
      const namespace = namespaceOf(key);
      const count = keys.get(namespace) ?? 0;
      keys.set(namespace, count + 1);
      return count === 0;
    },
    removed(key) {
      const namespace = namespaceOf(key);
      const count = (keys.get(namespace) ?? 0) - 1;
      if (count > 0) keys.set(namespace, count);
      else keys.delete(namespace);
      return count <= 0;
    },
    namespaces: () => [...keys.keys()].sort(),
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
  /** Where the namespaces the copies are in are reported, for the operator to bind the proxy there. */
  report: ReplicaReport;
  events: EventRecorder;
  log: Logger;
}): ConnectionSecretSync {
  const { app, controlPlane, catalog, claims, report, events, log } = options;
  const scope = { clusterID: catalog.clusterID, targetNamespace: catalog.targetNamespace };
  const selector = `${copiedFromLabel},${deliveredByLabel}=${catalog.connection}`;
  const queue = createWorkQueue();

  const wants = new Map<string, Map<string, WantedCopy>>(); // object uid → the copies it wants, by key
  const wanters = new Map<string, Map<string, WantedCopy>>(); // copy key → who wants it, by object uid
  const bySource = new Map<string, Set<string>>(); // control-plane Secret name → copy keys
  const applied = new Map<string, string>(); // copy key → fingerprint of what the app cluster holds
  const foreign = new Set<string>(); // copy keys held by a Secret the connector did not deliver (reported once)
  const released = new Set<string>(); // copy keys held by a copy a previous connection of this name kept
  const shadowed = new Set<string>(); // "<key> <uid>": wanted by an older object too (reported once)
  const unnamedSeen = new Map<string, Set<string>>(); // object uid → composed Secrets without an app name (reported)
  let ready = false;

  // The namespaces of `wanters`' keys, kept as keys come and go: computed from every key on each change, they cost
  // the proxy 11% of its CPU with 11 000 claims cached (bench/results/2026-12-02).
  const tally = namespaceTally();
  let namespacesChanged = false;
  const addWanter = (uid: string, want: WantedCopy) => {
    if (!wanters.has(want.key) && tally.added(want.key)) namespacesChanged = true;
    wanters.set(want.key, (wanters.get(want.key) ?? new Map<string, WantedCopy>()).set(uid, want));
    bySource.set(want.source, (bySource.get(want.source) ?? new Set<string>()).add(want.key));
  };
  const dropWanter = (uid: string, want: WantedCopy) => {
    const of = wanters.get(want.key);
    of?.delete(uid);
    if (!of?.size && wanters.delete(want.key) && tally.removed(want.key)) namespacesChanged = true;
    if (![...(of?.values() ?? [])].some((other) => other.source === want.source)) {
      const keys = bySource.get(want.source);
      keys?.delete(want.key);
      if (!keys?.size) bySource.delete(want.source);
    }
    shadowed.delete(`${want.key} ${uid}`);
  };

  const setWants = (uid: string, copies: readonly WantedCopy[]) => {
    const before = wants.get(uid) ?? new Map<string, WantedCopy>();
    const after = new Map(copies.map((copy) => [copy.key, copy]));
    if (after.size) wants.set(uid, after);
    else wants.delete(uid);
    let changed = false;
    for (const [key, want] of before) {
      if (after.get(key)?.source === want.source) continue;
      dropWanter(uid, want);
      queue.add(key);
      changed = true;
    }
    for (const [key, want] of after) {
      const same = before.get(key)?.source === want.source;
      addWanter(uid, want);
      if (same) continue;
      queue.add(key);
      changed = true;
    }
    if (changed && ready && namespacesChanged) {
      namespacesChanged = false;
      report.setNamespaces(tally.namespaces());
    }
  };

  const eventOn = (want: WantedCopy, reason: string, message: string) =>
    events.event(
      {
        apiVersion: want.apiVersion ?? '',
        kind: want.kind,
        name: want.origin.name,
        namespace: want.origin.namespace,
        uid: want.uid,
      },
      'Warning',
      reason,
      message,
    );

  /** Once per Secret: those composed for an XR whose names do not derive from the XR's get no copy. */
  const reportUnnamed = (obj: CachedClaim, uid: string, unnamed: readonly string[]) => {
    const seen = unnamedSeen.get(uid) ?? new Set<string>();
    const origin = originOf(obj, scope);
    for (const name of unnamed) {
      if (seen.has(name) || !origin) continue;
      seen.add(name);
      eventOn(
        { key: '', secretName: '', source: name, ...wanter(obj, origin) },
        'ConnectionSecretNotDelivered',
        `Secret ${name} composed for it is not delivered: only Secrets whose names begin with the ${obj.kind ?? 'XR'}'s name in the control plane (${obj.metadata.name}-) get a name in the app cluster`,
      );
    }
    if (seen.size) unnamedSeen.set(uid, seen);
  };

  claims.onChange((change) => {
    if (change.event === 'listed') return queue.add(fullPass);
    const uid = change.claim.metadata.uid;
    if (!uid) return;
    if (change.event === 'delete') {
      unnamedSeen.delete(uid);
      return setWants(uid, []);
    }
    const { copies, unnamed } = wantedCopiesOf(change.claim, scope);
    setWants(uid, copies);
    reportUnnamed(change.claim, uid, unnamed);
  });
  const secrets = supervisedInformer<Secret & KubernetesObject>({
    client: controlPlane,
    path: `/api/v1/namespaces/${scope.targetNamespace}/secrets`,
    log: log.child({ watch: 'connection-secrets' }),
    onEvent: (_event, secret) => {
      for (const key of bySource.get(secret.metadata?.name ?? '') ?? []) queue.add(key);
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
      eventOn(
        want,
        'ConnectionSecretConflict',
        `Secret ${want.key} exists and was not delivered by connection ${catalog.connection}: it is left as it is and the ${want.kind}'s connection details are not delivered; rename one of them`,
      );
      log.warn({ copy: want.key }, 'a Secret the connector did not deliver holds the name; not written over');
    }
    return false;
  };

  /** Once per object: another, older one of this cluster wants the same copy and gets it. */
  const reportShadowed = (others: readonly WantedCopy[], owner: WantedCopy) => {
    for (const other of others) {
      const id = `${other.key} ${other.uid}`;
      if (other === owner || shadowed.has(id)) continue;
      shadowed.add(id);
      eventOn(
        other,
        'ConnectionSecretConflict',
        `Secret ${other.key} is the connection Secret of ${owner.kind} ${owner.origin.name}, which is older: the ${other.kind}'s connection details are not delivered there; rename one of them`,
      );
    }
  };

  const syncCopy = async (key: string) => {
    const of = [...(wanters.get(key)?.values() ?? [])];
    const want = ownerOf(of);
    if (want) reportShadowed(of, want);
    const found = want && secrets.get(want.source, scope.targetNamespace);
    // A composed Secret the XR does not control is not the XR's, whatever its name or the XR's references say.
    const source = found && deliverable(want, found) ? found : undefined;
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
      setWants(uid, wantedCopiesOf(claim, scope).copies);
    }
    for (const uid of [...wants.keys()]) if (!seen.has(uid)) setWants(uid, []);
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
    shadowed.clear();
    for (const key of wanters.keys()) queue.add(key);
    report.setNamespaces(namespacesOf(wanters.keys()));
  };

  const resync = setInterval(() => queue.add(fullPass), resyncMs);
  resync.unref();

  const worker = work(
    queue,
    // Nothing is written or removed before both caches hold their first lists: never from a half-filled view.
    async (key) => {
      if (ready) await (key === fullPass ? syncAll() : syncCopy(key));
    },
    (key, err) => {
      log.warn({ err: String(err), copy: key }, 'connection secret sync failed; retrying');
      return 'retry';
    },
  );

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
