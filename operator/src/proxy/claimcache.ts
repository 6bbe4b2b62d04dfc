// The proxy's watch cache of this cluster's claims in the control plane: one informer per served resource, in
// targetNamespace, selected by the cluster's origin label. It feeds connection Secret delivery, answers for app
// namespaces that hold no claims, and reads while the control plane is unreachable — when writes are refused at
// once instead of hanging. What its lists and watches see of the control plane feeds the proxy's upstream health.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { originSelector } from '../claims/identity.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { supervisedInformer, type InformerEvent, type SupervisedInformer } from '../controller/informer.ts';
import type { KubeClient } from '../kube/client.ts';
import { fieldSetSharing } from '../kube/fieldsets.ts';
import { parseResourceVersion } from './freshness.ts';
import { isHTTPAnswer, type UpstreamHealth } from './health.ts';

export type CachedClaim = KubernetesObject & {
  metadata: NonNullable<KubernetesObject['metadata']>;
} & Record<string, unknown>;

export interface ClaimView {
  items: readonly CachedClaim[];
  /**
   * The resourceVersion the cache holds every change up to (of its last list, event or bookmark): a list answered
   * from it can be watched on.
   */
  resourceVersion: string;
  /** Changes with every change of `items` (in any cache), never with a bookmark: equal generations, equal items. */
  generation: number;
  /** The oldest resourceVersion a watch can resume after from this cache (its last list, or its oldest change kept). */
  historyFrom?: bigint;
}

export interface ClaimCache {
  /** Resolves once the first list of every resource is in. */
  synced: Promise<void>;
  /** The cached claims of one resource, or undefined while it has not synced. */
  view(group: string, version: string, plural: string): ClaimView | undefined;
  /** The resourceVersion a resource's view would have, without building the view; undefined while not synced. */
  resourceVersion(group: string, version: string, plural: string): string | undefined;
  /** Whether the resource has synced: then the cache holds every claim of this cluster (as of its last event). */
  hasSynced(group: string, version: string, plural: string): boolean;
  /** The cached claim stored under a control-plane name, if the resource has synced and holds it. */
  stored(group: string, version: string, plural: string, name: string): CachedClaim | undefined;
  /** Every cached claim of every resource. */
  all(): CachedClaim[];
  /** Called with every claim event, and after every (re)list of a resource, when events may have been missed. */
  onChange(listener: (change: ClaimChange) => void): void;
  /** The control plane answers again: resources still waiting out a backoff (RBAC granted only now) list at once. */
  retryUnsynced(): void;
  /**
   * Resolves true once the resource's cache holds every change up to `resourceVersion` (by an event, bookmark or
   * list at or beyond it), false if it has not within `timeoutMs` or the signal aborts first.
   */
  caughtUp(
    group: string,
    version: string,
    plural: string,
    resourceVersion: bigint,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /**
   * Follows a resource's changes: each one after `view` goes to `listener`, in order, until stop(); `ended` is called
   * instead once the cache had to list again (events may be missing: watchers start over). undefined while the
   * resource has not synced.
   */
  follow(
    group: string,
    version: string,
    plural: string,
    listener: (event: CacheEvent) => void,
    ended: () => void,
  ): Following | undefined;
  stop(): Promise<void>;
}

export type ClaimChange = { event: InformerEvent; claim: CachedClaim } | { event: 'listed' };

/** A change of one claim as a watch reports it: the claim after it (or as deleted), and before. */
export interface CacheEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: CachedClaim;
  previous: CachedClaim | undefined;
  resourceVersion: bigint;
}

/** A watch of one resource's cached claims, from its state when it began. */
export interface Following {
  view: ClaimView;
  /** The changes after `resourceVersion`, or 'expired' when the cache no longer holds them all (410 Gone). */
  since(resourceVersion: bigint): CacheEvent[] | 'expired';
  stop(): void;
}

export interface ClaimCacheOptions {
  controlPlane: KubeClient;
  catalog: Catalog;
  log: Logger;
  health: UpstreamHealth;
}

/** Generations are unique across caches: a cache started anew never repeats an older one's. */
let generations = 0;

interface Waiter {
  resourceVersion: bigint;
  done(fresh: boolean): void;
}

interface Entry {
  informer: SupervisedInformer<CachedClaim>;
  /** Counts changes of the stored claims (events and lists). */
  generation: number;
  /** Reads waiting for the cache to reach a resourceVersion. */
  waiters: Set<Waiter>;
  /** The changes since `historyFrom` (the last list), for watches that start from a resourceVersion. */
  history: CacheEvent[];
  historyFrom: bigint;
  /** Every claim as last seen, by name: an update's previous state. */
  last: Map<string, CachedClaim>;
  followers: Set<{ listener: (event: CacheEvent) => void; ended: () => void }>;
}

/**
 * How much history watches can start from: as much as kube-apiserver's watch cache promises (75 s at least). More
 * would keep superseded claims alive for nothing: a client resumes within seconds of its last event, and one that
 * resumes from before the history goes to the control plane, which answers from its own or with 410.
 */
const historyMs = 75_000;
const historyAtMost = 10_000;
const historyTimes = new WeakMap<CacheEvent, number>();

/** Records a watch event (list replays carry older resourceVersions and are not events) and hands it on. */
function record(entry: Entry, event: InformerEvent, claim: CachedClaim): void {
  const name = claim.metadata.name ?? '';
  const previous = entry.last.get(name);
  if (event === 'delete') entry.last.delete(name);
  else entry.last.set(name, claim);
  const rv = parseResourceVersion(claim.metadata.resourceVersion);
  const newest = entry.history.at(-1)?.resourceVersion ?? entry.historyFrom;
  if (rv === undefined || rv <= newest) return;
  const change: CacheEvent = {
    type: event === 'add' ? 'ADDED' : event === 'update' ? 'MODIFIED' : 'DELETED',
    object: claim,
    previous: event === 'delete' ? claim : previous,
    resourceVersion: rv,
  };
  const now = Date.now();
  historyTimes.set(change, now);
  entry.history.push(change);
  let drop = 0;
  while (
    drop < entry.history.length &&
    (entry.history.length - drop > historyAtMost || historyTimes.get(entry.history[drop]!)! < now - historyMs)
  )
    drop++;
  if (drop > 0) entry.historyFrom = entry.history.splice(0, drop).at(-1)!.resourceVersion;
  for (const follower of entry.followers) follower.listener(change);
}

export function startClaimCache(options: ClaimCacheOptions): ClaimCache {
  const { controlPlane, catalog, log, health } = options;
  const listeners: ((change: ClaimChange) => void)[] = [];
  const changed = (change: ClaimChange) => listeners.forEach((l) => l(change));

  const resources = new Map<string, Entry>();
  const fieldSets = fieldSetSharing();
  for (const gv of catalog.groupVersions) {
    for (const r of gv.resources) {
      const entry = {
        generation: 0,
        waiters: new Set(),
        history: [],
        historyFrom: 0n,
        last: new Map(),
        followers: new Set(),
      } as unknown as Entry;
      entry.informer = supervisedInformer<CachedClaim>({
        client: controlPlane,
        path: `/apis/${gv.group}/${gv.version}/namespaces/${catalog.targetNamespace}/${r.plural}`,
        labelSelector: originSelector(catalog.clusterID),
        log: log.child({ watch: r.plural }),
        // Retry soon: while this fails the proxy refuses writes, and a successful list ends that.
        maxBackoffMs: 5_000,
        transform: (claim) => fieldSets.share(claim),
        onEvent: (event, claim) => {
          health.answered();
          entry.generation = ++generations;
          record(entry, event, claim);
          changed({ event, claim });
        },
        onListed: (resourceVersion) => {
          health.answered();
          entry.generation = ++generations;
          // What happened before this list is not known event by event: history starts here, followers over.
          entry.history = [];
          entry.historyFrom = parseResourceVersion(resourceVersion) ?? 0n;
          const followers = [...entry.followers];
          entry.followers.clear();
          for (const follower of followers) follower.ended();
          changed({ event: 'listed' });
        },
        onProgress: () => {
          health.answered();
          const at = parseResourceVersion(entry.informer.resourceVersion());
          if (at === undefined) return;
          for (const waiter of entry.waiters) if (waiter.resourceVersion <= at) waiter.done(true);
        },
        onError: (err) => {
          // An HTTP answer (403, 410, ...) means the control plane is there; anything else means it is not.
          if (isHTTPAnswer(err)) health.answered();
          else health.failed(String(err));
        },
      });
      resources.set(`${gv.group}/${gv.version}/${r.plural}`, entry);
    }
  }
  const informers = [...resources.values()].map((e) => e.informer);
  const synced = Promise.all(informers.map((i) => i.start())).then(() => undefined);

  return {
    synced,
    view(group, version, plural) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      if (!entry?.informer.synced()) return undefined;
      return {
        items: entry.informer.list(),
        resourceVersion: entry.informer.resourceVersion(),
        generation: entry.generation,
        historyFrom: entry.historyFrom,
      };
    },
    resourceVersion(group, version, plural) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      return entry?.informer.synced() ? entry.informer.resourceVersion() : undefined;
    },
    hasSynced(group, version, plural) {
      return resources.get(`${group}/${version}/${plural}`)?.informer.synced() ?? false;
    },
    stored(group, version, plural, name) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      return entry?.informer.synced() ? entry.informer.get(name, catalog.targetNamespace) : undefined;
    },
    all: () => informers.flatMap((i) => i.list()),
    onChange: (listener) => void listeners.push(listener),
    retryUnsynced: () => {
      for (const informer of informers) if (!informer.synced()) informer.retryNow();
    },
    caughtUp(group, version, plural, resourceVersion, timeoutMs, signal) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      if (!entry?.informer.synced()) return Promise.resolve(false);
      const at = parseResourceVersion(entry.informer.resourceVersion());
      if (at !== undefined && at >= resourceVersion) return Promise.resolve(true);
      if (signal?.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const waiter: Waiter = {
          resourceVersion,
          done: (fresh) => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', abort);
            entry.waiters.delete(waiter);
            resolve(fresh);
          },
        };
        const abort = () => waiter.done(false);
        const timer = setTimeout(abort, timeoutMs);
        signal?.addEventListener('abort', abort, { once: true });
        entry.waiters.add(waiter);
      });
    },
    follow(group, version, plural, listener, ended) {
      const entry = resources.get(`${group}/${version}/${plural}`);
      if (!entry?.informer.synced()) return undefined;
      const follower = { listener, ended };
      entry.followers.add(follower);
      return {
        view: {
          items: entry.informer.list(),
          resourceVersion: entry.informer.resourceVersion(),
          generation: entry.generation,
        },
        since(resourceVersion) {
          if (resourceVersion < entry.historyFrom) return 'expired';
          return entry.history.filter((e) => e.resourceVersion > resourceVersion);
        },
        stop: () => void entry.followers.delete(follower),
      };
    },
    async stop() {
      listeners.length = 0;
      for (const entry of resources.values()) {
        for (const follower of entry.followers) follower.ended();
        entry.followers.clear();
      }
      for (const entry of resources.values()) for (const waiter of entry.waiters) waiter.done(false);
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
