// Snapshots of the claim cache in the app's view: this cluster's claims of one resource, translated and in storage-key
// order, as of one resourceVersion. Reads share the snapshot of the cache's current generation (translating and
// sorting 20 000 claims per list would cost more than the control plane's answer); a snapshot that handed out a
// continue token is kept a while, so the next pages come from the same state, as kube-apiserver's continue tokens
// read at their resourceVersion.
import type { CachedClaim, ClaimView } from './claimcache.ts';
import { findKey, keyOf, type ListedObject } from './cachelist.ts';
import { fromControlPlane, type Scope } from './translate.ts';

export interface Snapshot {
  resourceVersion: string;
  /** This cluster's claims in the app's view, sorted by keyOf. */
  objects: readonly ListedObject[];
}

export interface Snapshots {
  /** The snapshot of a resource's current view. */
  of(resource: string, view: ClaimView): Snapshot;
  /** A snapshot taken at exactly this resourceVersion that is still kept, if any. */
  at(resource: string, resourceVersion: string): Snapshot | undefined;
  /** Keeps the snapshot for continue tokens naming its resourceVersion. */
  keep(resource: string, snapshot: Snapshot): void;
  /** A cached claim in the app's view; undefined for one that is not this cluster's. */
  appView(claim: CachedClaim): ListedObject | undefined;
}

/** kube-apiserver's continue tokens last until etcd compacts their revision, every five minutes by default. */
const keptForMs = 5 * 60_000;
const keptAtMost = 16;

export function snapshots(scope: () => Scope, now: () => number = Date.now): Snapshots {
  // Objects in the cache are replaced, never changed, on update: their translation can be remembered.
  const translated = new WeakMap<CachedClaim, ListedObject | null>();
  const current = new Map<string, { generation: number; objects: ListedObject[] }>();
  const kept = new Map<string, { snapshot: Snapshot; until: number }>();
  const keys = new WeakMap<ListedObject, string>();
  const key = (object: ListedObject) => {
    let k = keys.get(object);
    if (k === undefined) keys.set(object, (k = keyOf(object)));
    return k;
  };
  const appView = (claim: CachedClaim) => {
    let view = translated.get(claim);
    if (view === undefined) {
      view = fromControlPlane(claim, scope()) ?? null;
      translated.set(claim, view);
    }
    return view;
  };
  const expire = () => {
    const t = now();
    for (const [key, entry] of kept) if (entry.until <= t || kept.size > keptAtMost) kept.delete(key);
  };
  return {
    of(resource, view) {
      let entry = current.get(resource);
      // A bookmark moves the resourceVersion but changes no claim: the snapshot stays.
      if (entry?.generation !== view.generation) {
        const objects = resorted(entry?.objects ?? [], view.items.map(appView), key);
        entry = { generation: view.generation, objects };
        current.set(resource, entry);
      }
      return { resourceVersion: view.resourceVersion, objects: entry.objects };
    },
    at(resource, resourceVersion) {
      expire();
      return kept.get(`${resource}@${resourceVersion}`)?.snapshot;
    },
    appView: (claim) => appView(claim) ?? undefined,
    keep(resource, snapshot) {
      kept.delete(`${resource}@${snapshot.resourceVersion}`);
      kept.set(`${resource}@${snapshot.resourceVersion}`, { snapshot, until: now() + keptForMs });
      expire();
    },
  };
}

/**
 * The objects of `now` (nulls: another cluster's) in key order, from the previous snapshot's order: an event changes a
 * claim or two of thousands, so only those are sorted and merged in.
 */
function resorted(
  before: readonly ListedObject[],
  now: readonly (ListedObject | null)[],
  key: (o: ListedObject) => string,
): ListedObject[] {
  const added = new Set<ListedObject>();
  for (const o of now) if (o) added.add(o);
  const stayed = before.filter((o) => added.delete(o));
  const fresh = [...added].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const merged: ListedObject[] = [];
  let i = 0;
  let j = 0;
  while (i < stayed.length || j < fresh.length) {
    if (j === fresh.length || (i < stayed.length && key(stayed[i]!) < key(fresh[j]!)))
      merged.push(stayed[i++]!);
    else merged.push(fresh[j++]!);
  }
  return merged;
}

/** The object stored under an app namespace and name. */
export function find(snapshot: Snapshot, namespace: string, name: string): ListedObject | undefined {
  return findKey(snapshot.objects, `${namespace}/${name}`);
}
