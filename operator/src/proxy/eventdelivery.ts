// Delivers the control plane's Events about this cluster's stored objects (claims, namespaced XRs) to the app
// cluster, translated by claimevents.ts. A follower of the claim cache, like connectionsecrets.ts: one informer on
// the Events of targetNamespace (the scoped Role may read them), one work-queue key per control-plane Event.
//
// Only Events whose involvedObject uid is one of the claim cache's objects (selected by this cluster's origin label,
// and checked by originOf) are delivered: another cluster's Events in a shared namespace are never written.
// Writes are server-side applies of a name derived from the source Event's uid, so two replicas and restarts write
// one app Event, and a count bumped in the control plane updates it. Each stored object has a token bucket of
// `burst` writes refilled one per `refillMs`; a write that finds it empty waits for its token and then writes the
// Event as it is by then (bursts collapse into the latest count, nothing is dropped).
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import { supervisedInformer } from '../controller/informer.ts';
import { tokenBuckets } from '../controller/tokenbucket.ts';
import { createWorkQueue, work } from '../controller/workqueue.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import { fieldManager } from '../kube/resources.ts';
import { appEventOf, eventFingerprint, type CoreEvent } from './claimevents.ts';
import type { CachedClaim, ClaimCache } from './claimcache.ts';

export interface EventDelivery {
  stop(): Promise<void>;
}

/** Per stored object: 25 Events at once, then one every 10 s (client-go's spam filter bursts 25 too). */
export const eventBurst = 25;
export const eventRefillMs = 10_000;

export function startEventDelivery(options: {
  app: KubeClient;
  controlPlane: KubeClient;
  catalog: Catalog;
  claims: ClaimCache;
  log: Logger;
  burst?: number;
  refillMs?: number;
}): EventDelivery {
  const { app, controlPlane, catalog, claims, log } = options;
  const scope = { clusterID: catalog.clusterID, targetNamespace: catalog.targetNamespace };
  const queue = createWorkQueue();
  const buckets = tokenBuckets(options.burst ?? eventBurst, options.refillMs ?? eventRefillMs);

  const objects = new Map<string, CachedClaim>(); // uid → stored object of this cluster
  const eventsOf = new Map<string, Set<string>>(); // object uid → names of control-plane Events about it
  const subjectOf = new Map<string, string>(); // control-plane Event name → object uid
  const applied = new Map<string, string>(); // control-plane Event name → fingerprint of what was written
  let ready = false;

  const enqueueEventsOf = (uid: string) => eventsOf.get(uid)?.forEach((name) => queue.add(name));
  const rebuild = () => {
    objects.clear();
    for (const claim of claims.all()) if (claim.metadata.uid) objects.set(claim.metadata.uid, claim);
    for (const uid of objects.keys()) enqueueEventsOf(uid);
  };
  claims.onChange((change) => {
    if (change.event === 'listed') return rebuild();
    const uid = change.claim.metadata.uid;
    if (!uid) return;
    if (change.event === 'delete') objects.delete(uid);
    else if (!objects.has(uid)) {
      // Events may have arrived before the object did.
      objects.set(uid, change.claim);
      enqueueEventsOf(uid);
    } else objects.set(uid, change.claim);
  });

  const events = supervisedInformer<CoreEvent & { metadata: { name: string } }>({
    client: controlPlane,
    path: `/api/v1/namespaces/${scope.targetNamespace}/events`,
    log: log.child({ watch: 'events' }),
    onEvent: (event, cpEvent) => {
      const name = cpEvent.metadata.name;
      const uid = cpEvent.involvedObject?.uid;
      const before = subjectOf.get(name);
      if (before && (event === 'delete' || before !== uid)) {
        eventsOf.get(before)?.delete(name);
        if (!eventsOf.get(before)?.size) eventsOf.delete(before);
        subjectOf.delete(name);
      }
      if (event === 'delete') {
        // The app cluster's own event TTL removes the copy; only what was remembered goes.
        applied.delete(name);
        return;
      }
      if (!uid) return;
      subjectOf.set(name, uid);
      eventsOf.set(uid, (eventsOf.get(uid) ?? new Set()).add(name));
      if (objects.has(uid)) queue.add(name);
    },
  });

  const deliver = async (name: string) => {
    const cpEvent = events.get(name, scope.targetNamespace);
    const object = cpEvent && objects.get(cpEvent.involvedObject?.uid ?? '');
    if (!cpEvent || !object) return;
    const appEvent = appEventOf(cpEvent, object, scope, catalog.connection);
    if (!appEvent) return;
    const fingerprint = eventFingerprint(appEvent);
    if (applied.get(name) === fingerprint) return;
    const wait = buckets.take(object.metadata.uid!);
    if (wait > 0) return queue.addAfter(name, wait);
    const { namespace, name: appName } = appEvent.metadata;
    await app.request('PATCH', `/api/v1/namespaces/${namespace}/events/${encodeURIComponent(appName!)}`, {
      body: appEvent,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true },
    });
    applied.set(name, fingerprint);
  };

  const worker = work(
    queue,
    // Nothing before both caches hold their first lists: an object not listed yet would look foreign.
    async (key) => {
      if (ready) await deliver(key);
    },
    (key, err) => {
      // The app namespace is gone (or going): so is the object the Event is about.
      if (isNotFound(err)) return 'forget';
      log.warn({ err: String(err), event: key }, 'event delivery failed; retrying');
      return 'retry';
    },
  );

  void Promise.all([events.start(), claims.synced]).then(() => {
    ready = true;
    rebuild();
  });
  return {
    async stop() {
      queue.shutDown();
      await worker;
      await events.stop();
    },
  };
}
