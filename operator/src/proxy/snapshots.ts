// Snapshots of the claim cache in the app's view: this cluster's claims of one resource, translated and in storage-key
// order, as of one resourceVersion. Reads share the snapshot of the cache's current generation (translating and
// sorting 20 000 claims per list would cost more than the control plane's answer); a snapshot that handed out a
// continue token is kept a while, so the next pages come from the same state, as kube-apiserver's continue tokens
// read at their resourceVersion.
import type { CachedClaim, ClaimView } from './claimcache.ts';
import { byKey, keyOf, type ListedObject } from './cachelist.ts';
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
}

/** kube-apiserver's continue tokens last until etcd compacts their revision, every five minutes by default. */
const keptForMs = 5 * 60_000;
const keptAtMost = 16;

export function snapshots(scope: () => Scope, now: () => number = Date.now): Snapshots {
  // Objects in the cache are replaced, never changed, on update: their translation can be remembered.
  const translated = new WeakMap<CachedClaim, ListedObject | null>();
  const current = new Map<string, { generation: number; objects: ListedObject[] }>();
  const kept = new Map<string, { snapshot: Snapshot; until: number }>();
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
        const objects = view.items.map(appView).filter((o): o is ListedObject => o !== null);
        objects.sort(byKey);
        entry = { generation: view.generation, objects };
        current.set(resource, entry);
      }
      return { resourceVersion: view.resourceVersion, objects: entry.objects };
    },
    at(resource, resourceVersion) {
      expire();
      return kept.get(`${resource}@${resourceVersion}`)?.snapshot;
    },
    keep(resource, snapshot) {
      kept.delete(`${resource}@${snapshot.resourceVersion}`);
      kept.set(`${resource}@${snapshot.resourceVersion}`, { snapshot, until: now() + keptForMs });
      expire();
    },
  };
}

/** The object stored under an app namespace and name, by binary search. */
export function find(snapshot: Snapshot, namespace: string, name: string): ListedObject | undefined {
  const key = `${namespace}/${name}`;
  const objects = snapshot.objects;
  let lo = 0;
  let hi = objects.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keyOf(objects[mid]!);
    if (k === key) return objects[mid];
    if (k < key) lo = mid + 1;
    else hi = mid;
  }
  return undefined;
}
